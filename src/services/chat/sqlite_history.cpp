#include "services/chat/sqlite_history.hpp"

#include "net/errors.hpp"
#include "net/log.hpp"
#include "services/chat/history_rows.hpp"
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
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>
#include <unordered_map>

namespace enchufe::services::chat {

namespace {

using namespace std::chrono_literals;

// After a failed write, the writer waits this long before it tries again
// (a full disk does not empty in a millisecond).
constexpr auto kRetryAfterFailure = 1s;
// How long a commit waits for another writer on the file (the moderation
// store's one-row writes take well under this).
constexpr int kWriterBusyTimeoutMs = 2000;

// The schema, one script per version; a file is brought up to date by
// running the scripts after its PRAGMA user_version in order.
//
// Version 1. A room is its folded name (the hub's notion of "the same
// room"); a line is numbered within its room by the room's home loop.
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

// Version 2: notices are stored too; full-text search over messages and
// actions; private messages (--store-private); retention by age; a room's
// last id survives the pruning of its lines, so numbering never restarts.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE rooms ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET last_id = coalesce((SELECT max(id) FROM lines WHERE lines.room = rooms.id), 0);
CREATE INDEX lines_by_time ON lines (time_ms);
-- Contentless: the words only, the text stays in lines. A row's rowid is
-- its line's (room, id) as room * 2^40 + id.
CREATE VIRTUAL TABLE line_words USING fts5 (text, content = '', tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO line_words (rowid, text) SELECT room * 1099511627776 + id, text FROM lines WHERE kind IN (0, 1);
CREATE TABLE private_lines (
  id      INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  nick    TEXT NOT NULL,      -- the sender
  target  TEXT NOT NULL,      -- the recipient
  text    TEXT NOT NULL
);
CREATE INDEX private_lines_by_time ON private_lines (time_ms);
)sql";

// Version 3: accounts and moderation (moderation/sqlite_moderation.hpp
// reads and writes these; the history never does).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE accounts (
  key        TEXT PRIMARY KEY,  -- the folded nickname
  nick       TEXT NOT NULL,     -- as registered
  hash       TEXT NOT NULL,     -- Argon2id, crypto_pwhash_str's format: salt and cost included
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE bans (
  room     TEXT NOT NULL,     -- folded room name; '' for the whole server
  target   TEXT NOT NULL,     -- a folded registered nickname, or an address prefix
  address  INTEGER NOT NULL,  -- 1: target is an address prefix
  until_ms INTEGER,           -- NULL: for ever
  by       TEXT NOT NULL,
  reason   TEXT NOT NULL,
  at_ms    INTEGER NOT NULL,
  PRIMARY KEY (room, target)
) WITHOUT ROWID;
CREATE TABLE ops (
  room TEXT NOT NULL,
  nick TEXT NOT NULL,  -- folded
  PRIMARY KEY (room, nick)
) WITHOUT ROWID;
CREATE TABLE topics (
  room TEXT PRIMARY KEY,
  text TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE audit (
  id     INTEGER PRIMARY KEY,
  at_ms  INTEGER NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  room   TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql";

constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3};
static_assert(std::size(kMigrations) == SqliteHistory::kSchemaVersion);

// A line's rowid in line_words.
constexpr std::int64_t kRoomStride = std::int64_t{1} << 40;

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

// Sets the schema up or brings it up to date, or checks it is ours and
// one this build knows.
void migrate(SQLite::Database& db, const std::string& path) {
  const int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > SqliteHistory::kSchemaVersion) {
    throw unusable(path,
                   fmt::format("it was written by a newer enchufe (schema {}; this one knows {})", version,
                               SqliteHistory::kSchemaVersion),
                   "run that version, or " + std::string(kOtherFile));
  }
  if (version == SqliteHistory::kSchemaVersion) return;
  if (version == 0 && db.execAndGet("SELECT count(*) FROM sqlite_schema").getInt() != 0) {
    throw unusable(path, "it is an SQLite database of another program", kOtherFile);
  }
  SQLite::Transaction transaction(db);
  for (int v = version; v < SqliteHistory::kSchemaVersion; ++v) db.exec(kMigrations[v]);
  db.exec(fmt::format("PRAGMA user_version = {}", SqliteHistory::kSchemaVersion));
  transaction.commit();
  if (version > 0) log::info("history: {} brought from schema {} to {}", path, version, SqliteHistory::kSchemaVersion);
}

// Reads a row of `SELECT kLineColumns`.
std::shared_ptr<ChatLine> line_from(SQLite::Statement& row) {
  auto line = std::make_shared<ChatLine>();
  read_line(row, *line);
  return line;
}

// The start of every query for room lines.
const std::string kSelectLines = fmt::format("SELECT {} FROM lines l JOIN rooms r ON r.id = l.room ", kLineColumns);

bool said(const ChatLine& line) { return line.kind == LineKind::message || line.kind == LineKind::action; }

// The words of `text` as an FTS5 query that finds lines with all of them:
// each word quoted, so nothing a user types is FTS5 syntax.
std::string fts_query(std::string_view text) {
  std::string query;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto start = text.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    const auto end = std::min(text.find_first_of(" \t", start), text.size());
    if (!query.empty()) query += ' ';
    query += '"';
    for (char c : text.substr(start, end - start)) query.append(c == '"' ? 2 : 1, c);
    query += '"';
    at = end;
  }
  return query;
}

// Lines by id, from the store and the queue: a line the writer commits
// meanwhile is seen twice, and kept once.
using ById = std::map<std::uint64_t, std::shared_ptr<ChatLine>>;

}  // namespace

struct SqliteHistory::Writer {
  SQLite::Database db;
  SQLite::Statement add_room, find_room, add_line, add_words, set_last_id, add_private;

  Writer(const std::string& path, HistorySync sync)
      : db(open(path, sync)),
        add_room(db, "INSERT OR IGNORE INTO rooms (key, name) VALUES (?, ?)"),
        find_room(db, "SELECT id FROM rooms WHERE key = ?"),
        add_line(db,
                 "INSERT OR IGNORE INTO lines (room, id, time_ms, kind, what, nick, target, text) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        add_words(db, "INSERT INTO line_words (rowid, text) VALUES (?, ?)"),
        set_last_id(db, "UPDATE rooms SET last_id = max(last_id, ?) WHERE id = ?"),
        add_private(db, "INSERT INTO private_lines (time_ms, nick, target, text) VALUES (?, ?, ?, ?)") {}

  static SQLite::Database open(const std::string& path, HistorySync sync) {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    // WAL: readers never wait for the writer, and a commit is one append
    // to the log. NORMAL: a commit survives the process dying (kill -9);
    // only a power loss can take the last ones. FULL (--history-sync full)
    // syncs each commit to the disk.
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(sync == HistorySync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    // The moderation store writes to this file too (accounts, bans, the
    // audit): a commit of its holds ours back a moment, not fails it.
    db.setBusyTimeout(kWriterBusyTimeoutMs);
    migrate(db, path);
    return db;
  }

  // A statement a failed batch stopped half-way must start afresh next time.
  void reset() {
    for (auto* statement : {&add_room, &find_room, &add_line, &add_words, &set_last_id, &add_private}) {
      statement->tryReset();
    }
  }
};

struct SqliteHistory::Reader {
  SQLite::Database db;
  explicit Reader(const std::string& path) : db(path, SQLite::OPEN_READONLY) {}
};

SqliteHistory::SqliteHistory(SqliteHistorySettings settings)
    : settings_(std::move(settings)), lock_fd_(lock_file(path_)) {
  try {
    writer_db_ = std::make_unique<Writer>(path_, settings_.sync);
    reader_db_ = std::make_unique<Reader>(path_);
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
  // Signals are the control thread's (it reads them from a signalfd): the
  // store starts before the runtime blocks them, so its threads are born
  // with them blocked, or a SIGINT could land on one and end the process.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  writer_ = std::thread([this] { write_loop(); });
  reader_ = std::thread([this] { read_loop(); });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

void SqliteHistory::close() {
  {
    std::lock_guard lock(queries_mutex_);
    queries_stopping_ = true;
  }
  queries_changed_.notify_one();
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_one();
  if (writer_.joinable()) writer_.join();
}

SqliteHistory::~SqliteHistory() {
  close();
  // The writer last: the last connection to close checkpoints the WAL into
  // the file and removes it (the reader, read-only, cannot).
  reader_db_.reset();
  writer_db_.reset();
  ::close(lock_fd_);
}

// ---- writing ----------------------------------------------------------------

bool SqliteHistory::append(SharedLine line) {
  if (line->room.empty() && (!settings_.store_private || line->kind != LineKind::private_message)) return false;
  std::lock_guard lock(queue_mutex_);
  if (stopping_) return false;  // closed
  if (queue_.size() >= kHistoryQueueMax) {
    ++not_stored_;
    if (dropped_++ == 0) {
      log::warn("history: {} lines wait to be written to {}; new lines are not stored until they are (the chat "
                "goes on)",
                queue_.size(), path_);
    }
    return false;
  }
  if (dropped_ > 0) {
    log::warn("history: storing lines again; {} were not stored", dropped_);
    dropped_ = 0;
  }
  queue_.push_back(std::move(line));
  ++appended_;
  // The writer waits for an empty queue to fill, or for its window to end:
  // one wake-up per batch.
  if (queue_.size() == 1) queue_changed_.notify_one();
  return true;
}

void SqliteHistory::write_loop() {
  if (settings_.sync == HistorySync::batch) {
    // Linux keeps a nice value per thread: this lowers the writer's alone.
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kBatchWriterNice) != 0) {
      log::debug("history: the writer keeps its priority: {}", std::strerror(errno));
    }
  }
  // With --history-sync full, lines wait for their commit before anyone
  // sees them: no window then.
  const auto window = settings_.sync == HistorySync::full ? std::chrono::milliseconds(0) : settings_.window;
  std::size_t settled_already = 0;  // lines at the front of the queue the hub has had
  // The lines of the last batch written. Released here, with no lock held:
  // the store may hold the last references to a thousand lines, and a loop
  // appending must not wait while they are freed.
  std::vector<SharedLine> done;
  for (;;) {
    done.clear();
    {
      std::unique_lock lock(queue_mutex_);
      queue_changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {  // stopping, and everything is written
        lock.unlock();
        if (prunes()) prune();  // a short run is pruned too
        return;
      }
      writing_.swap(queue_);  // the queue goes on in the emptied vector of two batches ago
    }
    // Only this thread changes writing_, under the lock; others read it
    // under the lock (stats, lines not written yet): reading it here is safe.
    const bool written = write(writing_);
    if (settled_) {
      // Written, or not and never to be waited for: the chat goes on from
      // memory. Either way, once.
      std::vector<SharedLine> settled(writing_.begin() + static_cast<std::ptrdiff_t>(settled_already), writing_.end());
      std::erase_if(settled, [](const SharedLine& line) { return line->room.empty(); });
      settled_already = 0;
      if (!settled.empty()) settled_(std::move(settled));
    }
    if (prunes() && std::chrono::steady_clock::now() - last_prune_ >= kPruneEvery) {
      prune();
    }
    std::unique_lock lock(queue_mutex_);
    if (written) {
      written_ += writing_.size();
      stored_ += writing_.size();
      done.swap(writing_);
      written_changed_.notify_all();
      if (window.count() > 0) queue_changed_.wait_for(lock, window, [&] { return stopping_; });
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
    not_stored_ += writing_.size() - keep;
    written_ += writing_.size() - keep;  // given up: nobody waits for them
    settled_already = keep;
    writing_.clear();
    queue_changed_.wait_for(lock, kRetryAfterFailure, [&] { return stopping_; });
  }
}

HistoryStats SqliteHistory::stats() const {
  std::lock_guard lock(queue_mutex_);
  return {stored_, not_stored_, queue_.size() + writing_.size(), failing_.load(std::memory_order_relaxed)};
}

void SqliteHistory::wait_written() {
  std::unique_lock lock(queue_mutex_);
  const auto target = appended_;
  written_changed_.wait(lock, [&] { return written_ >= target; });
}

bool SqliteHistory::write(const std::vector<SharedLine>& batch) {
  auto& w = *writer_db_;
  try {
    SQLite::Transaction transaction(w.db);
    // Room ids and last ids by the name lines carry; rebuilt per batch, so a
    // rolled-back batch leaves nothing stale behind.
    struct Seen {
      std::int64_t id = 0;
      std::uint64_t last = 0;
    };
    std::unordered_map<std::string_view, Seen> rooms;
    for (const auto& line : batch) {
      if (line->room.empty()) continue;
      auto [at, added] = rooms.try_emplace(line->room);
      if (!added) continue;
      const std::string key = fold(line->room);
      w.add_room.bind(1, key);
      w.add_room.bind(2, line->room);
      w.add_room.exec();
      w.add_room.reset();
      w.find_room.bind(1, key);
      w.find_room.executeStep();
      at->second.id = w.find_room.getColumn(0).getInt64();
      w.find_room.reset();
    }
    // Room by room, each in its order: FTS5 starts a new segment of its
    // index whenever a rowid (room * 2^40 + id) is lower than the one before,
    // which lines of many rooms interleaved would do at every turn.
    struct Placed {
      std::int64_t room;  // 0: a private line
      std::uint64_t id;
      const ChatLine* line;
    };
    std::vector<Placed> in_order;
    in_order.reserve(batch.size());
    for (const auto& line : batch) {
      in_order.push_back({line->room.empty() ? 0 : rooms.at(line->room).id, line->id, line.get()});
    }
    std::stable_sort(in_order.begin(), in_order.end(),
                     [](const Placed& a, const Placed& b) { return std::tie(a.room, a.id) < std::tie(b.room, b.id); });
    for (const Placed& placed : in_order) {
      const ChatLine* line = placed.line;
      if (line->room.empty()) {
        w.add_private.bind(1, to_ms(line->time));
        w.add_private.bindNoCopy(2, line->nick);
        w.add_private.bindNoCopy(3, line->to);
        w.add_private.bindNoCopy(4, line->text);
        w.add_private.exec();
        w.add_private.reset();
        continue;
      }
      Seen& room = rooms.at(line->room);
      room.last = std::max(room.last, line->id);
      w.add_line.bind(1, room.id);
      w.add_line.bind(2, static_cast<std::int64_t>(line->id));
      w.add_line.bind(3, to_ms(line->time));
      w.add_line.bind(4, static_cast<int>(line->kind));
      w.add_line.bind(5, static_cast<int>(line->what));
      w.add_line.bindNoCopy(6, line->nick);
      w.add_line.bindNoCopy(7, line->to);
      w.add_line.bindNoCopy(8, line->text);
      const int added_rows = w.add_line.exec();
      w.add_line.reset();
      if (added_rows == 1 && said(*line)) {  // a retried batch indexes nothing twice
        w.add_words.bind(1, room.id * kRoomStride + static_cast<std::int64_t>(line->id));
        w.add_words.bindNoCopy(2, line->text);
        w.add_words.exec();
        w.add_words.reset();
      }
    }
    for (const auto& [name, seen] : rooms) {
      w.set_last_id.bind(1, static_cast<std::int64_t>(seen.last));
      w.set_last_id.bind(2, seen.id);
      w.set_last_id.exec();
      w.set_last_id.reset();
    }
    transaction.commit();
  } catch (const std::exception& e) {
    w.reset();
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

void SqliteHistory::prune() {
  last_prune_ = std::chrono::steady_clock::now();
  auto& db = writer_db_->db;
  // The words go first, while their lines still give the text a
  // contentless index needs to forget them.
  const auto forget = [&](const std::string& which, const auto&... values) {
    SQLite::Statement words(db, "INSERT INTO line_words (line_words, rowid, text) SELECT 'delete', room * " +
                                    std::to_string(kRoomStride) + " + id, text FROM lines WHERE kind IN (0, 1) AND " +
                                    which);
    SQLite::Statement lines(db, "DELETE FROM lines WHERE " + which);
    int i = 0;
    ((words.bind(++i, values)), ...);
    i = 0;
    ((lines.bind(++i, values)), ...);
    words.exec();
    return lines.exec();
  };
  try {
    SQLite::Transaction transaction(db);
    int pruned = 0;
    if (settings_.keep.count() > 0) {
      const std::int64_t cutoff = to_ms(std::chrono::system_clock::now() - settings_.keep);
      pruned += forget("time_ms < ?", cutoff);
      SQLite::Statement privates(db, "DELETE FROM private_lines WHERE time_ms < ?");
      privates.bind(1, cutoff);
      pruned += privates.exec();
    }
    if (settings_.max_lines > 0) {
      SQLite::Statement over(db, "SELECT id, last_id FROM rooms WHERE last_id > ?");
      over.bind(1, static_cast<std::int64_t>(settings_.max_lines));
      std::vector<std::pair<std::int64_t, std::int64_t>> rooms;
      while (over.executeStep()) rooms.emplace_back(over.getColumn(0).getInt64(), over.getColumn(1).getInt64());
      for (const auto& [room, last] : rooms) {
        pruned += forget("room = ? AND id <= ?", room, last - static_cast<std::int64_t>(settings_.max_lines));
      }
    }
    transaction.commit();
    if (pruned > 0) log::info("history: pruned {} lines from {} (retention)", pruned, path_);
  } catch (const std::exception& e) {
    log::warn("history: pruning {} failed: {}; it is tried again in {} s", path_, e.what(), kPruneEvery.count());
  }
}

// ---- reading ----------------------------------------------------------------

std::vector<std::shared_ptr<ChatLine>> SqliteHistory::unwritten(
    std::string_view room_key, const std::function<bool(const ChatLine&)>& keep) const {
  std::vector<std::shared_ptr<ChatLine>> out;
  std::lock_guard lock(queue_mutex_);
  const auto add = [&](const SharedLine& line) {
    if (!line->room.empty() && keep(*line) && fold(line->room) == room_key) {
      out.push_back(std::make_shared<ChatLine>(*line));
    }
  };
  std::for_each(writing_.begin(), writing_.end(), add);
  std::for_each(queue_.begin(), queue_.end(), add);
  return out;
}

RecentLines SqliteHistory::recent(std::string_view room_key, std::size_t n) {
  // What is not written yet first: see ById. No line of this room is
  // appended meanwhile: appends and this call come from the room's home.
  ById by_id;
  std::uint64_t last_id = 0;
  for (auto& line : unwritten(room_key, [](const ChatLine&) { return true; })) {
    last_id = std::max(last_id, line->id);
    if (said(*line)) by_id.emplace(line->id, std::move(line));
  }
  try {
    std::lock_guard lock(reader_mutex_);
    auto& db = reader_db_->db;
    SQLite::Statement last(db, "SELECT last_id FROM rooms WHERE key = ?");
    last.bind(1, std::string(room_key));
    if (last.executeStep()) last_id = std::max(last_id, static_cast<std::uint64_t>(last.getColumn(0).getInt64()));
    SQLite::Statement rows(db, kSelectLines +
                                   "WHERE r.key = ? AND l.kind IN (0, 1) ORDER BY l.id DESC LIMIT ?");
    rows.bind(1, std::string(room_key));
    rows.bind(2, static_cast<std::int64_t>(n));
    while (rows.executeStep()) {
      auto line = line_from(rows);
      by_id.emplace(line->id, std::move(line));
    }
  } catch (const std::exception& e) {
    log::warn("history: reading room {} from {} failed: {}; it starts from what is in memory", room_key, path_,
              e.what());
  }
  RecentLines out;
  out.last_id = last_id;
  auto from = by_id.begin();
  if (by_id.size() > n) std::advance(from, static_cast<std::ptrdiff_t>(by_id.size() - n));
  for (auto it = from; it != by_id.end(); ++it) out.lines.push_back(std::move(it->second));
  return out;
}

void SqliteHistory::query(HistoryQuery query, std::function<void(HistoryPage)> answer) {
  {
    std::lock_guard lock(queries_mutex_);
    if (queries_.size() < kHistoryQueriesMax) {
      queries_.emplace_back(std::move(query), std::move(answer));
      if (queries_.size() == 1) queries_changed_.notify_one();
      return;
    }
  }
  answer(HistoryPage{{}, false, "the history is busy; try again in a moment"});
}

void SqliteHistory::read_loop() {
  for (;;) {
    std::pair<HistoryQuery, std::function<void(HistoryPage)>> next;
    {
      std::unique_lock lock(queries_mutex_);
      queries_changed_.wait(lock, [&] { return queries_stopping_ || !queries_.empty(); });
      if (queries_stopping_) return;
      next = std::move(queries_.front());
      queries_.pop_front();
    }
    next.second(answer(next.first));
  }
}

HistoryPage SqliteHistory::answer(const HistoryQuery& q) {
  using Kind = HistoryQuery::Kind;
  const auto limit = static_cast<std::int64_t>(q.limit);
  const std::int64_t since_ms = to_ms(q.since);
  // Lines not written yet take part too (but not in a search: the words of
  // a line are searchable once written, within the commit window).
  std::function<bool(const ChatLine&)> wanted = [](const ChatLine&) { return false; };
  std::string where;
  switch (q.kind) {
    case Kind::before:
      wanted = [&](const ChatLine& l) { return q.id == 0 || l.id < q.id; };
      where = q.id == 0 ? "WHERE r.key = ?1 ORDER BY l.id DESC LIMIT ?2"
                        : "WHERE r.key = ?1 AND l.id < ?3 ORDER BY l.id DESC LIMIT ?2";
      break;
    case Kind::since_id:
      wanted = [&](const ChatLine& l) { return l.id > q.id; };
      where = "WHERE r.key = ?1 AND l.id > ?3 ORDER BY l.id LIMIT ?2";
      break;
    case Kind::since_time:
      wanted = [&](const ChatLine& l) { return to_ms(l.time) >= since_ms; };
      where = "WHERE r.key = ?1 AND l.time_ms >= ?4 ORDER BY l.id LIMIT ?2";
      break;
    case Kind::search:
      where = "JOIN line_words w ON w.rowid = l.room * " + std::to_string(kRoomStride) +
              " + l.id WHERE r.key = ?1 AND line_words MATCH ?5 ORDER BY l.id DESC LIMIT ?2";
      break;
  }
  ById by_id;
  for (auto& line : unwritten(q.room_key, wanted)) by_id.emplace(line->id, std::move(line));
  try {
    std::lock_guard lock(reader_mutex_);
    SQLite::Statement rows(reader_db_->db, kSelectLines + where);
    rows.bind(1, q.room_key);
    rows.bind(2, limit + 1);  // one more: are there more?
    if (rows.getBindParameterCount() >= 3) rows.bind(3, static_cast<std::int64_t>(q.id));
    if (rows.getBindParameterCount() >= 4) rows.bind(4, since_ms);
    if (rows.getBindParameterCount() >= 5) rows.bind(5, fts_query(q.text));
    while (rows.executeStep()) {
      auto line = line_from(rows);
      by_id.emplace(line->id, std::move(line));
    }
  } catch (const std::exception& e) {
    log::warn("history: a query on room {} in {} failed: {}", q.room_key, path_, e.what());
    return HistoryPage{{}, false, "the history cannot be read right now"};
  }
  HistoryPage page;
  page.more = by_id.size() > q.limit;
  const bool newest = q.kind == Kind::before || q.kind == Kind::search;
  auto from = by_id.begin();
  auto to = by_id.end();
  if (page.more && newest) std::advance(from, static_cast<std::ptrdiff_t>(by_id.size() - q.limit));
  if (page.more && !newest) to = std::next(by_id.begin(), static_cast<std::ptrdiff_t>(q.limit));
  for (auto it = from; it != to; ++it) page.lines.push_back(std::move(it->second));
  if (q.kind == Kind::search) std::reverse(page.lines.begin(), page.lines.end());
  return page;
}

}  // namespace enchufe::services::chat
