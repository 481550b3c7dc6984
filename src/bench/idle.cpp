// `bench idle`: open many connections, hold them, count how many stayed
// open, and (with --pid) how much memory each cost the server.
//
// A held connection waits for readability only; whatever the server sends
// (a chat welcome) is read into the worker's scratch buffer and thrown
// away, so a connection costs the bench a socket and a coroutine frame.

#include "bench/engine.hpp"
#include "bench/modes.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include <fmt/format.h>

namespace enchufe::bench {

namespace {

class IdleConn {
 public:
  IdleConn(Worker& w, const asio::ip::tcp::endpoint& target, std::uint64_t id)
      : w_(w), target_(target), id_(id), socket_(w.executor()) {}

  asio::awaitable<bool> setup() {
    auto [ec] = co_await socket_.async_connect(target_, net::use_tuple);
    if (ec) {
      ++w_.tally.connect_errors;
      if (!aborted_) w_.error(fmt::format("connection {}: connect: {}", id_, ec.message()));
      Live::bump(w_.live.failed);
      co_return false;
    }
    socket_.non_blocking(true, ec);
    Live::bump(w_.live.ready);
    co_return true;
  }

  asio::awaitable<void> run() {
    std::size_t last = 0;
    for (;;) {
      auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_read, net::use_tuple);
      if (ec) break;  // aborted at the end of the hold
      for (;;) {
        const std::size_t n = socket_.read_some(asio::buffer(w_.scratch), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) {
          if (!aborted_) {
            ++w_.tally.closed;
            w_.error(fmt::format("connection {}: {} by the server{}", id_,
                                 ec == asio::error::eof ? "closed" : ec.message(),
                                 last ? fmt::format(" after {}", preview({w_.scratch.data(), last})) : ""));
          }
          Live::bump(w_.live.finished);
          co_return;
        }
        w_.tally.bytes_in += n;
        last = n;
      }
    }
    Live::bump(w_.live.finished);
  }

  void abort() {
    aborted_ = true;
    error_code ignored;
    socket_.close(ignored);
  }

 private:
  Worker& w_;
  const asio::ip::tcp::endpoint& target_;
  std::uint64_t id_;
  TcpSocket socket_;
  bool aborted_ = false;
};

}  // namespace

Outcome run_idle(const Options& o) {
  const auto target = tcp_target(o.host, o.port);
  // 0: not measured (no --pid).
  const std::uint64_t server_before = o.pid ? vm_rss(o.pid).value_or(0) : 0;
  if (o.pid && server_before == 0) throw RuntimeError(fmt::format("cannot read /proc/{}/status", *o.pid));
  const auto self_before = vm_rss(std::nullopt);

  Engine engine(o);
  auto& conns = engine.own(std::vector<std::vector<std::unique_ptr<IdleConn>>>(engine.size()));
  for (std::size_t i = 0; i < o.connections; ++i) {
    const std::size_t wi = i % engine.size();
    conns[wi].push_back(std::make_unique<IdleConn>(engine.worker(wi), target, i));
  }
  auto abort_all = [&conns](Worker& w) {
    for (auto& c : conns[w.index()]) c->abort();
  };

  const auto t0 = Clock::now();
  start_connections(engine, conns);
  const bool complete = engine.wait_setup(o.connections);
  const auto setup_time = Clock::now() - t0;
  const std::uint64_t opened = engine.ready();
  engine.start();
  engine.run_load(o.duration, nullptr, [&](double elapsed) {
    return fmt::format("{:5.1f}s  holding {} of {} connections  closed by server {}", elapsed,
                       grouped(opened - engine.sum(&Live::finished)), grouped(opened),
                       grouped(engine.sum(&Live::finished)));
  });
  // Measured while every connection is still open.
  const std::uint64_t server_after = o.pid ? vm_rss(o.pid).value_or(0) : 0;
  const auto self_after = vm_rss(std::nullopt);
  const std::uint64_t closed_early = engine.sum(&Live::finished);
  const std::uint64_t held = opened - closed_early;
  engine.finish(abort_all);

  const Tally t = engine.merged_tally();
  Outcome out{Report("idle")};
  Report& r = out.report;
  r.note(fmt::format("enchufe bench idle: {}, {} connections held for {:.1f} s, {} thread{}", net::to_string(target),
                     grouped(held), seconds(o.duration), engine.size(), engine.size() == 1 ? "" : "s"));
  r.add("target", net::to_string(target));
  r.add("threads", std::uint64_t{engine.size()});
  r.add("requested", std::uint64_t{o.connections}, "requested", grouped(o.connections));
  r.add("opened", opened, "opened",
        fmt::format("{}  in {:.2f} s ({}/s){}", grouped(opened), seconds(setup_time),
                    per_second(opened / seconds(setup_time)), complete ? "" : "  (setup timed out)"));
  r.add("connect_errors", t.connect_errors, "connect errors", grouped(t.connect_errors));
  r.add("closed_by_server", closed_early, "closed by server", grouped(closed_early));
  r.add("held", held, "held to the end", grouped(held));
  r.add("hold_s", seconds(o.duration));
  r.add("setup_s", seconds(setup_time));
  r.add("bytes_received", t.bytes_in);
  if (server_before && server_after) {
    const double per = held ? (static_cast<double>(server_after) - static_cast<double>(server_before)) / held : 0;
    r.add("server_rss_before", server_before, "server VmRSS before", bytes(server_before));
    r.add("server_rss_after", server_after, "server VmRSS after", bytes(server_after));
    r.add("server_bytes_per_connection", per, "server per connection", fmt::format("{:.0f} B", per));
  }
  if (self_before && self_after && held) {
    const double per = (static_cast<double>(*self_after) - static_cast<double>(*self_before)) / held;
    r.add("bench_bytes_per_connection", per, "bench per connection", fmt::format("{:.0f} B", per));
  }
  r.samples(engine.merged_errors());
  out.failed = held == 0;
  return out;
}

}  // namespace enchufe::bench
