#pragma once
// Where a room's lines are kept beyond the memory of its home loop: across
// the room emptying and across restarts. The hub talks to this interface
// only, from a room's home loop, so that another store (Redis, for nodes
// that share rooms) can follow SQLite's (sqlite_history.hpp).

#include "services/chat/lines.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace enchufe::services::chat {

// A room's most recent lines, oldest first (not encoded: the hub encodes
// them as it does new lines), and the id of its last line, 0 if it has
// none: a room made again goes on numbering from there.
struct RecentLines {
  std::vector<std::shared_ptr<ChatLine>> lines;
  std::uint64_t last_id = 0;
};

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // A numbered room line (line->room names the room). Never waits for the
  // disk: the store writes on a thread of its own.
  virtual void append(SharedLine line) = 0;
  // The last `n` lines of `room_key`, including those appended and not yet
  // written. Called when a room's home is made (its first member since
  // the start, or since it emptied).
  virtual RecentLines recent(std::string_view room_key, std::size_t n) = 0;
};

}  // namespace enchufe::services::chat
