#pragma once
// Nicknames and room names: what is allowed, and how they compare.

#include <string>
#include <string_view>

namespace enchufe::services::chat {

inline constexpr std::size_t kMaxNicknameLength = 24;
inline constexpr std::size_t kMaxRoomNameLength = 32;

// 1-24 characters of ASCII letters, digits, '_', '-', '.'; a nickname is
// shown on every terminal, so nothing else gets in.
bool valid_nickname(std::string_view nick);

// The same characters, 1-32 of them; a leading '#' (IRC habit) is dropped
// by room_name() first.
bool valid_room_name(std::string_view room);
std::string_view room_name(std::string_view typed);

// A nickname as a user typed it, to quote back in an error: cut just past
// the longest valid one, and made printable (it may be anything).
std::string quoted_nick(std::string_view typed);

// The key under which names are unique: ASCII lowercase ("Ana" == "ana").
std::string fold(std::string_view name);

}  // namespace enchufe::services::chat
