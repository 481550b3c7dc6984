#pragma once
// The pieces a chat command's arguments are cut into, shared by the
// parsers of commands.cpp (everyone's) and moderation/parse.cpp (accounts
// and moderators').

#include <cstdint>
#include <optional>
#include <string_view>

namespace enchufe::services::chat {

// Splits off the first word; `rest` keeps what follows, trimmed.
std::string_view first_word(std::string_view text, std::string_view& rest);

// Digits only, no sign, within `max`; nothing otherwise.
std::optional<std::uint64_t> number_in(std::string_view digits, std::uint64_t max);

// "90s", "30m", "1h", "7d", "2w" as seconds, up to a year; nothing for
// any other shape, zero, or more.
std::optional<std::uint64_t> age_in_seconds(std::string_view text);

}  // namespace enchufe::services::chat
