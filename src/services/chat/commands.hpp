#pragma once
// Parsing one chat line into what the user asked for. Pure: no state, no
// I/O, so it is easy to test and to fuzz.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace enchufe::services::chat {

enum class CommandKind {
  say,      // plain text for the room
  nick,     // /nick NAME
  join,     // /join ROOM
  leave,    // /leave
  rooms,    // /rooms
  who,      // /who
  msg,      // /msg NICK TEXT
  me,       // /me ACTION
  history_back,   // /history [N]: `number` lines before those seen (0: a page)
  history_age,    // /history 1h: the lines of the last `number` seconds
  history_since,  // /history since ID: the lines after line `number`
  search,         // /search WORDS
  ids,            // /ids on|off: `number` 1 or 0
  resume,         // /resume ID: the lines after line `number` missed while away
  help,     // /help
  quit,     // /quit [REASON], or the quit word ("salir")
  invalid,  // unknown command or bad arguments: `error` says which
};

struct Command {
  CommandKind kind = CommandKind::say;
  std::string_view target;  // NAME, ROOM or NICK
  std::string_view text;    // the message, action or quit reason
  std::string_view error;   // for invalid: a sentence for the user
  std::uint64_t number = 0;  // history_*, resume: a count, seconds or a line id; ids: 1 on, 0 off
};

// Bounds on what /history and /search ask of the store: a page is read in
// one query, so a user cannot make the server read the whole room at once.
inline constexpr std::uint64_t kMaxHistoryPage = 200;
inline constexpr std::size_t kMaxSearchText = 200;

// "//text" says "/text" (the escape for a line that starts with a slash).
Command parse_command(std::string_view line, std::string_view quit_word);

}  // namespace enchufe::services::chat
