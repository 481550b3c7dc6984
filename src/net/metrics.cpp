#include "net/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace enchufe::net {

void LoopCounters::observe_latency(std::chrono::nanoseconds d) {
  const double seconds = std::chrono::duration<double>(d).count();
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) - kLatencyBuckets.begin());
  auto& b = latency_buckets[bucket];
  b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  latency_sum_ns.store(latency_sum_ns.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(d.count()),
                       std::memory_order_relaxed);
}

ServiceMetrics::Totals ServiceMetrics::totals() const {
  Totals t;
  for (const auto& loop : loops_) {
    for (std::size_t i = 0; i < t.values.size(); ++i) t.values[i] += loop.values[i].load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < t.latency_buckets.size(); ++i) {
      t.latency_buckets[i] += loop.latency_buckets[i].load(std::memory_order_relaxed);
    }
    t.latency_sum_ns += loop.latency_sum_ns.load(std::memory_order_relaxed);
  }
  return t;
}

void MetricsRegistry::add(std::shared_ptr<ServiceMetrics> service) {
  std::lock_guard lock(mutex_);
  services_.push_back(std::move(service));
}

void MetricsRegistry::add_gauge(std::string name, std::string help, std::function<GaugeValues()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read), "gauge"});
}

void MetricsRegistry::add_counter(std::string name, std::string help, std::function<GaugeValues()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read), "counter"});
}

namespace {

struct Family {
  std::string_view name, type, help;
};

void header(std::string& out, const Family& f) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, ServiceMetrics::Totals>> totals;
  for (const auto& s : services_) totals.emplace_back(s->service(), s->totals());

  std::string out;
  auto o = std::back_inserter(out);
  const auto per_service = [&](const Family& f, auto value) {
    header(out, f);
    for (const auto& [service, t] : totals) fmt::format_to(o, "{}{{service=\"{}\"}} {}\n", f.name, service, value(t));
  };
  const auto counter = [&](std::string_view name, std::string_view help, Counter c) {
    per_service({name, "counter", help}, [c](const ServiceMetrics::Totals& t) { return t[c]; });
  };

  counter("enchufe_connections_accepted_total", "TCP connections accepted.", Counter::accepted);
  counter("enchufe_connections_refused_total",
          "TCP connections refused at accept (--max-connections; the chat's per-address limits).", Counter::refused);
  counter("enchufe_connections_closed_total", "TCP connections closed, for any reason.", Counter::closed);
  per_service({"enchufe_connections_active", "gauge", "TCP connections open now."},
              [](const ServiceMetrics::Totals& t) {
                // The per-loop sums are not read at one instant: never below 0.
                return t[Counter::accepted] > t[Counter::closed] ? t[Counter::accepted] - t[Counter::closed] : 0;
              });
  counter("enchufe_bytes_received_total", "Bytes read from clients.", Counter::bytes_in);
  counter("enchufe_bytes_sent_total", "Bytes written to clients.", Counter::bytes_out);
  counter("enchufe_messages_received_total", "Messages (lines or datagrams) received.", Counter::messages_in);
  counter("enchufe_messages_sent_total", "Messages (replies, chat lines, datagrams) sent.", Counter::messages_out);

  header(out, {"enchufe_errors_total", "counter", "Connections ended or lines refused, by kind."});
  const std::pair<std::string_view, Counter> kinds[] = {
      {"reset", Counter::errors_reset},         {"timeout", Counter::errors_timeout},
      {"too_long", Counter::errors_too_long},   {"flood", Counter::errors_flood},
      {"slow_consumer", Counter::errors_slow_consumer}, {"other", Counter::errors_other}};
  for (const auto& [service, t] : totals) {
    for (const auto& [kind, c] : kinds) {
      fmt::format_to(o, "enchufe_errors_total{{service=\"{}\",kind=\"{}\"}} {}\n", service, kind, t[c]);
    }
  }

  counter("enchufe_udp_datagrams_received_total", "UDP datagrams received.", Counter::datagrams_in);
  counter("enchufe_udp_datagrams_sent_total", "UDP datagrams sent.", Counter::datagrams_out);
  counter("enchufe_udp_datagrams_dropped_total", "UDP replies the socket could not take.", Counter::datagrams_dropped);

  header(out, {"enchufe_reply_latency_seconds", "histogram",
               "From reading a client's input to having written all it was owed in reply (per read; greet and chat "
               "welcomes count from the accept)."});
  for (const auto& [service, t] : totals) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < t.latency_buckets.size(); ++i) {
      cumulative += t.latency_buckets[i];
      if (i < kLatencyBuckets.size()) {
        fmt::format_to(o, "enchufe_reply_latency_seconds_bucket{{service=\"{}\",le=\"{}\"}} {}\n", service,
                       kLatencyBuckets[i], cumulative);
      } else {
        fmt::format_to(o, "enchufe_reply_latency_seconds_bucket{{service=\"{}\",le=\"+Inf\"}} {}\n", service,
                       cumulative);
      }
    }
    fmt::format_to(o, "enchufe_reply_latency_seconds_sum{{service=\"{}\"}} {}\n", service,
                   static_cast<double>(t.latency_sum_ns) / 1e9);
    fmt::format_to(o, "enchufe_reply_latency_seconds_count{{service=\"{}\"}} {}\n", service, cumulative);
  }

  for (const auto& g : gauges_) {
    header(out, {g.name, g.type, g.help});
    for (const auto& [labels, value] : g.read()) {
      if (labels.empty()) {
        fmt::format_to(o, "{} {}\n", g.name, value);
      } else {
        fmt::format_to(o, "{}{{{}}} {}\n", g.name, labels, value);
      }
    }
  }

  header(out, {"enchufe_uptime_seconds", "gauge", "Seconds since the process started serving."});
  fmt::format_to(o, "enchufe_uptime_seconds {}\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  return out;
}

}  // namespace enchufe::net
