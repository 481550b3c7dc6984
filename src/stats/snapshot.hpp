#pragma once
// What one scrape of enchufe's /metrics says, by service: the counters and
// gauges of src/net/metrics.cpp read back from the exposition text.

#include "stats/prometheus.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enchufe::stats {

// A cumulative histogram: (upper bound, observations <= it), sorted by bound;
// the last bound is +Inf when the exposition has it.
struct Histogram {
  std::vector<std::pair<double, double>> buckets;
  double sum = 0;
  double count = 0;
  bool empty() const { return buckets.empty(); }
};

struct ServiceSnapshot {
  std::string name;  // "echo"
  double accepted = 0, refused = 0, closed = 0, active = 0;
  double bytes_in = 0, bytes_out = 0, messages_in = 0, messages_out = 0;
  double datagrams_in = 0, datagrams_out = 0, datagrams_dropped = 0;
  std::vector<std::pair<std::string, double>> errors;  // by kind, in the order scraped
  Histogram latency;                                   // enchufe_reply_latency_seconds

  double errors_total() const;
  double error(std::string_view kind) const;  // 0 if absent
  // A UDP service: it counts datagrams, not connections.
  bool udp() const;
};

struct Snapshot {
  std::vector<ServiceSnapshot> services;  // in the order the exposition names them
  std::optional<double> chat_rooms;
  std::vector<std::pair<std::string, double>> room_members;  // room, members
  std::optional<double> uptime_seconds;

  const ServiceSnapshot* service(std::string_view name) const;
};

// Reads the enchufe_* families; anything else (another exporter's metrics)
// is ignored.
Snapshot make_snapshot(const Exposition& exposition);

}  // namespace enchufe::stats
