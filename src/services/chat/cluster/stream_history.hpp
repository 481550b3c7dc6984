#pragma once
// The chat's history when nodes share rooms (serve chat --cluster): each
// room's messages and actions in a Redis stream, enchufe:room-log:<room>,
// on the room's shard, so that every node replays the same lines and a
// client resumes on any node.
//
// The publishing script adds a line to the stream as it numbers and
// publishes it (bus.cpp), in one step: the stream holds exactly the lines
// members heard, under their numbers (line #N is entry N-0), and nothing
// here writes. Each entry has the line's time ("ms"), its text in
// lowercase for /search ("t") and the line as published ("l"). Streams are
// trimmed to about --cluster-history lines (MAXLEN ~).
//
// Reads go on the asking loop's own connection to the room's shard and are
// answered on that loop; a Redis that cannot answer gives an error page
// (the chat goes on from memory).

#include "services/chat/cluster/bus.hpp"
#include "services/chat/history_store.hpp"

#include <atomic>

namespace enchufe::services::chat::cluster {

// The stream of a room (its folded name).
std::string log_key(std::string_view room_key);

class StreamHistory final : public HistoryStore {
 public:
  explicit StreamHistory(Bus& bus) : bus_(bus) {}

  // Counts it: the publishing script has put it in its stream already.
  // Private lines are not kept when clustered.
  bool append(SharedLine line) override;
  void load_recent(std::string_view room_key, std::size_t n, std::function<void(RecentLines)> done) override;
  void query(HistoryQuery query, std::function<void(HistoryPage)> answer) override;
  // A line is in its stream before anyone hears it: nothing to wait for.
  void on_settled(std::function<void(std::vector<SharedLine>)>) override {}
  HistorySync sync() const override { return HistorySync::batch; }
  HistoryStats stats() const override;
  // The connections are the bus's, which closes them.
  void close() override {}

 private:
  Bus& bus_;
  std::atomic<std::uint64_t> stored_{0}, not_stored_{0};
};

}  // namespace enchufe::services::chat::cluster
