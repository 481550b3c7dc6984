#pragma once
// The chat's history in an SQLite file (`serve chat --history-db PATH`), so
// that rooms keep what was said across a restart.
//
// The loops never touch the disk for a write: append() queues the line
// (bounded, kHistoryQueueMax) and a writer thread of the store's own writes
// whatever has queued in one transaction (group commit, WAL journal), as
// soon as it can: what a `kill -9` loses is at most the lines of the commit
// under way. A clean stop writes everything queued before the process ends.
// Reads (a room's recent lines when its home is made) use a second
// connection, so they never wait behind a commit.
//
// One file, one server: the file is locked (flock) while the store is open,
// so a second server pointed at it fails at start with a line that says so.
// A file that is not an SQLite database, or one written by a newer enchufe,
// is refused the same way; nothing is ever deleted.

#include "services/chat/history_store.hpp"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace enchufe::services::chat {

// Lines queued for the writer before more are dropped (with a warning): a
// disk that stalls must cost bounded memory, and the chat goes on.
inline constexpr std::size_t kHistoryQueueMax = 100'000;

class SqliteHistory final : public HistoryStore {
 public:
  // Opens `path` (creating it and its folder), checks and migrates its
  // schema, and starts the writer. Throws RuntimeError naming the file and
  // what to do when it cannot be used.
  explicit SqliteHistory(std::string path);
  // Writes what is queued, then stops the writer.
  ~SqliteHistory() override;
  SqliteHistory(const SqliteHistory&) = delete;
  SqliteHistory& operator=(const SqliteHistory&) = delete;

  void append(SharedLine line) override;
  RecentLines recent(std::string_view room_key, std::size_t n) override;

  // The version of the schema this build writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 1;

 private:
  void write_loop();
  // Writes one batch in a transaction; false (and a warning, once) if it
  // could not.
  bool write(const std::vector<SharedLine>& batch);
  // The newest of `room_key`'s lines still queued or being written.
  void add_unwritten(std::string_view room_key, std::vector<std::shared_ptr<ChatLine>>& out) const;

  std::string path_;
  int lock_fd_ = -1;
  std::unique_ptr<SQLite::Database> writer_db_;  // the writer thread's only
  // The writer's statements, prepared once (a batch may be one line).
  std::unique_ptr<SQLite::Statement> add_room_, find_room_, add_line_;
  std::unique_ptr<SQLite::Database> reader_db_;  // recent(), under reader_mutex_
  std::mutex reader_mutex_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<SharedLine> queue_;
  std::vector<SharedLine> writing_;  // taken by the writer, not yet committed
  std::size_t dropped_ = 0;       // since the queue was last full
  bool stopping_ = false;
  bool failing_ = false;  // the last write failed: warned once until one works
  std::thread writer_;
};

}  // namespace enchufe::services::chat
