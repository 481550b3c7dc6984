#pragma once
// The chat's history in an SQLite file (`serve chat --history-db PATH`), so
// that rooms keep what was said across a restart.
//
// The loops never touch the disk for a write: append() queues the line
// (bounded, kHistoryQueueMax) and a writer thread of the store's own writes
// whatever has queued in one transaction (group commit, WAL journal), then
// lets more gather for the commit window: what a `kill -9` loses is at most
// the lines of the last window. With --history-sync full it commits at once,
// synchronously to the disk, and tells the hub which lines it may now fan
// out. A clean stop writes everything queued before the process ends.
// /history and /search are answered by a reader thread on a second
// connection, so they never wait behind a commit nor hold a loop; so is
// retention (--history-keep, --history-max-lines), pruned by the writer.
//
// One file, one server: the file is locked (flock) while the store is open,
// so a second server pointed at it fails at start with a line that says so.
// A file that is not an SQLite database, or one written by a newer enchufe,
// is refused the same way; nothing is ever deleted.

#include "services/chat/history_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace enchufe::services::chat {

// Lines queued for the writer before more are dropped (with a warning): a
// disk that stalls must cost bounded memory, and the chat goes on.
inline constexpr std::size_t kHistoryQueueMax = 100'000;
// --history-window: how long the writer lets lines gather after a commit.
// Longer: fewer, larger transactions; what a `kill -9` may lose grows too.
inline constexpr std::chrono::milliseconds kHistoryWindow{50};
// /history and /search waiting for the reader before more are refused: a
// flood of searches must not queue without bound.
inline constexpr std::size_t kHistoryQueriesMax = 1'000;
// How often the writer prunes what retention no longer keeps.
inline constexpr std::chrono::seconds kPruneEvery{60};
// With --history-sync batch nobody waits for the writer, so it runs at this
// nice value: where it shares a core with an event loop (a pinned server, a
// busy machine), the loop's lines go first and a commit does not add its
// length to their latency. With `full` the writer is on every line's path
// and keeps the loops' priority.
inline constexpr int kBatchWriterNice = 10;

struct SqliteHistorySettings {
  std::string path;
  HistorySync sync = HistorySync::batch;
  std::chrono::milliseconds window = kHistoryWindow;
  std::chrono::seconds keep{0};  // --history-keep: lines older are pruned; 0: kept forever
  std::size_t max_lines = 0;     // --history-max-lines: per room; 0: no bound
  bool store_private = false;    // --store-private: private messages too
};

class SqliteHistory final : public HistoryStore {
 public:
  // Opens settings.path (creating it and its folder), checks and migrates
  // its schema, and starts the writer and the reader. Throws RuntimeError
  // naming the file and what to do when it cannot be used.
  explicit SqliteHistory(SqliteHistorySettings settings);
  // close(), then releases the file.
  ~SqliteHistory() override;
  SqliteHistory(const SqliteHistory&) = delete;
  SqliteHistory& operator=(const SqliteHistory&) = delete;

  bool append(SharedLine line) override;
  // load_recent(), answered at once (reads the file on the calling thread).
  RecentLines recent(std::string_view room_key, std::size_t n);
  void load_recent(std::string_view room_key, std::size_t n, std::function<void(RecentLines)> done) override {
    done(recent(room_key, n));
  }
  void query(HistoryQuery query, std::function<void(HistoryPage)> answer) override;
  void on_settled(std::function<void(std::vector<SharedLine>)> settled) override { settled_ = std::move(settled); }
  HistoryStats stats() const override;
  HistorySync sync() const override { return settings_.sync; }
  void close() override;

  // Waits until everything appended so far is committed (tests, export).
  void wait_written();

  // The version of the schema this build writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 3;

 private:
  struct Writer;  // the writer thread's connection and statements
  struct Reader;  // the reader thread's

  void write_loop();
  void read_loop();
  // Writes one batch in a transaction; false (and a warning, once) if it
  // could not.
  bool write(const std::vector<SharedLine>& batch);
  void prune();
  bool prunes() const { return settings_.keep.count() > 0 || settings_.max_lines > 0; }
  // `room_key`'s lines still queued or being written, matching `keep`.
  std::vector<std::shared_ptr<ChatLine>> unwritten(std::string_view room_key,
                                                   const std::function<bool(const ChatLine&)>& keep) const;
  HistoryPage answer(const HistoryQuery& query);

  const SqliteHistorySettings settings_;
  const std::string& path_ = settings_.path;
  int lock_fd_ = -1;
  std::unique_ptr<Writer> writer_db_;
  std::unique_ptr<Reader> reader_db_;  // recent() under reader_mutex_, and the reader thread
  std::mutex reader_mutex_;
  std::function<void(std::vector<SharedLine>)> settled_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::vector<SharedLine> queue_;  // appended, not taken by the writer yet
  std::vector<SharedLine> writing_;  // taken by the writer, not yet committed
  std::size_t dropped_ = 0;          // since the queue was last full
  std::uint64_t appended_ = 0, written_ = 0;  // lines, for wait_written()
  std::uint64_t stored_ = 0, not_stored_ = 0;  // lines, for stats()
  std::condition_variable written_changed_;
  bool stopping_ = false;
  std::atomic<bool> failing_{false};  // the last write failed: warned once until one works
  std::chrono::steady_clock::time_point last_prune_{};

  std::mutex queries_mutex_;
  std::condition_variable queries_changed_;
  std::deque<std::pair<HistoryQuery, std::function<void(HistoryPage)>>> queries_;
  bool queries_stopping_ = false;

  std::thread writer_, reader_;
};

}  // namespace enchufe::services::chat
