#include "stats/rates.hpp"

#include <algorithm>
#include <cmath>

namespace enchufe::stats {

const ServiceRates* View::service(std::string_view name) const {
  for (const auto& s : services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::optional<double> histogram_quantile(double q, const std::vector<std::pair<double, double>>& buckets) {
  if (buckets.empty() || std::isnan(q)) return std::nullopt;
  q = std::clamp(q, 0.0, 1.0);
  const double total = buckets.back().second;
  if (!(total > 0)) return std::nullopt;
  const double rank = q * total;
  double lower = 0, below = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto [upper, cumulative] = buckets[i];
    if (cumulative >= rank && cumulative > below) {
      if (std::isinf(upper)) {
        // Past the last finite bound: that bound is all we know.
        return i == 0 ? std::nullopt : std::optional<double>(buckets[i - 1].first);
      }
      const double in_bucket = cumulative - below;
      return lower + (upper - lower) * ((rank - below) / in_bucket);
    }
    lower = std::isinf(upper) ? lower : upper;
    below = cumulative;
  }
  return buckets.back().first;  // not reached with a consistent histogram
}

std::optional<LatencyEstimate> estimate_quantile(double q, const std::vector<std::pair<double, double>>& buckets) {
  const auto value = histogram_quantile(q, buckets);
  if (!value) return std::nullopt;
  const double rank = std::clamp(q, 0.0, 1.0) * buckets.back().second;
  double below = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto [upper, cumulative] = buckets[i];
    if (cumulative >= rank && cumulative > below) {
      if (std::isinf(upper)) return LatencyEstimate{*value, LatencyEstimate::Kind::above};
      if (i == 0) return LatencyEstimate{upper, LatencyEstimate::Kind::at_most};
      return LatencyEstimate{*value, LatencyEstimate::Kind::within};
    }
    below = cumulative;
  }
  return LatencyEstimate{*value, LatencyEstimate::Kind::within};
}

Histogram histogram_delta(const Histogram& now, const Histogram* before) {
  if (before == nullptr || before->empty()) return now;
  Histogram out = now;
  for (auto& [bound, count] : out.buckets) {
    const auto it = std::find_if(before->buckets.begin(), before->buckets.end(),
                                 [&](const auto& b) { return b.first == bound; });
    const double earlier = it == before->buckets.end() ? 0 : it->second;
    if (count < earlier) return now;  // a restart: counters began again
    count -= earlier;
  }
  if (now.count < before->count || now.sum < before->sum) return now;
  out.count = now.count - before->count;
  out.sum = now.sum - before->sum;
  return out;
}

namespace {

// What a counter gained; a counter that went down restarted from zero.
double gained(double now, double before, bool& reset) {
  if (now < before) {
    reset = true;
    return now;
  }
  return now - before;
}

// The rates of one service; `before` null: everything counts as new.
ServiceRates rates_of(const ServiceSnapshot& now, const ServiceSnapshot* before, double per_second, bool& reset) {
  static const ServiceSnapshot kNothing;
  const ServiceSnapshot& b = before ? *before : kNothing;
  const auto rate = [&](double ServiceSnapshot::*f) { return gained(now.*f, b.*f, reset) * per_second; };

  ServiceRates r;
  r.name = now.name;
  r.udp = now.udp();
  r.connections = rate(&ServiceSnapshot::accepted);
  r.messages_in = rate(&ServiceSnapshot::messages_in);
  r.messages_out = rate(&ServiceSnapshot::messages_out);
  r.bytes_in = rate(&ServiceSnapshot::bytes_in);
  r.bytes_out = rate(&ServiceSnapshot::bytes_out);
  r.dropped = rate(&ServiceSnapshot::datagrams_dropped);
  rate(&ServiceSnapshot::refused);  // only to notice a restart
  rate(&ServiceSnapshot::closed);
  r.active = now.active;
  r.accepted_total = now.accepted;
  r.refused_total = now.refused;
  r.closed_total = now.closed;
  r.messages_in_total = now.messages_in;
  r.messages_out_total = now.messages_out;
  r.bytes_in_total = now.bytes_in;
  r.bytes_out_total = now.bytes_out;
  for (const auto& [kind, total] : now.errors) {
    r.errors_total += total;
    const double recent = gained(total, b.error(kind), reset);
    r.errors_recent += recent;
    if (total > 0) r.errors.push_back({kind, total, recent});
  }
  const Histogram recent = histogram_delta(now.latency, before ? &before->latency : nullptr);
  if (now.latency.count < b.latency.count) reset = true;
  r.replies = recent.buckets.empty() ? recent.count : recent.buckets.back().second;
  r.p50 = estimate_quantile(0.50, recent.buckets);
  r.p99 = estimate_quantile(0.99, recent.buckets);
  return r;
}

}  // namespace

View compute_view(const Snapshot& current, const Snapshot* previous, double seconds) {
  View view;
  view.since_start = previous == nullptr;
  view.seconds = previous == nullptr ? current.uptime_seconds.value_or(0) : seconds;
  view.chat_rooms = current.chat_rooms;
  view.room_members = current.room_members;
  view.uptime_seconds = current.uptime_seconds;
  if (previous && previous->uptime_seconds && current.uptime_seconds &&
      *current.uptime_seconds < *previous->uptime_seconds) {
    view.counters_reset = true;  // a new server process: its counters began at zero
  }
  const double per_second = view.seconds > 0 ? 1.0 / view.seconds : 0.0;
  for (const auto& now : current.services) {
    const ServiceSnapshot* before = previous && !view.counters_reset ? previous->service(now.name) : nullptr;
    bool reset = false;
    ServiceRates r = rates_of(now, before, per_second, reset);
    if (reset && before) {
      // Some counter went down: the server restarted, and everything it
      // counted is new since then.
      view.counters_reset = true;
      r = rates_of(now, nullptr, per_second, reset);
    }
    view.services.push_back(std::move(r));
  }
  return view;
}

}  // namespace enchufe::stats
