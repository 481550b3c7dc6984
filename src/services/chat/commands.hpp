#pragma once
// Parsing one chat line into what the user asked for. Pure: no state, no
// I/O, so it is easy to test and to fuzz.

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
  help,     // /help
  quit,     // /quit [REASON], or the quit word ("salir")
  invalid,  // unknown command or bad arguments: `error` says which
};

struct Command {
  CommandKind kind = CommandKind::say;
  std::string_view target;  // NAME, ROOM or NICK
  std::string_view text;    // the message, action or quit reason
  std::string_view error;   // for invalid: a sentence for the user
};

// "//text" says "/text" (the escape for a line that starts with a slash).
Command parse_command(std::string_view line, std::string_view quit_word);

}  // namespace enchufe::services::chat
