#pragma once
// How a chat line is laid out in the history file's rows, for the two that
// read them: the server's store (sqlite_history.cpp) and `enchufe
// chat-export` (history_export.cpp), which may be given a file the server
// did not write.

#include "services/chat/lines.hpp"

#include <SQLiteCpp/Statement.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace enchufe::services::chat {

// Times are kept as milliseconds since the epoch (UTC).
std::chrono::system_clock::time_point from_ms(std::int64_t ms);
std::int64_t to_ms(std::chrono::system_clock::time_point time);

// What read_line() takes: a room line's columns, `l` the lines table and
// `r` the rooms table joined to it.
inline constexpr const char* kLineColumns = "l.id, l.time_ms, l.kind, l.what, l.nick, l.target, l.text, r.name";

// A row whose kind or notice type this build has no name for.
struct UnknownLineValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Fills `line` from a row of `SELECT kLineColumns ...`; throws
// UnknownLineValue (naming the line) rather than make an enum of it.
void read_line(SQLite::Statement& row, ChatLine& line);

}  // namespace enchufe::services::chat
