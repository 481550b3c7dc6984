#pragma once
// A parser for the Prometheus text exposition format (version 0.0.4), the
// format /metrics speaks: "# HELP" and "# TYPE" lines, then one sample per
// line, `name{label="value",...} value [timestamp]`.
//
// Pure: text in, samples out. A line it cannot read is reported with its
// number and skipped, so one odd line does not hide every other number.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enchufe::stats {

using Labels = std::vector<std::pair<std::string, std::string>>;  // in the order written

struct Sample {
  std::string name;  // "enchufe_bytes_sent_total", "enchufe_reply_latency_seconds_bucket"
  Labels labels;     // values unescaped
  double value = 0;  // NaN and ±Inf included
  std::optional<long long> timestamp_ms;

  // The value of label `name`, if the sample has it.
  std::optional<std::string_view> label(std::string_view name) const;
};

struct ParseError {
  std::size_t line = 0;  // 1-based
  std::string message;
};

struct Exposition {
  std::vector<Sample> samples;                                   // in order
  std::vector<std::pair<std::string, std::string>> types;        // "# TYPE name counter"
  std::vector<std::pair<std::string, std::string>> help;         // "# HELP name text" (unescaped)
  std::vector<ParseError> errors;                                // lines skipped

  // The type declared for metric family `family` ("counter", ...), if any.
  std::optional<std::string_view> type_of(std::string_view family) const;
};

Exposition parse_exposition(std::string_view text);

// "1.5", "1e-05", "NaN", "+Inf", "-Inf": a Prometheus sample value.
std::optional<double> parse_value(std::string_view text);

}  // namespace enchufe::stats
