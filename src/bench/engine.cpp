#include "bench/engine.hpp"

#include "bench/report.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "net/text.hpp"

#include "net/asio.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace enchufe::bench {

namespace {
constexpr std::size_t kErrorsKept = 8;
constexpr auto kPoll = std::chrono::milliseconds(20);
}  // namespace

void Tally::add(const Tally& o) {
  requests += o.requests;
  replies += o.replies;
  bytes_out += o.bytes_out;
  bytes_in += o.bytes_in;
  mismatches += o.mismatches;
  io_errors += o.io_errors;
  closed += o.closed;
  unanswered += o.unanswered;
  lost += o.lost;
  late += o.late;
  out_of_order += o.out_of_order;
  gaps += o.gaps;
  foreign += o.foreign;
  server_errors += o.server_errors;
  flood_warnings += o.flood_warnings;
  stalls += o.stalls;
  connect_errors += o.connect_errors;
  handshake_errors += o.handshake_errors;
  deflated += o.deflated;
}

// ---- Worker -------------------------------------------------------------------

Worker::Worker(std::size_t index)
    : scratch(64 * 1024), index_(index), work_(std::in_place, context_.get_executor()), gate_(context_) {
  gate_.expires_at(Clock::time_point::max());
}

void Worker::error(std::string message) {
  Live::bump(live.errors);
  if (errors.size() < kErrorsKept) errors.push_back(std::move(message));
}

void Worker::open_gate() {
  gate_open_ = true;
  gate_.cancel();
}

// ---- Progress -------------------------------------------------------------------

Progress::Progress(bool wanted) : active_(wanted && ::isatty(STDERR_FILENO) == 1) {}

void Progress::show(std::string_view text) {
  if (!active_) return;
  const std::string line = fmt::format("\r{}\x1b[K", text);
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
  shown_ = true;
}

void Progress::clear() {
  if (!active_ || !shown_) return;
  constexpr std::string_view erase = "\r\x1b[K";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, erase.data(), erase.size());
  shown_ = false;
}

// ---- Engine -------------------------------------------------------------------

Engine::Engine(const Options& options) : options_(options), progress_(options.progress) {
  std::size_t threads = options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(i));
  for (auto& w : workers_) {
    w->thread_ = std::thread([w = w.get()] { w->context_.run(); });
  }
}

Engine::~Engine() {
  if (!joined_) {
    // An exception on the main thread: stop everything as fast as possible.
    for (auto& w : workers_) w->context_.stop();
    for (auto& w : workers_) {
      if (w->thread_.joinable()) w->thread_.join();
    }
  }
  owned_.clear();
}

void Engine::post_all(std::function<void(Worker&)> f) {
  for (auto& w : workers_) asio::post(w->context_, [f, w = w.get()] { f(*w); });
}

std::uint64_t Engine::sum(std::atomic<std::uint64_t> Live::*counter) const {
  std::uint64_t n = 0;
  for (const auto& w : workers_) n += (w->live.*counter).load(std::memory_order_acquire);
  return n;
}

std::uint64_t Engine::ready() const { return sum(&Live::ready); }
std::uint64_t Engine::failed() const { return sum(&Live::failed); }

bool Engine::wait_setup(std::uint64_t expected) {
  const auto t0 = Clock::now();
  auto last_shown = t0;
  for (;;) {
    const std::uint64_t ok = ready(), bad = failed();
    if (ok + bad >= expected) return true;
    const auto now = Clock::now();
    if (now - t0 > options_.setup_timeout) return false;
    if (now - last_shown > std::chrono::milliseconds(200)) {
      progress_.show(fmt::format("setting up: {} of {} connections ready{}", ok, expected,
                                 bad ? fmt::format(", {} failed", bad) : std::string()));
      last_shown = now;
    }
    std::this_thread::sleep_for(kPoll);
  }
}

void Engine::start() {
  started_ = Clock::now();
  post_all([](Worker& w) { w.open_gate(); });
}

void Engine::run_load(std::optional<std::chrono::nanoseconds> duration, const std::function<bool()>& done,
                      const std::function<std::string(double)>& status) {
  auto next_show = started_ + std::chrono::seconds(1);
  for (;;) {
    const auto now = Clock::now();
    if (duration && now - started_ >= *duration) break;
    if (done && done()) break;
    if (now >= next_show) {
      progress_.show(status(seconds(now - started_)));
      next_show += std::chrono::seconds(1);
    }
    auto wake = now + kPoll;
    if (duration) wake = std::min(wake, started_ + *duration);
    std::this_thread::sleep_until(wake);
  }
  request_stop();
}

std::function<std::string(double)> Engine::rate_status(std::string what) {
  return [this, what = std::move(what), last_done = std::uint64_t{0}](double elapsed) mutable {
    const std::uint64_t done = sum(&Live::done);
    const std::string rate = per_second(static_cast<double>(done - last_done));
    last_done = done;
    return fmt::format("{:5.1f}s  {} {}  {}/s  errors {}", elapsed, grouped(done), what, rate, sum(&Live::errors));
  };
}

bool Engine::wait_until(const std::function<bool()>& cond, std::chrono::nanoseconds grace) {
  const auto deadline = Clock::now() + grace;
  while (!cond()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void Engine::finish(const std::function<void(Worker&)>& abort) {
  if (joined_) return;
  request_stop();
  for (auto& w : workers_) {
    asio::post(w->context_, [abort, w = w.get()] {
      w->open_gate();  // nobody may stay behind the gate
      if (abort) abort(*w);
      w->work_.reset();
    });
  }
  for (auto& w : workers_) {
    if (w->thread_.joinable()) w->thread_.join();
  }
  joined_ = true;
  progress_.clear();
}

Histogram Engine::merged_latency() const {
  Histogram h;
  for (const auto& w : workers_) h.merge(w->latency);
  return h;
}

Tally Engine::merged_tally() const {
  Tally t;
  for (const auto& w : workers_) t.add(w->tally);
  return t;
}

std::vector<std::string> Engine::merged_errors(std::size_t max) const {
  std::vector<std::string> out;
  for (const auto& w : workers_) {
    for (const auto& e : w->errors) {
      if (out.size() < max) out.push_back(e);
    }
  }
  return out;
}

std::string Engine::tls_agreed() const {
  for (const auto& w : workers_) {
    if (!w->tls_agreed.empty()) return w->tls_agreed;
  }
  return {};
}

// ---- helpers ------------------------------------------------------------------

asio::ip::tcp::endpoint tcp_target(const std::string& host, std::uint16_t port) {
  const auto addresses = net::resolve(host, false);
  asio::io_context ctx;
  error_code ec;
  for (const auto& address : addresses) {
    asio::ip::tcp::socket probe(ctx);
    probe.connect({address, port}, ec);
    if (!ec) return {address, port};
  }
  throw RuntimeError(fmt::format("cannot connect to {}:{}: {}", host, port, ec.message()));
}

asio::ip::udp::endpoint udp_target(const std::string& host, std::uint16_t port) {
  const auto addresses = net::resolve(host, false);
  // Prefer IPv4 when a name gives both: "localhost" servers listen on both.
  for (const auto& address : addresses) {
    if (address.is_v4()) return {address, port};
  }
  return {addresses.front(), port};
}

std::optional<std::uint64_t> vm_rss(std::optional<long> pid) {
  std::ifstream in(pid ? fmt::format("/proc/{}/status", *pid) : std::string("/proc/self/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::uint64_t kb = 0;
      if (std::sscanf(line.c_str() + 6, "%lu", &kb) == 1) return kb * 1024;
    }
  }
  return std::nullopt;
}

std::optional<double> cpu_seconds(std::optional<long> pid) {
  std::ifstream in(pid ? fmt::format("/proc/{}/stat", *pid) : std::string("/proc/self/stat"));
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // After "PID (command) ", whose command may hold spaces and parentheses:
  // fields 3 (state) to 15 (stime).
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  unsigned long utime = 0, stime = 0;
  if (std::sscanf(stat.c_str() + paren + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                  &stime) != 2) {
    return std::nullopt;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string preview(std::string_view bytes) { return net::preview(bytes, 80); }

}  // namespace enchufe::bench
