#pragma once
// Who is on the cluster (serve chat --cluster): nicknames unique across
// every node, and who is in which room, kept in Redis with a time to live.
//
// A nickname is a key, enchufe:nick:<folded>, set only if free (or already
// this session's), holding "<node> <session> <nick>" and expiring after
// --cluster-ttl. A room's members are a sorted set, enchufe:who:<room>,
// scored by when each entry expires; the rooms are another
// (enchufe:rooms). Every loop refreshes its own members every TTL/3 in one
// script, so a node that dies leaves every list within the TTL, and a Redis
// restarted empty knows every name again within a heartbeat. Expiry is
// Redis's clock (TIME), never the nodes'.
//
// All of it lives on the first --cluster server: a few commands per join,
// leave or rename and a heartbeat per loop are little beside the lines.
//
// Every call is asynchronous, sent on the calling loop's own connection
// (Bus::client_here), and answered on that loop.

#include "services/chat/cluster/bus.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace enchufe::services::chat::cluster {

// A heartbeat sends this many members per script at most: one script runs
// alone in Redis, so a loop with many members does not stall it for long.
inline constexpr std::size_t kRefreshBatch = 500;

class Directory {
 public:
  // A member of this node as the directory shows it.
  struct Entry {
    std::string nick;
    std::uint64_t session = 0;
    std::string room_key, room_name;  // empty: in no room yet
  };
  struct Hooks {
    // On each loop, every heartbeat: that loop's members.
    std::function<std::vector<Entry>()> members_here;
    // On the member's loop: the nickname (folded) it had when the heartbeat
    // left is held by another node's member now (this node was out of
    // touch longer than the TTL).
    std::function<void(std::uint64_t session, const std::string& nick_key)> lost;
  };
  enum class Claim { done, taken, unreachable };
  using ClaimDone = std::function<void(Claim, const std::string& why)>;
  // An answer from Redis, or nothing and why it could not be had.
  template <typename T>
  using Answer = std::function<void(std::optional<T>, const std::string& why)>;

  Directory(net::Runtime& runtime, Bus& bus, const ClusterOptions& options, Hooks hooks);
  // Before the loops run: each loop's heartbeat timer starts.
  void start();
  // On the control thread, when shutdown begins.
  void stop();

  // On the member's loop. Takes `nick` for `session` if no other session
  // holds it, giving up `old_nick` (empty: none) and replacing it in
  // `room_key`'s list (empty: in no room). `take_over`: even if another
  // session holds it (its owner logged in: the other node's heartbeat
  // finds its member has lost the name, Hooks::lost).
  void claim(const Entry& member, const std::string& old_nick, ClaimDone done, bool take_over = false);
  void joined(const Entry& member);
  void left(const std::string& nick, const std::string& room_key);
  // The member leaves the server: its nickname is free at once.
  void release(const Entry& member);

  void who(const std::string& room_key, Answer<std::vector<std::string>> done);
  // Publishes `line` (to_wire's JSON) on the channel of the node that has
  // `nick`, for its session there; `done` gets the nickname as its owner
  // spells it, or nothing: with an empty `why` when no live member has it.
  void send_private(const std::string& nick, const std::string& line, Answer<std::string> done);
  void rooms(Answer<std::vector<std::pair<std::string, std::size_t>>> done);

 private:
  // "<node> <session> ": what a nickname's value starts with when it is
  // this session's (node names have no spaces).
  std::string owner(std::uint64_t session) const;
  // Every command waits for the first connection's outcome (Bus::when_link_known).
  void eval(std::string_view body, std::vector<std::string> args, net::redis::Client::Callback done);
  void arm(std::size_t loop);
  void beat();

  net::Runtime& runtime_;
  Bus& bus_;
  const std::string node_;
  const std::chrono::milliseconds ttl_;
  const Hooks hooks_;
  std::vector<std::unique_ptr<asio::steady_timer>> timers_;  // one per loop
};

}  // namespace enchufe::services::chat::cluster
