#pragma once
// Reading `enchufe bench --json`'s one-line report from outside: a lookup of
// a top-level field in the text, never the code under test.

#include <charconv>
#include <optional>
#include <string>

namespace enchufe::test {

// A top-level number ("errors":0), or nothing.
inline std::optional<double> field(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const auto at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = json.data() + at + needle.size();
  double value = 0;
  const auto [end, ec] = std::from_chars(begin, json.data() + json.size(), value);
  if (ec != std::errc()) return std::nullopt;
  return value;
}

// A top-level string ("db":"/tmp/...") with no escapes in it; "" if absent.
inline std::string text_field(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const auto at = json.find(needle);
  if (at == std::string::npos) return {};
  const auto begin = at + needle.size();
  return json.substr(begin, json.find('"', begin) - begin);
}

}  // namespace enchufe::test
