// Fuzzes the Prometheus text parser with whatever a /metrics page may hold:
// what it keeps is well-formed (names, label sets, types), errors point at
// real lines, and, as the format is line by line, parsing the text in two
// pieces cut at a newline gives what parsing it whole gives.
#include "stats/prometheus.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

using namespace enchufe::stats;

bool metric_name(std::string_view s, bool label) {
  const auto start = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
  };
  const auto rest = [&](char c) { return start(c) || (c >= '0' && c <= '9'); };
  return !s.empty() && start(s[0]) && std::all_of(s.begin() + 1, s.end(), rest);
}

std::size_t lines_in(std::string_view text) {
  const auto newlines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return newlines + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

void check(const Exposition& e, std::string_view text) {
  const std::size_t lines = lines_in(text);
  if (e.samples.size() > lines) std::abort();
  for (const auto& s : e.samples) {
    if (!metric_name(s.name, false)) std::abort();
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
      if (!metric_name(s.labels[i].first, true)) std::abort();
      for (std::size_t j = 0; j < i; ++j) {
        if (s.labels[j].first == s.labels[i].first) std::abort();  // refused as "given twice"
      }
    }
  }
  for (const auto& [name, type] : e.types) {
    if (!metric_name(name, false)) std::abort();
    if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
      std::abort();
    }
  }
  for (const auto& [name, _] : e.help) {
    if (!metric_name(name, false)) std::abort();
  }
  for (const auto& error : e.errors) {
    if (error.line < 1 || error.line > lines || error.message.empty()) std::abort();
  }
}

// Values compare by their bits: the same text must give the same NaN.
bool same(const Sample& a, const Sample& b) {
  return a.name == b.name && a.labels == b.labels && a.timestamp_ms == b.timestamp_ms &&
         std::bit_cast<std::uint64_t>(a.value) == std::bit_cast<std::uint64_t>(b.value);
}

bool same(const ParseError& a, const ParseError& b) { return a.line == b.line && a.message == b.message; }

template <typename T>
std::vector<T> joined(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// `whole` is `first` followed by `second`, whose lines come after `offset` lines.
bool same(const Exposition& whole, const Exposition& first, Exposition second, std::size_t offset) {
  for (auto& error : second.errors) error.line += offset;
  const auto equal = [](const auto& a, const auto& b) { return same(a, b); };
  return std::ranges::equal(joined(first.samples, second.samples), whole.samples, equal) &&
         std::ranges::equal(joined(first.errors, second.errors), whole.errors, equal) &&
         joined(first.types, second.types) == whole.types && joined(first.help, second.help) == whole.help;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Exposition whole = parse_exposition(text);
  check(whole, text);

  const auto cut = text.find('\n', size / 2);
  if (cut == std::string_view::npos) return 0;
  const std::string_view first = text.substr(0, cut + 1);
  if (!same(whole, parse_exposition(first), parse_exposition(text.substr(cut + 1)), lines_in(first))) {
    std::abort();
  }
  return 0;
}
