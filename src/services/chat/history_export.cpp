#include "services/chat/history_export.hpp"

#include "net/errors.hpp"
#include "services/chat/history_rows.hpp"
#include "services/chat/names.hpp"
#include "services/chat/sanitize.hpp"
#include "services/chat/sqlite_history.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <vector>

namespace enchufe::services::chat {

namespace {

// The newest schema (PRAGMA user_version) this build reads.
constexpr int kExportSchemaVersion = 3;
// Whoever changes what the server writes must look here: the export reads
// every column, and refuses schemas newer than it knows.
static_assert(SqliteHistory::kSchemaVersion == kExportSchemaVersion,
              "the history schema changed: teach history_export.cpp the new one, then raise kExportSchemaVersion");

using std::chrono::milliseconds;

// While the server's writer checkpoints or a reader recovers the WAL index,
// SQLite answers "busy" for a moment: wait for it rather than fail.
constexpr int kBusyTimeoutMs = 5000;
// An unknown --room lists the rooms there are, up to this many.
constexpr std::size_t kRoomsListed = 10;

RuntimeError unusable(const std::string& path, std::string_view why) {
  return RuntimeError(fmt::format("{}: {}", path, why));
}

void check_schema(SQLite::Database& db, const std::string& path) {
  const int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > kExportSchemaVersion) {
    throw unusable(path, fmt::format("written by a newer enchufe (history schema {}; this one reads up to {})",
                                     version, kExportSchemaVersion));
  }
  if (!db.tableExists("rooms") || !db.tableExists("lines")) {
    throw unusable(path, "not an enchufe chat history (it has no rooms and lines tables)");
  }
}

// "its rooms: dev, general" or "it has no rooms", for an unknown --room.
std::string rooms_there_are(SQLite::Database& db) {
  SQLite::Statement names(db, "SELECT name FROM rooms ORDER BY key");
  std::vector<std::string> listed;
  std::size_t more = 0;
  while (names.executeStep()) {
    if (listed.size() < kRoomsListed) {
      listed.push_back(sanitized(names.getColumn(0).getString()));
    } else {
      ++more;
    }
  }
  if (listed.empty()) return "it has no rooms";
  return fmt::format("its rooms: {}{}", fmt::join(listed, ", "), more > 0 ? fmt::format(" and {} more", more) : "");
}

// The id of the room `key` names, or an error that says which rooms there are.
std::int64_t find_room(SQLite::Database& db, const std::string& path, const std::string& key, std::string_view typed) {
  SQLite::Statement room(db, "SELECT id FROM rooms WHERE key = ?");
  room.bind(1, key);
  if (!room.executeStep()) throw unusable(path, fmt::format("no room {} ({})", typed, rooms_there_are(db)));
  return room.getColumn(0).getInt64();
}

// The file may have been written by something other than the server: what
// it holds reaches a terminal only sanitised, and a line stays one line.
std::string stored_text(const SQLite::Column& column) { return sanitized(column.getString()); }

std::int64_t since_ms(const ExportSelection& selection) {
  if (!selection.since) return std::numeric_limits<std::int64_t>::min();
  // Rounded up: a line stamped before --since by a fraction of a millisecond is not after it.
  return std::chrono::ceil<milliseconds>(selection.since->time_since_epoch()).count();
}

void walk_room_lines(SQLite::Database& db, const std::string& path, std::optional<std::int64_t> room,
                     std::int64_t since, const std::function<void(const ChatLine&)>& each) {
  // Rooms in key order (their unique index), each one's lines by number
  // (the primary key): SQLite walks both indexes and sorts nothing. The
  // unary + keeps it off the index on time_ms, which would make it sort
  // every line of a long history before the first one is printed.
  SQLite::Statement rows(db, fmt::format("SELECT {} FROM rooms r JOIN lines l ON l.room = r.id "
                                         "WHERE (?1 IS NULL OR r.id = ?1) AND +l.time_ms >= ?2 ORDER BY r.key, l.id",
                                         kLineColumns));
  if (room) rows.bind(1, *room);
  rows.bind(2, since);
  ChatLine line;
  while (rows.executeStep()) {
    try {
      read_line(rows, line);
    } catch (const UnknownLineValue& e) {
      throw unusable(path, e.what());
    }
    for (std::string* text : {&line.room, &line.nick, &line.to, &line.text}) *text = sanitized(*text);  // as stored_text()
    each(line);
  }
}

// Private messages are kept as one row each (the sender's and the
// recipient's copies are the same line): the recipient's event. In the order
// said, the primary key's; the + as for the rooms' lines.
void walk_private_lines(SQLite::Database& db, std::int64_t since, const std::function<void(const ChatLine&)>& each) {
  SQLite::Statement rows(db, "SELECT time_ms, nick, target, text FROM private_lines WHERE +time_ms >= ? ORDER BY id");
  rows.bind(1, since);
  ChatLine line;
  line.kind = LineKind::private_message;
  while (rows.executeStep()) {
    line.time = from_ms(rows.getColumn(0).getInt64());
    line.nick = stored_text(rows.getColumn(1));
    line.to = stored_text(rows.getColumn(2));
    line.text = stored_text(rows.getColumn(3));
    each(line);
  }
}

void export_from(SQLite::Database& db, const std::string& path, const ExportSelection& selection,
                 const std::function<void(const ChatLine&)>& each) {
  // One read transaction: every query sees the same snapshot, whatever the
  // server commits meanwhile.
  SQLite::Transaction snapshot(db);
  check_schema(db, path);
  std::optional<std::int64_t> room;
  if (!selection.room.empty()) room = find_room(db, path, fold(room_name(selection.room)), selection.room);
  const std::int64_t since = since_ms(selection);
  walk_room_lines(db, path, room, since, each);
  // Schema 1 had no private messages at all.
  if (selection.private_lines && db.tableExists("private_lines")) walk_private_lines(db, since, each);
  snapshot.commit();
}

}  // namespace

void export_history(const std::string& path, const ExportSelection& selection,
                    const std::function<void(const ChatLine&)>& each) {
  if (!selection.room.empty() && !valid_room_name(room_name(selection.room))) {
    throw UsageError(fmt::format("--room {}: not a room name (1-{} ASCII letters, digits, '_', '-' or '.')",
                                 selection.room, kMaxRoomNameLength));
  }
  // SQLite would say only "unable to open database file".
  std::error_code ignored;
  const auto status = std::filesystem::status(path, ignored);
  if (!std::filesystem::exists(status)) {
    throw unusable(path, "no such file (give the server's --history-db file with --db)");
  }
  if (std::filesystem::is_directory(status)) throw unusable(path, "is a folder, not a chat history file");
  try {
    // Read-only, and no flock: the server holds its own on the file and
    // must keep it; SQLite's locks (fcntl) let this reader in beside it.
    SQLite::Database db(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    export_from(db, path, selection, each);
  } catch (const SQLite::Exception& e) {
    if (e.getErrorCode() == SQLITE_NOTADB || e.getErrorCode() == SQLITE_CORRUPT) {
      throw unusable(path, "not an SQLite database, or a damaged one");
    }
    throw unusable(path, fmt::format("SQLite cannot read it: {}", e.what()));
  }
}

std::string export_json(const ChatLine& line) {
  boost::json::object object;
  to_json(line, object);
  return boost::json::serialize(object);
}

std::string export_text(const ChatLine& line) {
  const auto ts = utc_timestamp(line.time);
  switch (line.kind) {
    case LineKind::message: return fmt::format("{} {} <{}> {}", ts, line.room, line.nick, line.text);
    case LineKind::action: return fmt::format("{} {} * {} {}", ts, line.room, line.nick, line.text);
    case LineKind::notice: return fmt::format("{} {} * {}", ts, line.room, line.text);
    case LineKind::private_message:
    case LineKind::private_echo: return fmt::format("{} *{}* -> *{}* {}", ts, line.nick, line.to, line.text);
  }
  return {};
}

}  // namespace enchufe::services::chat
