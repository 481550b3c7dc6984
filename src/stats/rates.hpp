#pragma once
// From two scrapes to what `enchufe stats` shows: per-second rates over the
// interval between them, and reply-latency percentiles estimated from how
// much each histogram bucket grew in that interval (as Prometheus's
// histogram_quantile(rate(...)) does). Pure arithmetic, no I/O.

#include "stats/snapshot.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace enchufe::stats {

struct ErrorKind {
  std::string kind;  // "too_long"
  double total = 0;  // since the server started
  double recent = 0; // in the interval
};

// A percentile read from a histogram: interpolated inside its bucket, or,
// when it falls in the first bucket or past the last finite one, only a
// bound ("<= 10us", "> 1.00s"): the buckets know nothing finer.
struct LatencyEstimate {
  double seconds = 0;
  enum class Kind { within, at_most, above } kind = Kind::within;
  bool operator==(const LatencyEstimate&) const = default;
};

struct ServiceRates {
  std::string name;
  bool udp = false;

  // Per second, over the interval.
  double connections = 0;  // accepted
  double messages_in = 0, messages_out = 0;
  double bytes_in = 0, bytes_out = 0;
  double dropped = 0;      // UDP replies dropped

  // Now.
  double active = 0;

  // Since the server started.
  double accepted_total = 0, refused_total = 0, closed_total = 0;
  double messages_in_total = 0, messages_out_total = 0;
  double bytes_in_total = 0, bytes_out_total = 0;
  double errors_total = 0;
  double errors_recent = 0;      // in the interval
  std::vector<ErrorKind> errors; // kinds with a total above 0

  // Reply latency in the interval.
  double replies = 0;  // histogram observations in the interval
  std::optional<LatencyEstimate> p50, p99;  // none without observations
};

struct View {
  double seconds = 0;        // what the rates cover
  bool since_start = false;  // no earlier scrape: rates are averages since the server started
  bool counters_reset = false;  // the server restarted between the scrapes
  std::vector<ServiceRates> services;
  std::optional<double> chat_rooms;
  std::vector<std::pair<std::string, double>> room_members;
  std::optional<double> uptime_seconds;

  const ServiceRates* service(std::string_view name) const;
};

// `previous` null: the first scrape; rates are then averages over the
// server's uptime. `seconds`: the time between the two scrapes.
View compute_view(const Snapshot& current, const Snapshot* previous, double seconds);

// The q-quantile (0..1) of a cumulative histogram (upper bound, count <= it),
// interpolating linearly inside the bucket it falls in; the first bucket
// starts at 0. Falling in the +Inf bucket gives the highest finite bound.
// None when the histogram holds no observation.
std::optional<double> histogram_quantile(double q, const std::vector<std::pair<double, double>>& buckets);

// The q-quantile as shown: histogram_quantile(), except that one landing in
// the first bucket is "at most its bound" and one in +Inf "above the last
// finite bound".
std::optional<LatencyEstimate> estimate_quantile(double q, const std::vector<std::pair<double, double>>& buckets);

// What `now` gained since `before` (null: everything). If any bucket shrank
// the server restarted, and `now` is the whole answer.
Histogram histogram_delta(const Histogram& now, const Histogram* before);

}  // namespace enchufe::stats
