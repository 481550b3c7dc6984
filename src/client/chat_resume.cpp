#include "client/chat_resume.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace enchufe::client {

namespace {

// The chat's own sentences this reads (services/chat/text_output.cpp and
// session.cpp word them; their tests keep them).
constexpr std::string_view kNickIs = "* you are ";           // "* you are ana now"
constexpr std::string_view kNickIsEnd = " now";
constexpr std::string_view kRoomIs = "* you are in ";        // "* you are in juegos now; /who ..."
constexpr std::string_view kRoomIsEnd = " now;";
constexpr std::string_view kIdsOn = "* ids on: ";            // "...; you have seen general up to #41"
constexpr std::string_view kSeenUpTo = " up to #";
constexpr std::string_view kResumed = "* back in ";          // the answer to /resume
constexpr std::string_view kSince = " since #";                // ... and what it counts from
constexpr std::string_view kError = "error: ";
constexpr std::string_view kGoodbye = "* bye!";
constexpr std::string_view kLobby = "general";

std::optional<std::uint64_t> number_at_start(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

// The number after the last `marker` in `line`.
std::optional<std::uint64_t> id_after(std::string_view line, std::string_view marker) {
  const auto at = line.rfind(marker);
  if (at == std::string_view::npos) return std::nullopt;
  return number_at_start(line.substr(at + marker.size()));
}

bool is_lobby(std::string_view room) {
  return room.size() == kLobby.size() &&
         std::equal(room.begin(), room.end(), kLobby.begin(), [](char a, char b) { return (a | 0x20) == b; });
}

// The one word between `prefix` and `suffix` that `line` starts with, or
// nothing (names have no spaces).
std::optional<std::string_view> word_between(std::string_view line, std::string_view prefix, std::string_view suffix) {
  if (!line.starts_with(prefix)) return std::nullopt;
  const std::string_view rest = line.substr(prefix.size());
  const auto space = rest.find(' ');
  if (space == std::string_view::npos || space == 0 || !rest.substr(space).starts_with(suffix)) return std::nullopt;
  return rest.substr(0, space);
}

}  // namespace

bool ChatResume::on_line(std::string_view line) {
  if (resuming_) {
    // The new session's welcome and join replay repeat what was shown:
    // hidden until the answer to /resume, errors excepted.
    if (line.starts_with(kResumed)) {
      // "* back in juegos: 3 lines you missed since #41": the server's
      // count goes on from #41 (from #0 if it restarted without keeping
      // history), and the lines that follow raise it.
      resuming_ = false;
      last_id_ = id_after(line, kSince).value_or(0);
      return true;
    }
    return line.starts_with(kError);
  }
  if (line.starts_with('#')) {
    if (const auto id = number_at_start(line.substr(1)); id && *id > last_id_) last_id_ = *id;
  } else if (const auto room = word_between(line, kRoomIs, kRoomIsEnd)) {
    room_ = *room;
    last_id_ = 0;  // ids count per room; the join replay that follows has the room's
  } else if (const auto nick = word_between(line, kNickIs, kNickIsEnd);
             nick && line.size() == kNickIs.size() + nick->size() + kNickIsEnd.size()) {
    nick_ = *nick;
  } else if (line.starts_with(kIdsOn)) {
    // Numbering starts now: what was shown before (the first join replay)
    // goes up to this id.
    if (const auto id = id_after(line, kSeenUpTo); id && *id > last_id_) last_id_ = *id;
  } else if (line == kGoodbye) {
    goodbye_ = true;
  }
  return true;
}

std::vector<std::string> ChatResume::resume_lines() {
  std::vector<std::string> lines{std::string(kNumberLines)};
  if (!nick_.empty()) lines.push_back("/nick " + nick_);
  if (!room_.empty() && !is_lobby(room_)) lines.push_back("/join " + room_);
  lines.push_back("/resume " + std::to_string(last_id_));
  resuming_ = true;
  return lines;
}

}  // namespace enchufe::client
