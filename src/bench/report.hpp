#pragma once
// A benchmark's results, printed either as a small table for people or as
// one JSON object for machines (--json). Both come from the same fields.

#include "bench/histogram.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace enchufe::bench {

class Report {
 public:
  using Value = std::variant<std::uint64_t, double, std::string, bool>;

  explicit Report(std::string_view mode) : mode_(mode) {}

  // A field: `key` in JSON, `label` and `human` in the table (an empty label
  // keeps it out of the table; an empty `human` prints the value).
  void add(std::string_view key, Value value, std::string_view label = {}, std::string human = {});
  // A row of the table only (e.g. a heading).
  void note(std::string_view text) { notes_.emplace_back(text); }
  // Request latencies in nanoseconds: printed as percentiles in microseconds.
  void latency(const Histogram& h, std::string_view key = "latency_us", std::string_view label = "latency");
  // The first few error messages, kept for the reader.
  void samples(const std::vector<std::string>& errors) { samples_ = errors; }

  std::string json() const;
  std::string table() const;

 private:
  struct Field {
    std::string key;
    Value value;
    std::string label;
    std::string human;
  };
  std::string mode_;
  std::vector<Field> fields_;
  std::vector<std::string> notes_;
  struct Latency {
    std::string key, label;
    std::uint64_t count, min, p50, p90, p99, p999, max;
    double mean;
  };
  std::vector<Latency> latencies_;
  std::vector<std::string> samples_;
};

// ---- numbers for people ------------------------------------------------------

// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t n);
// Per second, rounded: "246,913".
std::string per_second(double rate);
// Bytes in decimal units, like MB/s: "512 B", "1.5 kB", "12.3 MB", "1.02 GB".
std::string bytes(double n);
// Nanoseconds: "850 ns", "183 us", "1.25 ms", "2.40 s".
std::string nanos(double ns);

}  // namespace enchufe::bench
