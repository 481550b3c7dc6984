#pragma once
// Where enchufe keeps state between runs, shared by the commands that write
// it (serve) and those that read it (chat-export), so both agree on a file
// nobody named.

#include <string>

namespace enchufe::cli {

// The chat's history file by default, where the XDG base directories put a
// program's state ("data that should persist between restarts"):
// $XDG_STATE_HOME/enchufe/chat.db, that is ~/.local/state/enchufe/chat.db.
// Empty when neither variable is set (a service with no home gives a path).
std::string default_history_db();

}  // namespace enchufe::cli
