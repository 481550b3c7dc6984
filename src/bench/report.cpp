#include "bench/report.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cmath>

namespace enchufe::bench {

void Report::add(std::string_view key, Value value, std::string_view label, std::string human) {
  fields_.push_back({std::string(key), std::move(value), std::string(label), std::move(human)});
}

void Report::latency(const Histogram& h, std::string_view key, std::string_view label) {
  latencies_.push_back({std::string(key), std::string(label), h.count(), h.min(), h.value_at(50), h.value_at(90),
                        h.value_at(99), h.value_at(99.9), h.max(), h.mean()});
}

namespace {

boost::json::value json_value(const Report::Value& v) {
  if (auto* u = std::get_if<std::uint64_t>(&v)) return *u;
  if (auto* d = std::get_if<double>(&v)) return std::isfinite(*d) ? boost::json::value(*d) : nullptr;
  if (auto* b = std::get_if<bool>(&v)) return *b;
  return boost::json::value(std::get<std::string>(v));
}

std::string human_value(const Report::Value& v) {
  if (auto* u = std::get_if<std::uint64_t>(&v)) return grouped(*u);
  if (auto* d = std::get_if<double>(&v)) return fmt::format("{:.3g}", *d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "yes" : "no";
  return std::get<std::string>(v);
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

std::string Report::json() const {
  boost::json::object out;
  out["mode"] = mode_;
  for (const auto& f : fields_) out[f.key] = json_value(f.value);
  // Microseconds, rounded to nanoseconds.
  const auto micros = [](double ns) { return std::round(ns) / 1000.0; };
  for (const auto& l : latencies_) {
    out[l.key] = {{"count", l.count}, {"min", us(l.min)},   {"mean", micros(l.mean)}, {"p50", us(l.p50)},
                  {"p90", us(l.p90)}, {"p99", us(l.p99)},   {"p99_9", us(l.p999)},    {"max", us(l.max)}};
  }
  boost::json::array samples;
  for (const auto& s : samples_) samples.emplace_back(s);
  out["error_samples"] = std::move(samples);
  return boost::json::serialize(out) + "\n";
}

std::string Report::table() const {
  std::string out;
  for (const auto& n : notes_) out += n + '\n';
  std::size_t width = 0;
  for (const auto& f : fields_) width = std::max(width, f.label.size());
  for (const auto& l : latencies_) width = std::max(width, l.label.size());
  for (const auto& f : fields_) {
    if (f.label.empty()) continue;
    out += fmt::format("  {:<{}}  {}\n", f.label, width, f.human.empty() ? human_value(f.value) : f.human);
  }
  for (const auto& l : latencies_) {
    if (l.count == 0) {
      out += fmt::format("  {:<{}}  (none measured)\n", l.label, width);
      continue;
    }
    out += fmt::format("  {:<{}}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {}, {} samples)\n", l.label,
                       width, nanos(static_cast<double>(l.p50)), nanos(static_cast<double>(l.p90)),
                       nanos(static_cast<double>(l.p99)), nanos(static_cast<double>(l.p999)),
                       nanos(static_cast<double>(l.max)), nanos(l.mean), grouped(l.count));
  }
  if (!samples_.empty()) {
    out += "  first errors:\n";
    for (const auto& s : samples_) out += "    " + s + '\n';
  }
  return out;
}

std::string grouped(std::uint64_t n) {
  std::string digits = fmt::format("{}", n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string per_second(double rate) {
  if (!std::isfinite(rate) || rate < 0) return "-";
  if (rate < 100) return fmt::format("{:.1f}", rate);
  return grouped(static_cast<std::uint64_t>(std::llround(rate)));
}

std::string bytes(double n) {
  if (n < 1e3) return fmt::format("{:.0f} B", n);
  if (n < 1e6) return fmt::format("{:.1f} kB", n / 1e3);
  if (n < 1e9) return fmt::format("{:.1f} MB", n / 1e6);
  return fmt::format("{:.2f} GB", n / 1e9);
}

std::string nanos(double ns) {
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e5) return fmt::format("{:.1f} us", ns / 1e3);
  if (ns < 1e6) return fmt::format("{:.0f} us", ns / 1e3);
  if (ns < 1e8) return fmt::format("{:.2f} ms", ns / 1e6);
  if (ns < 1e9) return fmt::format("{:.0f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

}  // namespace enchufe::bench
