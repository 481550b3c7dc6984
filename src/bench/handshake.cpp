// `bench handshake`: full TLS handshakes per second.
//
// Each of --connections clients loops: connect, a full handshake on a fresh
// SSL (the client keeps no session, so nothing is resumed), --request if
// given, then the server's first bytes (greet's greeting: proof that the
// server finished its side of the handshake too, which TLS 1.3 does not
// give the client by itself), close. The latency of one is that whole
// exchange, from connect to first bytes.
//
// What a handshake costs shows twice: handshakes/s, and with --pid the
// server's CPU time per handshake. The second holds even when the bench is
// what limits the rate (a TLS 1.3 client checks a signature, which costs
// more than the server's making it): the bench's own CPU use says when it
// did.

#include "bench/engine.hpp"
#include "bench/modes.hpp"
#include "bench/report.hpp"
#include "bench/tls.hpp"
#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include "net/asio.hpp"

#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <optional>

namespace enchufe::bench {

namespace {

struct HandshakeShared {
  asio::ip::tcp::endpoint target;
  std::string request;  // sent after the handshake, unless empty
  bool wait_reply = true;
  std::chrono::nanoseconds timeout{};
  const std::atomic<bool>* stop = nullptr;
};

class Handshaker {
 public:
  Handshaker(Worker& w, const HandshakeShared& s, asio::ssl::context& context, std::uint64_t id)
      : w_(w), s_(s), context_(context), id_(id), deadline_(w.executor()) {}

  // Nothing to set up: every handshake connects anew.
  asio::awaitable<bool> setup() {
    Live::bump(w_.live.ready);
    co_return true;
  }

  asio::awaitable<void> run() {
    if (!w_.gate_open()) co_await w_.gate().async_wait(net::use_tuple);
    net::spawn(w_.executor(), [this] { return watch(); });
    while (!aborted_ && !s_.stop->load(std::memory_order_relaxed)) co_await once();
    ended_ = true;
    deadline_.cancel();
    Live::bump(w_.live.finished);
  }

  void abort() {
    aborted_ = true;
    deadline_.cancel();
    close();
  }

 private:
  enum class Step { connect, handshake, request, reply };

  TcpSocket& socket() { return tcp_of(*stream_); }

  void close() {
    error_code ignored;
    if (stream_) socket().close(ignored);
  }

  asio::awaitable<void> once() {
    stream_.emplace(w_.executor(), context_);  // a fresh SSL: nothing to resume
    started_ = Clock::now();
    busy_ = true;
    timed_out_ = false;
    const std::uint64_t t0 = now_ns();
    Step step = Step::connect;
    auto [ec] = co_await socket().async_connect(s_.target, net::use_tuple);
    if (!ec) {
      error_code ignored;
      socket().set_option(asio::ip::tcp::no_delay(true), ignored);
      step = Step::handshake;
      ec = co_await tls_handshake(*stream_);
    }
    if (!ec && !s_.request.empty()) {
      step = Step::request;
      auto [wec, n] = co_await asio::async_write(*stream_, asio::buffer(s_.request), net::use_tuple);
      ec = wec;
      w_.tally.bytes_out += n;
    }
    if (!ec && s_.wait_reply) {
      step = Step::reply;
      auto [rec, n] = co_await stream_->async_read_some(asio::buffer(w_.scratch), net::use_tuple);
      ec = rec;
      w_.tally.bytes_in += n;
    }
    busy_ = false;
    if (ec) {
      failed(step, ec);
    } else {
      w_.latency.record(now_ns() - t0);
      ++w_.tally.replies;
      Live::bump(w_.live.done);
      if (w_.tls_agreed.empty()) w_.tls_agreed = tls_agreed(*stream_);
    }
    close();
  }

  void failed(Step step, const error_code& ec) {
    if (aborted_) return;  // the end of the run, not the server's doing
    const std::string why =
        timed_out_ ? fmt::format("nothing within {}", nanos(static_cast<double>(s_.timeout.count()))) : ec.message();
    switch (step) {
      case Step::connect:
        ++w_.tally.connect_errors;
        w_.error(fmt::format("connection {}: connect: {}", id_, why));
        break;
      case Step::handshake:
        ++w_.tally.handshake_errors;
        w_.error(fmt::format("connection {}: TLS handshake: {}", id_, why));
        break;
      case Step::request:
        ++w_.tally.io_errors;
        w_.error(fmt::format("connection {}: write: {}", id_, why));
        break;
      case Step::reply:
        if (!timed_out_ && closed_by_peer(ec)) {
          ++w_.tally.closed;
          w_.error(fmt::format("connection {}: closed by the server before sending anything", id_));
        } else {
          ++w_.tally.io_errors;
          w_.error(fmt::format("connection {}: waiting for the server's first bytes: {}", id_, why));
        }
        break;
    }
  }

  // Ends a connection that has taken longer than --timeout (closing its
  // socket fails whatever it waits for). The timer is set when it fires,
  // for the deadline of the connection then under way, not per handshake.
  asio::awaitable<void> watch() {
    while (!ended_ && !aborted_) {
      deadline_.expires_at(busy_ ? started_ + s_.timeout : Clock::now() + s_.timeout);
      auto [ec] = co_await deadline_.async_wait(net::use_tuple);
      if (ec) break;  // the run is over
      if (busy_ && Clock::now() - started_ >= s_.timeout) {
        timed_out_ = true;
        close();
      }
    }
  }

  Worker& w_;
  const HandshakeShared& s_;
  asio::ssl::context& context_;
  std::uint64_t id_;
  std::optional<TlsStream> stream_;
  Timer deadline_;
  Clock::time_point started_{};
  bool busy_ = false, timed_out_ = false, aborted_ = false, ended_ = false;
};

}  // namespace

Outcome run_handshake(const Options& o) {
  if (o.connections == 0) throw UsageError("--connections must be at least 1");
  HandshakeShared shared{tcp_target(o.host, o.port), o.request, o.wait_reply, o.timeout};
  const auto server_before = o.pid ? cpu_seconds(o.pid) : std::nullopt;
  if (o.pid && !server_before) throw RuntimeError(fmt::format("cannot read /proc/{}/stat", *o.pid));
  const auto self_before = cpu_seconds(std::nullopt);

  Engine engine(o);
  shared.stop = &engine.stop_flag();
  auto& tls = engine.own(TlsContexts(engine.size()));
  auto& conns = engine.own(std::vector<std::vector<std::unique_ptr<Handshaker>>>(engine.size()));
  for (std::size_t i = 0; i < o.connections; ++i) {
    Worker& w = engine.worker(i % engine.size());
    conns[w.index()].push_back(std::make_unique<Handshaker>(w, shared, tls.of(w), i));
  }
  auto abort_all = [&conns](Worker& w) {
    for (auto& c : conns[w.index()]) c->abort();
  };
  start_connections(engine, conns);
  engine.wait_setup(o.connections);
  engine.start();
  engine.run_load(o.duration, nullptr, engine.rate_status("handshakes"));
  // Handshakes under way finish (each is bounded by --timeout).
  engine.wait_until([&] { return engine.sum(&Live::finished) >= o.connections; }, o.timeout);
  const auto elapsed = Clock::now() - engine.started();
  const auto server_after = o.pid ? cpu_seconds(o.pid) : std::nullopt;
  const auto self_after = cpu_seconds(std::nullopt);
  engine.finish(abort_all);

  const Tally t = engine.merged_tally();
  const double secs = seconds(elapsed);
  const std::uint64_t done = t.replies;
  Outcome out{Report("handshake")};
  Report& r = out.report;
  r.note(fmt::format("enchufe bench handshake: {}, {} connection{} at a time, {} thread{}, {:.2f} s",
                     net::to_string(shared.target), o.connections, o.connections == 1 ? "" : "s", engine.size(),
                     engine.size() == 1 ? "" : "s", secs));
  r.add("target", net::to_string(shared.target));
  report_tls(r, engine);
  r.add("connections", std::uint64_t{o.connections});
  r.add("threads", std::uint64_t{engine.size()});
  r.add("duration_s", secs);
  r.add("handshakes", done, "handshakes", fmt::format("{}  ({}/s)", grouped(done), per_second(done / secs)));
  r.add("handshakes_per_s", done / secs);
  r.add("waited_for_reply", o.wait_reply, "each connection",
        o.wait_reply ? fmt::format("closed after {}the server's first bytes", o.request.empty() ? "" : "--request and ")
                     : std::string("closed right after the handshake (--no-wait)"));
  r.add("bytes_received", t.bytes_in);
  const std::uint64_t errors = t.connect_errors + t.handshake_errors + t.closed + t.io_errors;
  r.add("errors", errors, "errors",
        errors == 0 ? "0"
                    : fmt::format("{}  (connect {}, handshake {}, closed by server {}, i/o {})", errors,
                                  t.connect_errors, t.handshake_errors, t.closed, t.io_errors));
  r.add("connect_errors", t.connect_errors);
  r.add("handshake_errors", t.handshake_errors);
  r.add("closed_by_server", t.closed);
  r.add("io_errors", t.io_errors);
  if (self_before && self_after) {
    const double busy = (*self_after - *self_before) / secs / static_cast<double>(engine.size());
    r.add("bench_cpu", busy, "bench CPU",
          fmt::format("{:.0f}% of its {} thread{}{}", busy * 100, engine.size(), engine.size() == 1 ? "" : "s",
                      busy > 0.9 ? " (the bench may be what limits the rate)" : ""));
  }
  if (server_before && server_after) {
    const double cpu = *server_after - *server_before;
    r.add("server_cpu_s", cpu);
    r.add("server_cpu_us_per_handshake", done ? cpu * 1e6 / static_cast<double>(done) : 0.0,
          "server CPU per handshake",
          done ? fmt::format("{}  ({:.2f} s in all, {:.0f}% of a core)", nanos(cpu * 1e9 / static_cast<double>(done)),
                             cpu, cpu / secs * 100)
               : std::string("n/a"));
  }
  r.latency(engine.merged_latency(), "latency_us", o.wait_reply ? "connect to first bytes" : "connect and handshake");
  r.samples(engine.merged_errors());
  out.failed = done == 0;
  return out;
}

}  // namespace enchufe::bench
