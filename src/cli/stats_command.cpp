// `enchufe stats HOST:PORT`: a live view of a server's --metrics endpoint,
// like top. The work is in src/stats (parsing, rates, percentiles, the text);
// this file only loops: fetch, compute, print, sleep.

#include "cli/commands.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "stats/http.hpp"
#include "stats/prometheus.hpp"
#include "stats/rates.hpp"
#include "stats/render.hpp"
#include "stats/snapshot.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>

namespace enchufe::cli {

namespace {

struct StatsArgs {
  std::string target, port;
  double interval_s = 1.0;
  std::size_t count = 0;
  double timeout_s = 2.0;
  bool plain = false;
};

std::string utc_clock(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:02}:{:02}:{:02} UTC", utc.tm_hour, utc.tm_min, utc.tm_sec);
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int run_stats(const StatsArgs& a) {
  stats::FetchOptions fetch;
  const auto server = net::parse_server_address(a.target, a.port);
  fetch.host = server.host;
  fetch.port = server.port;
  fetch.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_s * 1000));
  const std::string url = stats::url_of(fetch);
  const bool terminal = !a.plain && ::isatty(STDOUT_FILENO) == 1;
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(a.interval_s));

  std::optional<stats::Snapshot> previous;
  std::chrono::steady_clock::time_point previous_at;
  auto next = std::chrono::steady_clock::now();
  for (std::size_t shown = 0; a.count == 0 || shown < a.count; ++shown) {
    if (shown > 0) {
      next += interval;
      std::this_thread::sleep_until(next);
    }
    std::string body;
    try {
      body = stats::fetch(fetch);
    } catch (const RuntimeError& e) {
      if (previous) throw RuntimeError(fmt::format("{} (it answered before; did the server stop?)", e.what()));
      throw RuntimeError(fmt::format("{} (is a server running with --metrics {}:{}?)", e.what(),
                                     fetch.host.find(':') != std::string::npos ? "[" + fetch.host + "]" : fetch.host,
                                     fetch.port));
    }
    const auto at = std::chrono::steady_clock::now();
    const auto exposition = stats::parse_exposition(body);
    if (exposition.samples.empty()) {
      throw RuntimeError(exposition.errors.empty()
                             ? fmt::format("{} has no metrics", url)
                             : fmt::format("{} is not Prometheus text: line {}: {}", url,
                                           exposition.errors.front().line, exposition.errors.front().message));
    }
    auto snapshot = stats::make_snapshot(exposition);
    const double seconds = previous ? std::chrono::duration<double>(at - previous_at).count() : 0.0;
    const auto view = stats::compute_view(snapshot, previous ? &*previous : nullptr, seconds);
    std::string text = stats::render(view, {url, utc_clock(std::chrono::system_clock::now()), terminal});
    if (terminal && shown == 0) text.insert(0, "\x1b[2J");  // a clean screen to redraw on
    print(text);
    previous = std::move(snapshot);
    previous_at = at;
  }
  return 0;
}

}  // namespace

void add_stats_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<StatsArgs>();
  auto& a = *args;
  auto* cmd =
      app.add_subcommand("stats", "Live view of a server's --metrics endpoint: rates, latency, errors (like top)");
  cmd->add_option("host", a.target, "Host of the metrics endpoint, or HOST:PORT, or [IPv6]:PORT")->required();
  cmd->add_option("port", a.port, "Port (when not given with the host)");
  cmd->add_option("-i,--interval", a.interval_s, "Seconds between refreshes")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  cmd->add_option("-n,--count", a.count, "Stop after this many refreshes (0: until Ctrl-C)")->capture_default_str();
  cmd->add_option("--timeout", a.timeout_s, "Seconds to wait for each scrape")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  cmd->add_flag("--plain", a.plain, "One text block per refresh even on a terminal (the default for pipes)");
  cmd->footer(
      "The first view shows averages since the server started; each later one, the last\n"
      "interval: connections, messages and bytes per second, active connections, errors,\n"
      "and p50/p99 reply latency estimated from the histogram's buckets.\n"
      "Examples:\n"
      "  enchufe serve all --metrics localhost:9100 &\n"
      "  enchufe stats localhost:9100\n"
      "  enchufe stats localhost 9100 --interval 5\n"
      "  enchufe stats localhost:9100 --count 3 > stats.txt    # plain text, three blocks");
  cmd->callback([&action, args] {
    action = [args] { return run_stats(*args); };
  });
}

}  // namespace enchufe::cli
