#pragma once
// The machinery every benchmark mode shares: N worker threads, each running
// its own io_context with its own connections, statistics and latency
// histogram (nothing shared on the hot path, merged at the end), a start
// gate so that the clock starts only once every connection is set up, a stop
// flag, and a progress line on stderr.
//
// A run goes: setup (connect, handshake) -> gate opens, clock starts -> load
// until the duration or count -> stop flag -> connections finish what is in
// flight (bounded by a grace period) -> abort whatever is left -> join.

#include "bench/histogram.hpp"
#include "bench/options.hpp"
#include "net/coroutine.hpp"

#include "net/asio.hpp"

#include <boost/asio/basic_datagram_socket.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace enchufe::bench {

using Clock = std::chrono::steady_clock;
using Executor = asio::io_context::executor_type;
using TcpSocket = asio::basic_stream_socket<asio::ip::tcp, Executor>;
using UdpSocket = asio::basic_datagram_socket<asio::ip::udp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;

inline std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        Clock::now().time_since_epoch())
                                        .count());
}

// Plain counters of one worker, written only by its thread and read by the
// main thread after the join. Every mode uses the ones it needs.
struct Tally {
  std::uint64_t requests = 0;        // requests (or chat lines) sent
  std::uint64_t replies = 0;         // replies (or chat deliveries) received and matched
  std::uint64_t bytes_out = 0, bytes_in = 0;
  std::uint64_t mismatches = 0;      // --check: a reply other than expected
  std::uint64_t io_errors = 0;       // resets, write errors, ICMP errors
  std::uint64_t closed = 0;          // the peer closed a connection we still used
  std::uint64_t unanswered = 0;      // TCP: requests without a reply when the run ended
  std::uint64_t lost = 0;            // UDP: requests unanswered within --timeout
  std::uint64_t late = 0;            // UDP: replies to no request in flight
  std::uint64_t out_of_order = 0;    // fanout: a line older than one already seen
  std::uint64_t gaps = 0;            // fanout: a jump forward in a sender's sequence
  std::uint64_t foreign = 0;         // fanout: stamped lines of another run
  std::uint64_t server_errors = 0;   // chat "error: ..." lines
  std::uint64_t flood_warnings = 0;  // chat "slow down" warnings
  std::uint64_t stalls = 0;          // fanout: a window that did not move for 1 s
  std::uint64_t connect_errors = 0;
  std::uint64_t handshake_errors = 0;  // handshake: TLS handshakes that failed
  std::uint64_t deflated = 0;        // echo --ws --deflate: upgrades that accepted permessage-deflate

  void add(const Tally& o);
};

// Progress counters the main thread reads while the run goes on: each is
// written by one thread only (plain load + store, no locked instruction).
struct alignas(64) Live {
  std::atomic<std::uint64_t> done{0};      // replies / deliveries
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> ready{0};     // connections set up
  std::atomic<std::uint64_t> failed{0};    // connections that could not be set up
  std::atomic<std::uint64_t> finished{0};  // connections whose load is over

  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
};

class Worker {
 public:
  explicit Worker(std::size_t index);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  std::size_t index() const { return index_; }
  asio::io_context& context() { return context_; }
  Executor executor() { return context_.get_executor(); }

  Histogram latency;
  Tally tally;
  Live live;
  // The first few errors, for the report (the error path may allocate).
  void error(std::string message);
  std::vector<std::string> errors;

  // Scratch space for reads whose bytes are thrown away.
  std::vector<char> scratch;

  // --tls: the version and cipher of this worker's first handshake.
  std::string tls_agreed;

  // The start gate: connections wait here after their setup.
  bool gate_open() const { return gate_open_; }
  Timer& gate() { return gate_; }
  void open_gate();

 private:
  friend class Engine;
  std::size_t index_;
  asio::io_context context_{1};
  std::optional<asio::executor_work_guard<Executor>> work_;
  Timer gate_;
  bool gate_open_ = false;
  std::thread thread_;
};

// Live progress on stderr, only when it is a terminal.
class Progress {
 public:
  explicit Progress(bool wanted);
  ~Progress() { clear(); }
  bool active() const { return active_; }
  void show(std::string_view text);
  void clear();

 private:
  bool active_ = false;
  bool shown_ = false;
};

class Engine {
 public:
  explicit Engine(const Options& options);
  ~Engine();  // stops the loops if finish() was not called, joins, then destroys what it owns

  const Options& options() const { return options_; }
  std::size_t size() const { return workers_.size(); }
  Worker& worker(std::size_t i) { return *workers_[i]; }
  std::vector<std::unique_ptr<Worker>>& workers() { return workers_; }

  // Runs f(worker) on every worker's thread.
  void post_all(std::function<void(Worker&)> f);

  // Waits until `expected` connections are ready or failed, showing
  // progress; false if setup_timeout passed first.
  bool wait_setup(std::uint64_t expected);
  std::uint64_t ready() const;
  std::uint64_t failed() const;

  // Opens every gate; the clock starts now.
  void start();
  Clock::time_point started() const { return started_; }

  // The stop flag: connections look at it between requests.
  const std::atomic<bool>& stop_flag() const { return stop_; }
  void request_stop() { stop_.store(true, std::memory_order_relaxed); }

  // Runs the load: returns when `duration` has passed or `done()` holds,
  // showing `status()` every second on the progress line. Then sets the
  // stop flag. Returns the measured time.
  void run_load(std::optional<std::chrono::nanoseconds> duration, const std::function<bool()>& done,
                const std::function<std::string(double elapsed_s)>& status);
  // The usual status for run_load: "  3.0s  12,345 <what>  4.1k/s  errors 0",
  // counting Live::done (the rate is over the last second).
  std::function<std::string(double elapsed_s)> rate_status(std::string what);

  // Waits up to `grace` for `cond()`; false if it did not hold in time.
  bool wait_until(const std::function<bool()>& cond, std::chrono::nanoseconds grace);

  std::uint64_t sum(std::atomic<std::uint64_t> Live::*counter) const;

  // Shows `text` on the progress line (when there is one).
  void show(std::string_view text) { progress_.show(text); }

  // Runs `abort` on every worker (it must close everything the worker runs),
  // lets the loops run out of work and joins the threads. Idempotent.
  void finish(const std::function<void(Worker&)>& abort);

  // Merged results (after finish()).
  Histogram merged_latency() const;
  Tally merged_tally() const;
  std::vector<std::string> merged_errors(std::size_t max = 8) const;
  // The first worker's tls_agreed that is set ("" if none is).
  std::string tls_agreed() const;

  // Keeps `thing` (a mode's connections) alive until the threads are joined
  // and destroys it before the io_contexts it uses.
  template <typename T>
  T& own(T thing) {
    auto p = std::make_shared<T>(std::move(thing));
    owned_.push_back(p);
    return *p;
  }

 private:
  std::vector<std::shared_ptr<void>> owned_;
  Options options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};
  Clock::time_point started_{};
  Progress progress_;
  bool joined_ = false;
};

// ---- helpers ------------------------------------------------------------------

// The address to use for host:port. TCP: the first address that accepts a
// connection (a probe, closed at once); throws RuntimeError "cannot connect
// to ..." when none does. UDP: the first address.
asio::ip::tcp::endpoint tcp_target(const std::string& host, std::uint16_t port);
asio::ip::udp::endpoint udp_target(const std::string& host, std::uint16_t port);

// VmRSS of a process in bytes (/proc/PID/status), or nullopt.
std::optional<std::uint64_t> vm_rss(std::optional<long> pid);
// CPU time a process has used so far, user and system, in seconds
// (/proc/PID/stat; nullopt: this process), or nullopt.
std::optional<double> cpu_seconds(std::optional<long> pid);

// A short escaped preview of bytes for error messages.
std::string preview(std::string_view bytes);

// Starts connect_concurrency / threads connectors per worker; each sets up
// the worker's connections (conns[w.index()]) one after another, c.setup()
// returning whether it worked, and spawns each ready one's c.run().
template <typename Conn>
void start_connections(Engine& engine, std::vector<std::vector<std::unique_ptr<Conn>>>& conns) {
  const std::size_t per_worker = std::max<std::size_t>(1, engine.options().connect_concurrency / engine.size());
  const std::atomic<bool>* stop = &engine.stop_flag();
  engine.post_all([&conns, per_worker, stop](Worker& w) {
    auto& mine = conns[w.index()];
    auto next = std::make_shared<std::size_t>(0);
    for (std::size_t k = 0; k < std::min(per_worker, mine.size()); ++k) {
      net::spawn(w.executor(), [&mine, next, &w, stop]() -> asio::awaitable<void> {
        while (*next < mine.size() && !stop->load(std::memory_order_relaxed)) {
          Conn& c = *mine[(*next)++];
          if (co_await c.setup()) net::spawn(w.executor(), [&c] { return c.run(); });
        }
      });
    }
  });
}

// How long echo, udp and bulk load: --duration, unless --count alone was
// given (then until that many requests are done).
inline std::optional<std::chrono::nanoseconds> load_duration(const Options& o) {
  return (o.count == 0 || o.duration_given) ? std::optional(o.duration) : std::nullopt;
}

// Seconds as a double.
inline double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace enchufe::bench
