#include "bench/text.hpp"

#include "net/errors.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace enchufe::bench {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A non-negative decimal number with an optional fraction; the rest of the
// text (the unit) goes to `unit`.
std::optional<double> leading_number(std::string_view text, std::string_view& unit) {
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc() || ptr != text.data() + i || !std::isfinite(value)) return std::nullopt;
  unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return value;
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

template <typename T>
bool parse_field(std::string_view& text, std::string_view key, T& value) {
  if (text.substr(0, key.size()) != key) return false;
  text.remove_prefix(key.size());
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return false;
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return true;
}

}  // namespace

std::string decode_escapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 == text.size()) throw UsageError("a lone '\\' at the end of the text; write '\\\\' for a backslash");
    const char e = text[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case 'x': {
        const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) throw UsageError("'\\x' takes two hex digits, as in \\x1b");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        throw UsageError(fmt::format("unknown escape '\\{}' (known: \\n \\r \\t \\0 \\\\ \\xHH)", e));
    }
  }
  return out;
}

std::uint64_t parse_size(std::string_view text) {
  std::string_view unit;
  const auto value = leading_number(text, unit);
  if (!value) throw UsageError(fmt::format("'{}' is not a size (e.g. 100, 64KiB, 1M)", text));
  std::uint64_t scale = 0;
  if (unit.empty() || iequals(unit, "b")) {
    scale = 1;
  } else {
    const char prefix = lower(unit.front());
    const std::string_view rest = unit.substr(1);
    if (!(rest.empty() || iequals(rest, "b") || iequals(rest, "i") || iequals(rest, "ib"))) scale = 0;
    else if (prefix == 'k') scale = std::uint64_t{1} << 10;
    else if (prefix == 'm') scale = std::uint64_t{1} << 20;
    else if (prefix == 'g') scale = std::uint64_t{1} << 30;
  }
  if (scale == 0) throw UsageError(fmt::format("'{}': unknown size unit '{}' (use K, M or G)", text, unit));
  const double bytes = *value * static_cast<double>(scale);
  if (bytes >= 18e18 || bytes != std::floor(bytes)) {
    throw UsageError(fmt::format("'{}' is not a whole number of bytes", text));
  }
  return static_cast<std::uint64_t>(bytes);
}

std::chrono::nanoseconds parse_duration(std::string_view text) {
  std::string_view unit;
  const auto value = leading_number(text, unit);
  if (!value) throw UsageError(fmt::format("'{}' is not a duration (e.g. 5, 1.5s, 500ms, 2m, 1h, 30d)", text));
  double ns_per_unit = 0;
  if (unit.empty() || unit == "s") ns_per_unit = 1e9;
  else if (unit == "ms") ns_per_unit = 1e6;
  else if (unit == "us") ns_per_unit = 1e3;
  else if (unit == "m" || unit == "min") ns_per_unit = 60e9;
  else if (unit == "h") ns_per_unit = 3600e9;
  else if (unit == "d") ns_per_unit = 86400e9;
  else throw UsageError(fmt::format("'{}': unknown time unit '{}' (use s, ms, us, m, h or d)", text, unit));
  const double ns = *value * ns_per_unit;
  if (ns < 1 || ns > 1e18) throw UsageError(fmt::format("'{}': the duration must be above zero", text));
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

// ---- request template -------------------------------------------------------

RequestTemplate::RequestTemplate(std::string_view text, std::size_t size, bool line_terminated) : size_(size) {
  if (line_terminated) {
    if (text.ends_with("\r\n")) {
      terminator_ = "\r\n";
    } else {
      terminator_ = "\n";
    }
    if (text.ends_with('\n')) text.remove_suffix(terminator_.size());
    if (text.find('\n') != std::string_view::npos) {
      throw UsageError("the request may hold one line only (a '\\n' only at its end)");
    }
  }
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) pieces_.push_back({Kind::literal, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i, 3) == "{c}") {
      flush();
      pieces_.push_back({Kind::conn, {}});
      uses_conn_ = true;
      i += 2;
    } else if (text.substr(i, 3) == "{n}") {
      flush();
      pieces_.push_back({Kind::seq, {}});
      uses_seq_ = true;
      i += 2;
    } else {
      literal += text[i];
    }
  }
  flush();
}

void RequestTemplate::render(std::string& out, std::uint64_t conn, std::uint64_t seq) const {
  const std::size_t start = out.size();
  for (const auto& p : pieces_) {
    switch (p.kind) {
      case Kind::literal: out += p.text; break;
      case Kind::conn: append_number(out, conn); break;
      case Kind::seq: append_number(out, seq); break;
    }
  }
  const std::size_t length = out.size() - start + terminator_.size();
  if (size_ > length) out.append(size_ - length, 'x');
  out += terminator_;
}

std::size_t RequestTemplate::max_length() const {
  std::size_t n = terminator_.size();
  for (const auto& p : pieces_) n += p.kind == Kind::literal ? p.text.size() : 20;
  return std::max(n, size_);
}

std::string RequestTemplate::stem(std::uint64_t conn) const {
  std::string out;
  for (const auto& p : pieces_) {
    if (p.kind == Kind::seq) break;
    if (p.kind == Kind::literal) out += p.text;
    if (p.kind == Kind::conn) append_number(out, conn);
  }
  return out;
}

std::optional<std::uint64_t> seq_after(std::string_view reply, std::string_view stem) {
  const std::size_t at = reply.find(stem);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view digits = reply.substr(at + stem.size());
  std::uint64_t seq = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc() || ptr == digits.data()) return std::nullopt;
  return seq;
}

// ---- chat fanout ------------------------------------------------------------

void format_stamp_line(std::string& out, const Stamp& s, std::size_t size) {
  const std::size_t start = out.size();
  out += "t=";
  append_number(out, s.t);
  out += " s=";
  append_number(out, s.sender);
  out += " n=";
  append_number(out, s.seq);
  out += " r=";
  append_number(out, s.run);
  const std::size_t length = out.size() - start + 1;
  if (size > length + 1) {
    out += ' ';
    out.append(size - length - 1, 'x');
  }
  out += '\n';
}

std::size_t max_stamp_line(std::size_t size) { return std::max<std::size_t>(2 + 20 + 3 + 10 + 3 + 20 + 3 + 10 + 1, size); }

std::optional<Stamp> parse_stamp(std::string_view text) {
  Stamp s;
  if (!parse_field(text, "t=", s.t)) return std::nullopt;
  if (!parse_field(text, " s=", s.sender)) return std::nullopt;
  if (!parse_field(text, " n=", s.seq)) return std::nullopt;
  if (!parse_field(text, " r=", s.run)) return std::nullopt;
  if (!text.empty() && text.front() != ' ') return std::nullopt;
  return s;
}

std::optional<ChatMessage> parse_chat_message(std::string_view line) {
  // "[HH:MM:SS] " is 11 bytes; then "<nick> ".
  if (line.size() < 14 || line[0] != '[' || line[9] != ']' || line[10] != ' ' || line[11] != '<') {
    return std::nullopt;
  }
  line.remove_prefix(12);
  const std::size_t end = line.find("> ");
  if (end == std::string_view::npos || end == 0) return std::nullopt;
  return ChatMessage{line.substr(0, end), line.substr(end + 2)};
}

}  // namespace enchufe::bench
