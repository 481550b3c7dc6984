#pragma once
// Reading a chat history file (--history-db) back out, for `enchufe
// chat-export`. Every row becomes the ChatLine the server had, so the JSON
// of an export is the web protocol's own event (lines.hpp's to_json()) and
// cannot drift from it.
//
// Safe while the server runs: the file is opened read-only and read in one
// transaction, a consistent snapshot that the server's commits (WAL) neither
// block nor change. The server's flock is never taken.

#include "services/chat/lines.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace enchufe::services::chat {

struct ExportSelection {
  std::string room;  // as typed: any case, '#' optional; empty: every room
  std::optional<std::chrono::system_clock::time_point> since;  // only lines said at or after it
  bool private_lines = false;  // also the private messages (kept with --store-private)
};

// Hands `each` the selected lines of the history file at `path`: room by
// room (rooms ordered by name, case aside), each room's oldest first, then
// the private messages oldest first. Throws UsageError for a --room that is
// no room name, RuntimeError naming the file when it is missing, is not an
// SQLite database, is not an enchufe history, has a newer schema, or has
// no such room.
void export_history(const std::string& path, const ExportSelection& selection,
                    const std::function<void(const ChatLine&)>& each);

// One line of each export format, without the newline:
// {"type":"message","room":"general","id":4,"nick":"ana","text":"hola","ts":"..."}
std::string export_json(const ChatLine& line);
// "2026-12-01T12:04:05.123Z general <ana> hola", "... general * ana waves",
// "... general * ana joined general", "... *ana* -> *bob* psst"
std::string export_text(const ChatLine& line);

}  // namespace enchufe::services::chat
