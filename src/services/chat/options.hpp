#pragma once
// The chat server's settings and their defaults, with the reason for each.

#include "net/redis/url.hpp"
#include "services/chat/moderation/settings.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace enchufe::services::chat {

using namespace std::chrono_literals;

// --cluster / --node-name: nodes that share rooms through Redis.
struct ClusterOptions {
  std::vector<net::redis::Address> shards;  // empty: one server on its own
  std::string node_name;                    // unique per node: its lines are known by it
  // --cluster-ttl: a node's nicknames and presence in rooms expire this long
  // after its last heartbeat (every third of it), so the members of a node
  // that died leave every list, and their names are free, within it.
  std::chrono::milliseconds ttl = 15s;
  // --cluster-history: each room's stream in Redis keeps about this many
  // messages (trimmed by MAXLEN ~, which Redis does cheaply, whole nodes at
  // a time): what /history, /search and a resume on any node can reach.
  std::size_t history_lines = 10'000;
};

struct ChatOptions {
  std::string server_name = "enchufe";
  std::string quit_word = "salir";
  // --history: lines replayed to whoever joins a room; also the most each
  // room keeps, so a room's memory is bounded.
  std::size_t history = 50;
  // --local-time: timestamps in the server's zone instead of UTC.
  bool local_time = false;
  // --flood-rate / --flood-burst: lines a client may send per second on
  // average, and at once. A line over the limit is dropped with a warning;
  // kFloodStrikes dropped lines in a row disconnect the client.
  double flood_rate = 10;
  double flood_burst = 20;
  // --max-rooms: rooms are created on demand, so their number is bounded.
  std::size_t max_rooms = 1000;
  ClusterOptions cluster;
  // --admin, --registration, --require-tls-for-login (moderation/).
  moderation::Settings moderation;
};

// Dropped lines in a row, past the flood limit, before a disconnect.
inline constexpr int kFloodStrikes = 20;

// Chat defaults that differ from the other services' (see net::limits).
// A chat line is typed by a person: 4 KiB is generous.
inline constexpr std::size_t kChatMaxLine = 4 * 1024;
// A client that does not read while others talk is cut past this much owed
// output (like Redis's pub/sub output-buffer limit), so nobody waits for it.
inline constexpr std::size_t kChatMaxOutput = 1 << 20;
// Silent clients are disconnected after this long (TCP keepalive also runs).
inline constexpr auto kChatIdleTimeout = 10min;

}  // namespace enchufe::services::chat
