#pragma once
// Counters for --metrics, kept per thread and summed when scraped.
//
// Each loop has its own block of counters per service, written by that
// loop's thread alone: an increment is a relaxed load and store, no locked
// instruction and no cache line shared with another thread, so counting
// costs next to nothing on the hot path. A scrape reads every block and
// adds them up.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace enchufe::net {

enum class Counter : std::size_t {
  accepted,
  refused,
  closed,
  bytes_in,
  bytes_out,
  messages_in,
  messages_out,
  errors_reset,
  errors_timeout,
  errors_too_long,
  errors_flood,
  errors_slow_consumer,
  errors_other,
  datagrams_in,
  datagrams_out,
  datagrams_dropped,
  count_,
};

// Reply latency buckets (seconds), Prometheus-style upper bounds.
inline constexpr std::array<double, 14> kLatencyBuckets = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                           0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    1.0};

struct alignas(64) LoopCounters {
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Counter::count_)> values{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> latency_buckets{};  // the last is +Inf
  std::atomic<std::uint64_t> latency_sum_ns{0};

  // Only the owning loop's thread calls these.
  void add(Counter c, std::uint64_t n = 1) {
    auto& v = values[static_cast<std::size_t>(c)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void observe_latency(std::chrono::nanoseconds d);
};

// A service's counters: one block per loop.
class ServiceMetrics {
 public:
  ServiceMetrics(std::string service, std::size_t loops) : service_(std::move(service)), loops_(loops) {}
  const std::string& service() const { return service_; }
  LoopCounters& loop(std::size_t index) { return loops_[index]; }

  struct Totals {
    std::array<std::uint64_t, static_cast<std::size_t>(Counter::count_)> values{};
    std::array<std::uint64_t, kLatencyBuckets.size() + 1> latency_buckets{};
    std::uint64_t latency_sum_ns = 0;
    std::uint64_t operator[](Counter c) const { return values[static_cast<std::size_t>(c)]; }
  };
  Totals totals() const;

 private:
  std::string service_;
  std::vector<LoopCounters> loops_;
};

// Everything /metrics shows.
class MetricsRegistry {
 public:
  // A gauge computed at scrape time: label sets and their values.
  using GaugeValues = std::vector<std::pair<std::string, double>>;  // {"room=\"general\"", 3}

  void add(std::shared_ptr<ServiceMetrics> service);
  void add_gauge(std::string name, std::string help, std::function<GaugeValues()> read);
  // The same for a count that only grows, kept elsewhere (name it ..._total).
  void add_counter(std::string name, std::string help, std::function<GaugeValues()> read);

  // The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct Gauge {
    std::string name, help;
    std::function<GaugeValues()> read;
    const char* type;  // "gauge" or "counter"
  };
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<ServiceMetrics>> services_;
  std::vector<Gauge> gauges_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace enchufe::net
