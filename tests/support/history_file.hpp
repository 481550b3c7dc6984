#pragma once
// A chat history file (serve chat --history-db) made row by row, for tests
// that read one back (chat-export): the server's schema 2, written here
// independently of the server's code so that a change to what the server
// writes shows up as a test that no longer matches, not as both sides
// drifting together. Header-only, like files.hpp: unit and integration
// tests both use it (they link SQLiteCpp).

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <string>

namespace enchufe::test {

inline constexpr const char* kHistorySchemaV2 = R"sql(
CREATE TABLE rooms (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                    last_id INTEGER NOT NULL DEFAULT 0);
CREATE TABLE lines (room INTEGER NOT NULL REFERENCES rooms (id), id INTEGER NOT NULL, time_ms INTEGER NOT NULL,
                    kind INTEGER NOT NULL, what INTEGER NOT NULL, nick TEXT NOT NULL, target TEXT NOT NULL,
                    text TEXT NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;
CREATE INDEX lines_by_time ON lines (time_ms);
CREATE VIRTUAL TABLE line_words USING fts5 (text, content = '', tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE private_lines (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, nick TEXT NOT NULL,
                            target TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX private_lines_by_time ON private_lines (time_ms);
PRAGMA user_version = 2;
)sql";

// The stored numbers of LineKind and NoticeWhat.
enum StoredKind { kMessage = 0, kAction = 1, kNotice = 2 };
enum StoredWhat { kNone = 0, kJoined = 1, kLeft = 2, kRenamed = 3 };

class HistoryFile {
 public:
  // Creates `path` with the schema, in WAL mode as the server keeps it.
  explicit HistoryFile(const std::string& path, const char* schema = kHistorySchemaV2)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(schema);
  }

  // A room as first created (`key` is its folded name); returns its id.
  std::int64_t room(const std::string& name, const std::string& key) {
    SQLite::Statement add(db, "INSERT INTO rooms (key, name) VALUES (?, ?)");
    add.bind(1, key);
    add.bind(2, name);
    add.exec();
    return db.getLastInsertRowid();
  }

  void line(std::int64_t room, std::int64_t id, std::int64_t time_ms, int kind, const std::string& nick,
            const std::string& text, int what = kNone, const std::string& target = "") {
    SQLite::Statement add(db, "INSERT INTO lines (room, id, time_ms, kind, what, nick, target, text) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    add.bind(1, room);
    add.bind(2, id);
    add.bind(3, time_ms);
    add.bind(4, kind);
    add.bind(5, what);
    add.bind(6, nick);
    add.bind(7, target);
    add.bind(8, text);
    add.exec();
  }

  void private_line(std::int64_t time_ms, const std::string& from, const std::string& to, const std::string& text) {
    SQLite::Statement add(db, "INSERT INTO private_lines (time_ms, nick, target, text) VALUES (?, ?, ?, ?)");
    add.bind(1, time_ms);
    add.bind(2, from);
    add.bind(3, to);
    add.bind(4, text);
    add.exec();
  }

  SQLite::Database db;
};

}  // namespace enchufe::test
