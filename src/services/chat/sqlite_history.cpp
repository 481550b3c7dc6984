#include "services/chat/sqlite_history.hpp"

#include "net/errors.hpp"
#include "net/log.hpp"
#include "services/chat/names.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>

namespace enchufe::services::chat {

namespace {

using namespace std::chrono_literals;

// After a failed write, the writer waits this long before it tries again
// (a full disk does not empty in a millisecond).
constexpr auto kRetryAfterFailure = 1s;

// Schema version 1. A room is its folded name (the hub's notion of "the
// same room"); a line is numbered within its room by the room's home loop.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE rooms (
  id   INTEGER PRIMARY KEY,
  key  TEXT NOT NULL UNIQUE,  -- folded name: "General" and "general" are one room
  name TEXT NOT NULL          -- as first created
);
CREATE TABLE lines (
  room    INTEGER NOT NULL REFERENCES rooms (id),
  id      INTEGER NOT NULL,   -- the line's number in its room, from 1
  time_ms INTEGER NOT NULL,   -- Unix time, milliseconds
  kind    INTEGER NOT NULL,   -- LineKind
  what    INTEGER NOT NULL,   -- NoticeWhat
  nick    TEXT NOT NULL,
  target  TEXT NOT NULL,      -- a rename's new nickname
  text    TEXT NOT NULL,
  PRIMARY KEY (room, id)
) WITHOUT ROWID;
)sql";

RuntimeError unusable(const std::string& path, std::string_view why, std::string_view what_to_do) {
  return RuntimeError(fmt::format("--history-db {}: {}; {}", path, why, what_to_do));
}

constexpr std::string_view kOtherFile = "give another --history-db, or --history-db none to keep history in memory";

// Creates the file's folder, then holds an exclusive lock on the file for
// the store's life: another server given the same file fails at once
// instead of interleaving its lines with ours.
int lock_file(const std::string& path) {
  const auto folder = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec) {
    throw unusable(path, fmt::format("cannot create its folder {}: {}", folder.string(), ec.message()), kOtherFile);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw unusable(path, fmt::format("cannot open it: {}", std::strerror(errno)), kOtherFile);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      throw unusable(path, "another enchufe server is using it", "stop that one, or " + std::string(kOtherFile));
    }
    throw unusable(path, fmt::format("cannot lock it: {}", std::strerror(error)), kOtherFile);
  }
  return fd;
}

// Sets the schema up, or checks it is ours and one this build knows.
void migrate(SQLite::Database& db, const std::string& path) {
  const int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > SqliteHistory::kSchemaVersion) {
    throw unusable(path,
                   fmt::format("it was written by a newer enchufe (schema {}; this one knows {})", version,
                               SqliteHistory::kSchemaVersion),
                   "run that version, or " + std::string(kOtherFile));
  }
  if (version == SqliteHistory::kSchemaVersion) return;
  if (db.execAndGet("SELECT count(*) FROM sqlite_schema").getInt() != 0) {
    throw unusable(path, "it is an SQLite database of another program", kOtherFile);
  }
  SQLite::Transaction transaction(db);
  db.exec(kSchemaV1);
  db.exec(fmt::format("PRAGMA user_version = {}", SqliteHistory::kSchemaVersion));
  transaction.commit();
}

std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::int64_t to_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

}  // namespace

SqliteHistory::SqliteHistory(std::string path) : path_(std::move(path)), lock_fd_(lock_file(path_)) {
  try {
    writer_db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    // WAL: readers never wait for the writer, and a commit is one append
    // to the log. NORMAL: a commit survives the process dying (kill -9);
    // only a power loss can take the last ones.
    writer_db_->exec("PRAGMA journal_mode = WAL");
    writer_db_->exec("PRAGMA synchronous = NORMAL");
    migrate(*writer_db_, path_);
    add_room_ =
        std::make_unique<SQLite::Statement>(*writer_db_, "INSERT OR IGNORE INTO rooms (key, name) VALUES (?, ?)");
    find_room_ = std::make_unique<SQLite::Statement>(*writer_db_, "SELECT id FROM rooms WHERE key = ?");
    add_line_ = std::make_unique<SQLite::Statement>(
        *writer_db_,
        "INSERT OR IGNORE INTO lines (room, id, time_ms, kind, what, nick, target, text) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    reader_db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READONLY);
  } catch (const SQLite::Exception& e) {
    ::close(lock_fd_);
    const int code = e.getErrorCode();
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
      throw unusable(path_, "it is not an SQLite database, or it is damaged (it was left as it is)",
                     "move it away, or " + std::string(kOtherFile));
    }
    throw unusable(path_, fmt::format("SQLite cannot use it: {}", e.what()), kOtherFile);
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
  writer_ = std::thread([this] { write_loop(); });
}

SqliteHistory::~SqliteHistory() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_one();
  writer_.join();
  add_room_.reset();
  find_room_.reset();
  add_line_.reset();
  writer_db_.reset();
  reader_db_.reset();
  ::close(lock_fd_);
}

void SqliteHistory::append(SharedLine line) {
  std::lock_guard lock(queue_mutex_);
  if (queue_.size() >= kHistoryQueueMax) {
    if (dropped_++ == 0) {
      log::warn("history: {} lines wait to be written to {}; new lines are not stored until they are (the chat "
                "goes on)",
                queue_.size(), path_);
    }
    return;
  }
  if (dropped_ > 0) {
    log::warn("history: storing lines again; {} were not stored", dropped_);
    dropped_ = 0;
  }
  const bool was_empty = queue_.empty();
  queue_.push_back(std::move(line));
  // The writer waits only for an empty queue to fill: one wake-up per batch.
  if (was_empty) queue_changed_.notify_one();
}

void SqliteHistory::write_loop() {
  // Signals are the control thread's (it reads them from a signalfd): the
  // store may start before the runtime blocks them in its threads.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::vector<SharedLine> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      writing_.assign(queue_.begin(), queue_.end());
      queue_.clear();
      batch = writing_;
    }
    const bool written = write(batch);
    std::unique_lock lock(queue_mutex_);
    if (written) {
      writing_.clear();
      continue;
    }
    if (stopping_) {
      log::error("history: {} lines could not be written to {} before the stop", writing_.size() + queue_.size(),
                 path_);
      return;
    }
    // Put the batch back in front, within the bound, and try again later.
    const std::size_t room = kHistoryQueueMax > queue_.size() ? kHistoryQueueMax - queue_.size() : 0;
    const std::size_t keep = std::min(room, writing_.size());
    queue_.insert(queue_.begin(), writing_.end() - static_cast<std::ptrdiff_t>(keep), writing_.end());
    dropped_ += writing_.size() - keep;
    writing_.clear();
    queue_changed_.wait_for(lock, kRetryAfterFailure, [&] { return stopping_; });
  }
}

bool SqliteHistory::write(const std::vector<SharedLine>& batch) {
  auto& add_room = *add_room_;
  auto& find_room = *find_room_;
  auto& add_line = *add_line_;
  try {
    SQLite::Transaction transaction(*writer_db_);
    // Room ids by the name lines carry; rebuilt per batch (a handful of
    // rooms), so a rolled-back batch leaves nothing stale behind.
    std::unordered_map<std::string_view, std::int64_t> room_ids;
    for (const auto& line : batch) {
      auto [at, added] = room_ids.try_emplace(line->room, 0);
      if (added) {
        const std::string key = fold(line->room);
        add_room.bind(1, key);
        add_room.bind(2, line->room);
        add_room.exec();
        add_room.reset();
        find_room.bind(1, key);
        find_room.executeStep();
        at->second = find_room.getColumn(0).getInt64();
        find_room.reset();
      }
      add_line.bind(1, at->second);
      add_line.bind(2, static_cast<std::int64_t>(line->id));
      add_line.bind(3, to_ms(line->time));
      add_line.bind(4, static_cast<int>(line->kind));
      add_line.bind(5, static_cast<int>(line->what));
      add_line.bindNoCopy(6, line->nick);
      add_line.bindNoCopy(7, line->to);
      add_line.bindNoCopy(8, line->text);
      add_line.exec();
      add_line.reset();
    }
    transaction.commit();
  } catch (const std::exception& e) {
    // A statement the failure stopped half-way must start afresh next time.
    for (auto* statement : {&add_room, &find_room, &add_line}) statement->tryReset();
    if (!failing_) {
      log::warn("history: writing to {} failed: {}; the chat goes on, and the lines wait (up to {}) until "
                "writing works again",
                path_, e.what(), kHistoryQueueMax);
    }
    failing_ = true;
    return false;
  }
  if (failing_) log::info("history: writing to {} works again", path_);
  failing_ = false;
  return true;
}

void SqliteHistory::add_unwritten(std::string_view room_key, std::vector<std::shared_ptr<ChatLine>>& out) const {
  std::lock_guard lock(queue_mutex_);
  const auto add = [&](const SharedLine& line) {
    if (fold(line->room) == room_key) out.push_back(std::make_shared<ChatLine>(*line));
  };
  std::for_each(writing_.begin(), writing_.end(), add);
  std::for_each(queue_.begin(), queue_.end(), add);
}

RecentLines SqliteHistory::recent(std::string_view room_key, std::size_t n) {
  // What is not written yet first: a line the writer commits meanwhile is
  // then seen twice (and kept once), never missed. No line of this room is
  // appended meanwhile: appends and this call come from the room's home.
  std::vector<std::shared_ptr<ChatLine>> unwritten;
  add_unwritten(room_key, unwritten);
  std::map<std::uint64_t, std::shared_ptr<ChatLine>> by_id;
  for (auto& line : unwritten) by_id.emplace(line->id, std::move(line));
  try {
    std::lock_guard lock(reader_mutex_);
    SQLite::Statement last(*reader_db_,
                           "SELECT l.id, l.time_ms, l.kind, l.what, l.nick, l.target, l.text, r.name "
                           "FROM lines l JOIN rooms r ON r.id = l.room WHERE r.key = ? ORDER BY l.id DESC LIMIT ?");
    last.bind(1, std::string(room_key));
    // At least one row: the newest gives the last id even when no line is
    // replayed (--history 0).
    last.bind(2, static_cast<std::int64_t>(std::max<std::size_t>(n, 1)));
    while (last.executeStep()) {
      auto line = std::make_shared<ChatLine>();
      line->id = static_cast<std::uint64_t>(last.getColumn(0).getInt64());
      line->time = from_ms(last.getColumn(1).getInt64());
      line->kind = static_cast<LineKind>(last.getColumn(2).getInt());
      line->what = static_cast<NoticeWhat>(last.getColumn(3).getInt());
      line->nick = last.getColumn(4).getString();
      line->to = last.getColumn(5).getString();
      line->text = last.getColumn(6).getString();
      line->room = last.getColumn(7).getString();
      by_id.emplace(line->id, std::move(line));
    }
  } catch (const std::exception& e) {
    log::warn("history: reading room {} from {} failed: {}; it starts from what is in memory", room_key, path_,
              e.what());
  }
  RecentLines out;
  if (!by_id.empty()) out.last_id = by_id.rbegin()->first;
  auto from = by_id.begin();
  if (by_id.size() > n) std::advance(from, static_cast<std::ptrdiff_t>(by_id.size() - n));
  for (auto it = from; it != by_id.end(); ++it) out.lines.push_back(std::move(it->second));
  return out;
}

}  // namespace enchufe::services::chat
