// Fuzzes the chat's command parser and name rules: no crash, and what they
// return stays inside the line and obeys the rules (the bounds of /history
// and /search included).
#include "services/chat/commands.hpp"
#include "services/chat/names.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace enchufe::services::chat;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const Command c = parse_command(line, "salir");
  if (!inside(c.target, line) || !inside(c.text, line)) std::abort();
  if (c.kind == CommandKind::invalid && c.error.empty()) std::abort();
  if ((c.kind == CommandKind::nick || c.kind == CommandKind::join || c.kind == CommandKind::msg) && c.target.empty()) {
    std::abort();
  }
  // /history and /search arguments stay within what the store may be asked.
  if (c.kind == CommandKind::history_back && c.number > kMaxHistoryPage) std::abort();
  if (c.kind == CommandKind::history_age && (c.number == 0 || c.number > 366 * 24 * 3600)) std::abort();
  if (c.kind == CommandKind::search && (c.text.empty() || c.text.size() > kMaxSearchText)) std::abort();
  // /ids is on or off; /resume and /history since take ids the store's
  // signed 64-bit columns can hold.
  if (c.kind == CommandKind::ids && c.number > 1) std::abort();
  if ((c.kind == CommandKind::resume || c.kind == CommandKind::history_since) && c.number > UINT64_MAX / 2) std::abort();
  // Accounts and moderation: a password within its bounds (hashing one is
  // work the server does), timed bans and mutes up to a year, shown texts
  // a screenful at most, a /ratelimit the hub can build a bucket from.
  if ((c.kind == CommandKind::register_account || c.kind == CommandKind::login) &&
      (c.text.size() < kMinPassword || c.text.size() > kMaxPassword)) {
    std::abort();
  }
  if ((c.kind == CommandKind::ban || c.kind == CommandKind::mute) && c.number > kMaxModerationSeconds) std::abort();
  if ((c.kind == CommandKind::kick || c.kind == CommandKind::ban || c.kind == CommandKind::wall) &&
      c.text.size() > kMaxReason) {
    std::abort();
  }
  if (c.kind == CommandKind::topic && c.text.size() > kMaxTopic) std::abort();
  if (c.kind == CommandKind::ratelimit && (!(c.rate > 0) || c.rate > 1e6 || c.number == 0)) std::abort();
  if (valid_nickname(line)) {
    if (line.empty() || line.size() > kMaxNicknameLength || fold(line).size() != line.size()) std::abort();
  }
  if (valid_room_name(room_name(line)) && room_name(line).size() > kMaxRoomNameLength) std::abort();
  return 0;
}
