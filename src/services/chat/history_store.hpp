#pragma once
// Where a room's lines are kept beyond the memory of its home loop: across
// the room emptying and across restarts. The hub talks to this interface
// only: SQLite's (sqlite_history.hpp) on its own, Redis streams' when nodes
// share rooms (cluster/stream_history.hpp).

#include "services/chat/lines.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::services::chat {

// --history-sync: `batch` fans a line out at once and writes it within the
// commit window; `full` fans it out only once it is written, so a `kill -9`
// loses no line anyone has seen.
enum class HistorySync { batch, full };

// A room's most recent lines, oldest first (not encoded: the hub encodes
// them as it does new lines), and the id of its last line, 0 if it has
// none: a room made again goes on numbering from there.
struct RecentLines {
  std::vector<std::shared_ptr<ChatLine>> lines;
  std::uint64_t last_id = 0;
};

// What /history and /search ask of a room.
struct HistoryQuery {
  enum class Kind {
    before,      // the `limit` lines before line `id` (0: the newest), oldest first
    since_id,    // the `limit` lines after line `id`, oldest first
    since_time,  // the first `limit` lines said at or after `since`, oldest first
    search,      // the newest `limit` messages and actions with every word of `text`, newest first
  };
  Kind kind = Kind::before;
  std::string room_key;  // the folded room name
  std::uint64_t id = 0;
  std::chrono::system_clock::time_point since;
  std::string text;
  std::size_t limit = 20;
  std::string room;  // the room's name as shown
};

struct HistoryPage {
  std::vector<std::shared_ptr<ChatLine>> lines;  // not encoded
  bool more = false;                             // lines beyond `limit` match too
  std::string error;                             // set when the store could not answer
};

// What a store did with the lines it was given, for --metrics.
struct HistoryStats {
  std::uint64_t stored = 0;      // written
  std::uint64_t not_stored = 0;  // refused (the queue was full) or given up after writes failed
  std::uint64_t waiting = 0;     // taken, not written yet
  bool failing = false;          // writing fails now: the chat goes on from memory
};

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // A numbered room line (line->room names the room; line->room_id its id),
  // or, if the store keeps them, a private one. Never waits for the disk.
  // False if the line is not kept (the store is overwhelmed).
  virtual bool append(SharedLine line) = 0;
  // The last `n` messages and actions of `room_key`, including those
  // appended and not yet written, for `done` on the calling loop: before
  // load_recent() returns (a local file), or later (a server's answer).
  // Called when a room's home is made (its first member since the start,
  // or since it emptied).
  virtual void load_recent(std::string_view room_key, std::size_t n, std::function<void(RecentLines)> done) = 0;
  // Answers `query` on a thread of the store's: `answer` runs there, so it
  // must only hand the page on (post it to a loop).
  virtual void query(HistoryQuery query, std::function<void(HistoryPage)> answer) = 0;

  // When every line must be stored before anyone sees it (--history-sync
  // full): `settled` runs on the store's thread with each batch of room
  // lines once they are written, or once writing them failed (the chat
  // then goes on from memory). Set before the first append().
  virtual void on_settled(std::function<void(std::vector<SharedLine>)> settled) = 0;
  virtual HistorySync sync() const = 0;
  // Any thread.
  virtual HistoryStats stats() const = 0;
  // Once the loops have stopped: writes what is queued and ends the
  // store's threads (queries not answered yet are dropped), so that no
  // callback runs after this returns. Idempotent; appends after it are
  // not kept.
  virtual void close() = 0;
};

}  // namespace enchufe::services::chat
