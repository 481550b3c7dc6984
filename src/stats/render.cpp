#include "stats/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace enchufe::stats {

std::string format_rate(double v) {
  if (!std::isfinite(v)) return "?";
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a < 1000) return fmt::format("{:.1f}", v);
  if (a < 1e6) return fmt::format("{:.1f}k", v / 1e3);
  if (a < 1e9) return fmt::format("{:.1f}M", v / 1e6);
  return fmt::format("{:.1f}G", v / 1e9);
}

std::string format_count(double v) {
  if (!std::isfinite(v)) return "?";
  return fmt::format("{:.0f}", v);
}

std::string format_latency(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 1e-3) return fmt::format("{:.0f}us", s * 1e6);
  if (s < 1) return fmt::format("{:.2f}ms", s * 1e3);
  return fmt::format("{:.2f}s", s);
}

std::string format_uptime(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<long long>(s);
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  if (t < 86400) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  return fmt::format("{}d{:02}h", t / 86400, (t % 86400) / 3600);
}

namespace {

class Block {
 public:
  explicit Block(bool terminal) : terminal_(terminal) {
    if (terminal_) out_ = "\x1b[H";  // cursor home: redraw in place, no flicker
  }
  template <typename... Args>
  void line(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out_), f, std::forward<Args>(args)...);
    if (terminal_) out_ += "\x1b[K";  // clear what an older, longer line left
    out_ += '\n';
  }
  std::string finish() {
    if (terminal_) {
      out_ += "\x1b[J";  // and whatever an older, longer view left below
    } else {
      out_ += '\n';
    }
    return std::move(out_);
  }

 private:
  bool terminal_;
  std::string out_;
};

}  // namespace

std::string render(const View& view, const RenderOptions& options) {
  Block b(options.terminal);
  b.line("enchufe stats: {} at {}{}", options.source, options.clock,
         view.uptime_seconds ? fmt::format("; server up {}", format_uptime(*view.uptime_seconds)) : std::string());
  if (view.since_start) {
    b.line("per second: averages since the server started (the next views cover each interval)");
  } else {
    b.line("per second over the last {:.1f} s{}", view.seconds,
           view.counters_reset ? " (the server restarted: counting from its start)" : "");
  }
  if (view.services.empty()) {
    b.line("");
    b.line("no enchufe services in this scrape");
    return b.finish();
  }

  std::size_t w = 10;  // the service column
  for (const auto& s : view.services) w = std::max(w, s.name.size() + 2);
  const auto p = [](const std::optional<LatencyEstimate>& v) {
    if (!v) return std::string("-");
    switch (v->kind) {
      case LatencyEstimate::Kind::at_most: return "<=" + format_latency(v->seconds);
      case LatencyEstimate::Kind::above: return ">" + format_latency(v->seconds);
      case LatencyEstimate::Kind::within: break;
    }
    return format_latency(v->seconds);
  };

  b.line("");
  b.line("{:<{}}{:>7}{:>8}{:>11}{:>11}{:>11}{:>11}{:>8}{:>9}{:>9}", "service", w, "conn/s", "active", "msg in/s",
         "msg out/s", "B in/s", "B out/s", "errors", "p50", "p99");
  for (const auto& s : view.services) {
    b.line("{:<{}}{:>7}{:>8}{:>11}{:>11}{:>11}{:>11}{:>8}{:>9}{:>9}", s.name, w,
           s.udp ? "-" : format_rate(s.connections), s.udp ? "-" : format_count(s.active), format_rate(s.messages_in),
           format_rate(s.messages_out), format_rate(s.bytes_in), format_rate(s.bytes_out),
           format_count(s.errors_recent), p(s.p50), p(s.p99));
  }

  b.line("");
  b.line("{:<{}}{:>10}{:>9}{:>10}{:>10}{:>12}{:>12}{:>8}", "totals", w, "accepted", "refused", "msgs in", "msgs out",
         "bytes in", "bytes out", "errors");
  for (const auto& s : view.services) {
    b.line("{:<{}}{:>10}{:>9}{:>10}{:>10}{:>12}{:>12}{:>8}", s.name, w, s.udp ? "-" : format_count(s.accepted_total),
           s.udp ? "-" : format_count(s.refused_total), format_count(s.messages_in_total),
           format_count(s.messages_out_total), format_count(s.bytes_in_total), format_count(s.bytes_out_total),
           format_count(s.errors_total));
  }

  bool blank_done = false;
  const auto note = [&](const std::string& text) {
    if (!blank_done) b.line("");
    blank_done = true;
    b.line("{}", text);
  };
  for (const auto& s : view.services) {
    if (s.errors.empty()) continue;
    std::string text = fmt::format("errors: {}", s.name);
    for (std::size_t i = 0; i < s.errors.size(); ++i) {
      const auto& e = s.errors[i];
      fmt::format_to(std::back_inserter(text), "{} {} {}", i == 0 ? "" : ",", e.kind, format_count(e.total));
      if (e.recent > 0) fmt::format_to(std::back_inserter(text), " (+{})", format_count(e.recent));
    }
    note(text);
  }
  for (const auto& s : view.services) {
    if (s.dropped > 0)
      note(fmt::format("dropped: {} {} replies/s the socket could not take", s.name, format_rate(s.dropped)));
  }
  if (view.chat_rooms) {
    std::string text = fmt::format("chat: {} room{}", format_count(*view.chat_rooms), *view.chat_rooms == 1 ? "" : "s");
    for (std::size_t i = 0; i < view.room_members.size(); ++i) {
      const auto& [room, members] = view.room_members[i];
      fmt::format_to(std::back_inserter(text), "{}{} {}", i == 0 ? "; members: " : ", ", room, format_count(members));
    }
    note(text);
  }
  return b.finish();
}

}  // namespace enchufe::stats
