#pragma once
// How a room's lines reach its members on every node (serve chat --cluster).
//
// Every room line goes through Redis, the local members' too: the room's
// home loop publishes it with a script that numbers it (INCR) and PUBLISHes
// it in one step, so Redis's order is the room's order and the number is
// the same on every node. Each node subscribes to the rooms it has members
// in and hands what it hears to the room's home loop, which keeps and fans
// out lines exactly as a single server does. A room lives on one Redis (a
// shard), picked by a rendezvous hash of its name, so every node agrees.
//
// Out of touch (the node's subscription to the room's shard is down, or
// the home loop's publishing connection to it; or a publish fails) the
// home delivers its own lines to its own members at
// once, unnumbered (id 0), and the hub tells them the room is degraded;
// lines said elsewhere meanwhile do not reach them. Nothing here waits for
// Redis: net::redis::Client fails fast and reconnects on its own.
//
// Private messages for this node's members come on its own channel,
// enchufe:node:<name>, on the first shard; moderation changes on
// kModerationChannel, there too.
//
// Threads: each loop owns one publishing client per shard; one loop per
// shard owns its subscriber. Per-room state lives on the room's home loop;
// the subscriber's loop only maps channels to rooms and posts.

#include "net/redis/client.hpp"
#include "net/redis/url.hpp"
#include "net/runtime.hpp"
#include "services/chat/lines.hpp"
#include "services/chat/options.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace enchufe::services::chat::cluster {

using RoomId = std::uint32_t;

// A room's own lines that went out unnumbered are remembered by their
// sequence number, this many per room, so that one Redis published after
// all (its answer was lost) is not shown twice when it is heard.
inline constexpr std::size_t kDeliveredHereMemory = 1024;

// The shard of `room_key` among `shards` (rendezvous hashing: the same on
// every node, and a shard added moves only the rooms it wins).
std::size_t shard_of(std::string_view room_key, const std::vector<net::redis::Address>& shards);

// The channel of a node's private messages.
std::string node_channel(std::string_view node);

class Bus : public std::enable_shared_from_this<Bus> {
 public:
  struct Hooks {
    // On the room's home loop: a line to keep (if `keep`) and fan out on this
    // node, numbered by the cluster (or 0 when out of touch); `sender` is
    // the local session that said it (0: said on another node).
    std::function<void(RoomId, std::shared_ptr<ChatLine> line, std::uint64_t sender, bool keep)> heard;
    // On the room's home loop: the room lost (false) or regained (true)
    // touch with the other nodes.
    std::function<void(RoomId, bool in_touch)> touch;
    // On the first shard's subscriber loop: a private message another node
    // sent to `session` of this node (the Directory finds the node).
    std::function<void(std::uint64_t session, std::shared_ptr<ChatLine> line)> private_heard;
    // On the first shard's subscriber loop: a moderation change some node
    // published (moderation_feed.hpp), as it came.
    std::function<void(std::string_view payload)> moderation_heard;
    // On the same loop: the first shard's subscription holds (again): what
    // was published while it did not is not heard, so read the store anew.
    std::function<void()> moderation_listening;
  };

  static std::shared_ptr<Bus> start(net::Runtime& runtime, ClusterOptions options, Hooks hooks);

  // On the room's home loop.
  void open(RoomId room, const std::string& key, const std::string& name);
  void close(RoomId room);
  // `known_id`: the newest line number the room's home has seen.
  void publish(RoomId room, std::shared_ptr<ChatLine> draft, std::uint64_t sender, bool keep, std::uint64_t known_id);

  // This loop's connection to `shard`, for other commands that must keep
  // their order with this loop's lines (the directory's).
  net::redis::Client& client_here(std::size_t shard) { return *here().publishers[shard]; }
  // The same, to the shard of the room (its folded name).
  net::redis::Client& client_for_room_here(std::string_view room_key) {
    return client_here(room_shard(room_key));
  }
  std::size_t room_shard(std::string_view room_key) const { return shard_of(room_key, options_.shards); }
  // Runs `then` on this loop once its connection to `shard` has been up, or
  // has failed, at least once (at once if it has): a node just started
  // sends its first commands when they can be answered, instead of having
  // them fail while it is still connecting.
  void when_link_known(std::size_t shard, std::function<void()> then);

  // On the control thread, when shutdown begins: every client stops on its loop.
  void stop();

  // For --metrics, from any thread.
  struct Stats {
    std::vector<std::pair<std::string, bool>> shards;  // URL (no password), subscribed now
    std::int64_t rooms_out_of_touch = 0;
    std::uint64_t lines_here_only = 0;
  };
  Stats stats() const;

 private:
  struct Pending {
    std::uint64_t seq;
    std::shared_ptr<ChatLine> draft;
    std::uint64_t sender;
    bool keep;
  };
  enum class Touch { opening, in_touch, out_of_touch };
  // A connection as its loop last heard of it.
  enum class Link { unknown, up, down };
  struct Room {  // on the room's home loop
    std::string name;
    std::size_t shard;
    std::string channel, counter, log;
    std::uint64_t known_id = 0;
    Touch touch = Touch::opening;
    bool subscribed = false;  // the shard confirmed the room's subscription
    std::deque<Pending> unsent;    // said while opening
    std::deque<Pending> awaiting;  // published, not heard back yet
    std::deque<std::uint64_t> delivered_here;
  };
  struct Listener {  // on the subscriber's loop
    RoomId room;
    std::size_t home;
  };
  struct Shard {
    std::shared_ptr<net::redis::Client> subscriber;
    std::atomic<bool> up{false};  // written by its loop, read by --metrics
    std::size_t loop;  // the subscriber's
    std::unordered_map<std::string, Listener> listeners;  // channel ->
  };
  struct LoopState {
    std::vector<std::shared_ptr<net::redis::Client>> publishers;  // one per shard
    // Per shard: a room there is in touch while both hold (its lines go
    // out through the publisher and come back through the subscriber).
    std::vector<Link> publisher_link, subscriber_link;
    std::vector<std::vector<std::function<void()>>> link_waiters;  // per shard: when_link_known()
    std::unordered_map<RoomId, Room> rooms;
    std::uint64_t next_seq = 1;
  };

  Bus(net::Runtime& runtime, ClusterOptions options, Hooks hooks);
  void start_clients();
  LoopState& here();
  void send(Room& room, RoomId id, Pending pending);
  void published(RoomId room, std::uint64_t seq, const net::redis::Reply& reply);
  void heard(std::size_t shard, std::string_view channel, std::string_view payload);
  void home_heard(RoomId room, std::string payload);
  // To this node's members only, unnumbered.
  void deliver_here(RoomId id, Room& room, Pending pending);
  void set_touch(RoomId id, Room& room, Touch touch);
  // The touch the shard's links give the room now (or opening: wait).
  Touch touch_for(const Room& room);
  // A link of `shard` went up or down: on every home loop (subscriber), or
  // on the publisher's own loop.
  void subscriber_changed(std::size_t shard, bool up);
  void links_changed(std::size_t shard);

  net::Runtime& runtime_;
  const ClusterOptions options_;
  const Hooks hooks_;
  const std::string script_sha1_;  // of the script that numbers and publishes a line
  const std::string node_channel_;  // where private messages for this node come
  const std::string history_lines_;  // --cluster-history, as the script takes it
  std::vector<LoopState> loops_;
  std::vector<Shard> shards_;  // made once, never resized (atomics)
  // Summed over the loops, for --metrics.
  std::atomic<std::int64_t> rooms_out_of_touch_{0};
  std::atomic<std::uint64_t> lines_here_only_{0};
};

}  // namespace enchufe::services::chat::cluster
