#include "stats/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace enchufe::stats {

namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
bool blank(char c) { return c == ' ' || c == '\t'; }

void skip_blanks(std::string_view& s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
}

// A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with `label`, a label name
// (no ':'). Empty when there is none.
std::string_view take_name(std::string_view& s, bool label) {
  std::size_t n = 0;
  while (n < s.size() && (n == 0 ? name_start(s[n]) : name_char(s[n])) && !(label && s[n] == ':')) ++n;
  const auto name = s.substr(0, n);
  s.remove_prefix(n);
  return name;
}

// `"..."` with \\, \" and \n escapes; false if unterminated or badly escaped.
bool take_quoted(std::string_view& s, std::string& out, std::string& error) {
  if (s.empty() || s.front() != '"') {
    error = "expected '\"' to open a label value";
    return false;
  }
  s.remove_prefix(1);
  while (!s.empty()) {
    const char c = s.front();
    s.remove_prefix(1);
    if (c == '"') return true;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (s.empty()) break;
    const char e = s.front();
    s.remove_prefix(1);
    switch (e) {
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'n': out += '\n'; break;
      default:
        error = "unknown escape '\\";
        error += e;
        error += "' in a label value";
        return false;
    }
  }
  error = "unterminated label value";
  return false;
}

bool parse_labels(std::string_view& s, Labels& labels, std::string& error) {
  s.remove_prefix(1);  // '{'
  for (;;) {
    skip_blanks(s);
    if (!s.empty() && s.front() == '}') {
      s.remove_prefix(1);
      return true;
    }
    const auto name = take_name(s, true);
    if (name.empty()) {
      error = "expected a label name or '}'";
      return false;
    }
    skip_blanks(s);
    if (s.empty() || s.front() != '=') {
      error = "expected '=' after label '" + std::string(name) + "'";
      return false;
    }
    s.remove_prefix(1);
    skip_blanks(s);
    std::string value;
    if (!take_quoted(s, value, error)) return false;
    for (const auto& [existing, _] : labels) {
      if (existing == name) {
        error = "label '" + std::string(name) + "' given twice";
        return false;
      }
    }
    labels.emplace_back(std::string(name), std::move(value));
    skip_blanks(s);
    if (!s.empty() && s.front() == ',') {
      s.remove_prefix(1);
    } else if (s.empty() || s.front() != '}') {
      error = "expected ',' or '}' after a label value";
      return false;
    }
  }
}

std::string unescape_help(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == 'n')) {
      out += text[i + 1] == 'n' ? '\n' : '\\';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// "# HELP name text", "# TYPE name type"; other comments are ignored.
void parse_comment(std::string_view rest, Exposition& out, std::size_t line_number) {
  rest.remove_prefix(1);  // '#'
  skip_blanks(rest);
  const bool is_help = rest.substr(0, 4) == "HELP";
  const bool is_type = rest.substr(0, 4) == "TYPE";
  if ((!is_help && !is_type) || rest.size() < 5 || !blank(rest[4])) return;
  rest.remove_prefix(4);
  skip_blanks(rest);
  const auto name = take_name(rest, false);
  if (name.empty()) {
    out.errors.push_back({line_number, "expected a metric name after # HELP or # TYPE"});
    return;
  }
  skip_blanks(rest);
  if (is_help) {
    out.help.emplace_back(std::string(name), unescape_help(rest));
    return;
  }
  while (!rest.empty() && blank(rest.back())) rest.remove_suffix(1);
  static constexpr std::string_view kTypes[] = {"counter", "gauge", "histogram", "summary", "untyped"};
  for (const auto t : kTypes) {
    if (rest == t) {
      out.types.emplace_back(std::string(name), std::string(rest));
      return;
    }
  }
  out.errors.push_back({line_number, "unknown metric type '" + std::string(rest) + "'"});
}

}  // namespace

std::optional<std::string_view> Sample::label(std::string_view name) const {
  for (const auto& [n, v] : labels) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string_view> Exposition::type_of(std::string_view family) const {
  for (const auto& [n, t] : types) {
    if (n == family) return std::string_view(t);
  }
  return std::nullopt;
}

std::optional<double> parse_value(std::string_view text) {
  if (text == "NaN" || text == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf" || text == "+inf" || text == "inf")
    return std::numeric_limits<double>::infinity();
  if (text == "-Inf" || text == "-inf") return -std::numeric_limits<double>::infinity();
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || std::isnan(value) || std::isinf(value)) {
    return std::nullopt;  // "nan"/"inf" spellings other than the ones above are not the format's
  }
  return value;
}

Exposition parse_exposition(std::string_view text) {
  Exposition out;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    skip_blanks(line);
    if (line.empty()) continue;
    if (line.front() == '#') {
      parse_comment(line, out, line_number);
      continue;
    }

    Sample sample;
    std::string error;
    const auto name = take_name(line, false);
    if (name.empty()) {
      out.errors.push_back({line_number, "expected a metric name"});
      continue;
    }
    sample.name = name;
    const std::size_t before_blanks = line.size();
    skip_blanks(line);
    bool spaced = line.size() != before_blanks;
    if (!line.empty() && line.front() == '{') {
      if (!parse_labels(line, sample.labels, error)) {
        out.errors.push_back({line_number, error});
        continue;
      }
      spaced = !line.empty() && blank(line.front());
    }
    if (line.empty() || !spaced) {
      out.errors.push_back({line_number, "expected a space, then the value"});
      continue;
    }
    skip_blanks(line);
    const auto value_end = line.find_first_of(" \t");
    const auto value = parse_value(line.substr(0, value_end));
    if (!value) {
      out.errors.push_back({line_number, "bad value '" + std::string(line.substr(0, value_end)) + "'"});
      continue;
    }
    sample.value = *value;
    if (value_end != std::string_view::npos) {
      line.remove_prefix(value_end);
      skip_blanks(line);
      if (!line.empty()) {
        long long ts = 0;
        const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), ts);
        std::string_view after(ptr, static_cast<std::size_t>(line.data() + line.size() - ptr));
        skip_blanks(after);
        if (ec != std::errc{} || !after.empty()) {
          out.errors.push_back({line_number, "bad timestamp '" + std::string(line) + "'"});
          continue;
        }
        sample.timestamp_ms = ts;
      }
    }
    out.samples.push_back(std::move(sample));
  }
  return out;
}

}  // namespace enchufe::stats
