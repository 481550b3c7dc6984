#include "services/chat/names.hpp"

#include "services/chat/sanitize.hpp"

#include <algorithm>

namespace enchufe::services::chat {

namespace {
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}
bool valid_name(std::string_view name, std::size_t max) {
  return !name.empty() && name.size() <= max && std::all_of(name.begin(), name.end(), name_char);
}
}  // namespace

bool valid_nickname(std::string_view nick) { return valid_name(nick, kMaxNicknameLength); }

bool valid_room_name(std::string_view room) { return valid_name(room, kMaxRoomNameLength); }

std::string_view room_name(std::string_view typed) {
  if (!typed.empty() && typed.front() == '#') typed.remove_prefix(1);
  return typed;
}

std::string fold(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string quoted_nick(std::string_view typed) { return sanitized(typed.substr(0, kMaxNicknameLength + 1)); }

}  // namespace enchufe::services::chat
