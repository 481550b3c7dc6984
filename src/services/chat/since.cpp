#include "services/chat/since.hpp"

#include "net/errors.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

namespace enchufe::services::chat {

namespace {

using Clock = std::chrono::system_clock;
using namespace std::chrono;

// Spans further back, and years outside these, are typos: the history
// cannot hold such lines, and system_clock's nanoseconds reach only the
// 23rd century.
constexpr auto kLongestSpan = days(100 * 366);
constexpr int kFirstYear = 1970, kLastYear = 2200;

UsageError not_a_time(std::string_view typed) {
  return UsageError(fmt::format("--since {}: not a time; give a date (2026-12-01), a UTC time "
                                "(2026-12-01T12:00:00Z) or a span back from now (30m, 1h, 7d)",
                                typed));
}

UsageError no_such_time(std::string_view typed) {
  return UsageError(fmt::format("--since {}: no such date or time (years {} to {}, hours 00-23, minutes 00-59)",
                                typed, kFirstYear, kLastYear));
}

// The ISO form, read left to right: every surprise is not_a_time().
class Reader {
 public:
  explicit Reader(std::string_view typed) : typed_(typed), rest_(typed) {}

  bool done() const { return rest_.empty(); }
  // Takes the next character if it is one of `options`.
  std::optional<char> take(std::string_view options) {
    if (rest_.empty() || options.find(rest_.front()) == std::string_view::npos) return std::nullopt;
    const char c = rest_.front();
    rest_.remove_prefix(1);
    return c;
  }
  void expect(char c) {
    if (!take(std::string_view(&c, 1))) throw not_a_time(typed_);
  }
  // Exactly `n` digits.
  int number(std::size_t n) {
    int value = 0;
    for (std::size_t i = 0; i < n; ++i) value = value * 10 + digit();
    return value;
  }
  // A fraction of a second after its '.': one digit or more, to the millisecond.
  milliseconds fraction() {
    int ms = digit() * 100;
    for (int scale = 10; const auto c = take("0123456789"); scale /= 10) ms += (*c - '0') * scale;
    return milliseconds(ms);
  }

 private:
  int digit() {
    const auto c = take("0123456789");
    if (!c) throw not_a_time(typed_);
    return *c - '0';
  }

  std::string_view typed_, rest_;
};

Clock::time_point parse_moment(std::string_view typed) {
  Reader in(typed);
  const int y = in.number(4);
  in.expect('-');
  const unsigned mo = in.number(2);
  in.expect('-');
  const year_month_day date{year(y), month(mo), day(in.number(2))};
  if (!date.ok() || y < kFirstYear || y > kLastYear) throw no_such_time(typed);
  Clock::duration time_of_day{}, offset{};
  if (in.take("Tt ")) {
    const int h = in.number(2);
    in.expect(':');
    const int mi = in.number(2);
    int s = 0;
    milliseconds fraction{};
    if (in.take(":")) {
      s = in.number(2);
      if (in.take(".")) fraction = in.fraction();
    }
    if (h > 23 || mi > 59 || s > 59) throw no_such_time(typed);
    time_of_day = hours(h) + minutes(mi) + seconds(s) + fraction;
    if (const auto sign = in.take("+-")) {
      const int oh = in.number(2);
      in.expect(':');
      const int om = in.number(2);
      if (oh > 23 || om > 59) throw no_such_time(typed);
      offset = (*sign == '+' ? 1 : -1) * (hours(oh) + minutes(om));
    } else {
      in.take("Zz");
    }
  }
  if (!in.done()) throw not_a_time(typed);
  return sys_days(date) + time_of_day - offset;
}

}  // namespace

std::optional<std::chrono::seconds> span(std::string_view typed) {
  if (typed.size() < 2) return std::nullopt;
  seconds unit;
  switch (typed.back()) {
    case 's': unit = seconds(1); break;
    case 'm': unit = minutes(1); break;
    case 'h': unit = hours(1); break;
    case 'd': unit = days(1); break;
    case 'w': unit = weeks(1); break;
    default: return std::nullopt;
  }
  const char* const end = typed.data() + typed.size() - 1;
  std::uint64_t count = 0;
  const auto [stop, error] = std::from_chars(typed.data(), end, count);
  if (stop != end || error == std::errc::invalid_argument) return std::nullopt;
  if (error == std::errc::result_out_of_range || count > static_cast<std::uint64_t>(seconds::max() / unit)) {
    return seconds::max();
  }
  return unit * static_cast<seconds::rep>(count);
}

Clock::time_point parse_since(std::string_view typed, Clock::time_point now) {
  if (const auto back = span(typed)) {
    if (*back > kLongestSpan) throw UsageError(fmt::format("--since {}: further back than 100 years", typed));
    return now - *back;
  }
  return parse_moment(typed);
}

}  // namespace enchufe::services::chat
