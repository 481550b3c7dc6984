// `bench echo` and `bench bulk`: request/reply over many connections, TCP
// lines (in the clear or, with --tls, over TLS) or (echo --ws) WebSocket
// messages.
//
// Each connection writes `pipeline` requests at once (one write), then reads
// until it has that many replies, parsing them in place from its own
// buffer; the latency of a reply is the time from that write to the read
// that completed the reply. Requests are rendered into a buffer reserved at
// setup, so nothing is allocated per request. Over TLS the connection is
// the same class over a TLS stream: the handshake is part of its set-up,
// before the clock starts.

#include "bench/echo_client.hpp"
#include "bench/engine.hpp"
#include "bench/line_buffer.hpp"
#include "bench/modes.hpp"
#include "bench/text.hpp"
#include "bench/ws_echo.hpp"
#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include "net/asio.hpp"

#include <fmt/format.h>

#include <utility>

namespace enchufe::bench {

namespace {

// A reply line longer than this is an error rather than more memory.
constexpr std::size_t kMaxReplyBuffer = 64u << 20;
// Paced: requests in flight per connection at most, and written at once.
constexpr std::size_t kMaxPacedInFlight = 4096;
constexpr std::uint64_t kMaxPacedBatch = 64;

// Stream: TcpSocket or TlsStream (bench/tls.hpp).
template <typename Stream>
class EchoConn final : public EchoClient {
 public:
  EchoConn(Worker& w, const EchoShared& s, Stream stream, std::uint64_t id, std::uint64_t quota)
      : w_(w), s_(s), id_(id), quota_(quota), stream_(std::move(stream)), writer_(stream_),
        batch_(s.request, id, s.per_conn_rate > 0 ? 1 : s.pipeline), in_(initial_input_bytes(s), kMaxReplyBuffer),
        wake_(w.executor()) {
    if (s.per_conn_rate > 0) {
      due_.resize(kMaxPacedInFlight);
      seq_.resize(kMaxPacedInFlight);
      // Room for a full batch of small requests; large ones grow it once.
      out_.reserve(std::min<std::size_t>(kMaxPacedBatch * s.request.max_length(), 1u << 20));
      expected_.reserve(s.reply_prefix.size() + s.request.max_length());
    }
  }

  asio::awaitable<bool> setup() override {
    if (!co_await connect_to(w_, stream_, s_.target, id_)) co_return false;
    error_code ec;
    socket().non_blocking(true, ec);  // BatchWriter writes what the socket takes at once
    Live::bump(w_.live.ready);
    co_return true;
  }

  asio::awaitable<void> run() override {
    if (!w_.gate_open()) co_await w_.gate().async_wait(net::use_tuple);
    if (s_.per_conn_rate > 0) {
      co_await run_paced();
      co_return;
    }
    while (!s_.stop->load(std::memory_order_relaxed)) {
      std::size_t n = s_.pipeline;
      if (quota_ != 0) {
        if (sent_ >= quota_) break;
        n = static_cast<std::size_t>(std::min<std::uint64_t>(n, quota_ - sent_));
      }
      if (writer_.pending()) co_await writer_.async_wait(net::use_tuple);
      if (writer_.error()) {
        fail_io("write", writer_.error(), 0);
        break;
      }
      batch_.render(n, sent_);
      const std::uint64_t t0 = now_ns();
      if (!write_batch(batch_.bytes(), n)) break;
      sent_ += n;
      if (!co_await read_replies(n, t0)) break;
    }
    if (writer_.pending()) {
      error_code ignored;
      socket().cancel(ignored);
      co_await writer_.async_wait(net::use_tuple);
    }
    error_code ignored;
    socket().close(ignored);
    Live::bump(w_.live.finished);
  }

  void abort() override {
    aborted_ = true;
    error_code ignored;
    socket().close(ignored);
    writer_.abort();
    wake_.cancel();
  }

 private:
  TcpSocket& socket() { return tcp_of(stream_); }

  // ---- paced: requests leave on a schedule, replies are read as they come ----
  //
  // Request k of this connection is due at start + offset + k / rate (the
  // offset spreads connections over one interval). Latency is measured from
  // that due time, not from when the request actually left, so a server (or
  // bench) that falls behind shows up as latency instead of a lower rate.
  // Replies come back in order on a TCP connection: a ring of due times
  // matches them.

  asio::awaitable<void> run_paced() {
    const double interval = 1e9 / s_.per_conn_rate;
    const double offset = interval * static_cast<double>(id_ % s_.connections) / static_cast<double>(s_.connections);
    auto due_at = [&](std::uint64_t k) {
      return s_.start_ns + static_cast<std::uint64_t>(offset + static_cast<double>(k) * interval);
    };
    net::spawn(w_.executor(), [this] { return paced_reader(); });
    while (!aborted_ && !broken_ && !s_.stop->load(std::memory_order_relaxed) && (quota_ == 0 || sent_ < quota_)) {
      const std::uint64_t now = now_ns();
      if (due_at(sent_) > now) {
        wake_.expires_at(Clock::time_point(std::chrono::nanoseconds(due_at(sent_))));
        co_await wake_.async_wait(net::use_tuple);
        continue;
      }
      // Every request due by now, within the ring and the batch.
      std::uint64_t n = static_cast<std::uint64_t>((static_cast<double>(now - s_.start_ns) - offset) / interval) + 1;
      n = n > sent_ ? n - sent_ : 1;
      n = std::min<std::uint64_t>({n, kMaxPacedBatch, due_.size() - in_flight_});
      if (quota_ != 0) n = std::min(n, quota_ - sent_);
      if (n == 0) {
        // The ring is full: the server is that far behind.
        sender_waiting_ = true;
        wake_.expires_at(Clock::time_point::max());
        co_await wake_.async_wait(net::use_tuple);
        sender_waiting_ = false;
        continue;
      }
      if (writer_.pending()) co_await writer_.async_wait(net::use_tuple);
      if (writer_.error()) {
        fail_io("write", writer_.error(), std::exchange(in_flight_, 0));
        broken_ = true;
        break;
      }
      if (aborted_ || broken_) break;
      out_.clear();
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::size_t slot = (head_ + in_flight_) % due_.size();
        due_[slot] = due_at(sent_ + i);
        seq_[slot] = sent_ + i;
        ++in_flight_;
        s_.request.render(out_, id_, sent_ + i);
      }
      if (!write_batch(out_, static_cast<std::size_t>(n))) {
        in_flight_ -= n;  // counted as unanswered by write_batch
        broken_ = true;
        break;
      }
      sent_ += n;
    }
    if (writer_.pending()) co_await writer_.async_wait(net::use_tuple);
    sender_done_ = true;
    // A reader waiting for replies that are all in wakes up to finish.
    if (in_flight_ == 0 && reader_waiting_) {
      error_code ignored;
      socket().cancel(ignored);
    }
  }

  asio::awaitable<void> paced_reader() {
    std::uint64_t arrived = now_ns();
    for (;;) {
      while (const auto line = in_.next_line()) on_paced_reply(*line, arrived);
      if (sender_done_ && in_flight_ == 0) break;
      const auto space = in_.space();
      if (space.size() == 0) {
        reply_too_long();
        break;
      }
      reader_waiting_ = true;
      auto [ec, n] = co_await stream_.async_read_some(space, net::use_tuple);
      reader_waiting_ = false;
      if (ec == asio::error::operation_aborted && sender_done_ && in_flight_ == 0 && !aborted_) break;
      if (ec) {
        fail_io("read", ec, std::exchange(in_flight_, 0));
        break;
      }
      in_.filled(n);
      w_.tally.bytes_in += n;
      arrived = now_ns();
    }
    broken_ = true;  // the sender stops too, if it still runs
    wake_.cancel();
    w_.tally.unanswered += in_flight_;
    // The sender may still be in a write; it sees broken_ and ends.
    if (writer_.pending()) co_await writer_.async_wait(net::use_tuple);
    error_code ignored;
    socket().close(ignored);
    Live::bump(w_.live.finished);
  }

  void on_paced_reply(std::string_view line, std::uint64_t arrived) {
    if (in_flight_ == 0) {
      ++w_.tally.mismatches;
      w_.error(fmt::format("connection {}: a line nobody asked for: {}", id_, preview(line)));
      return;
    }
    const std::size_t slot = head_;
    head_ = (head_ + 1) % due_.size();
    --in_flight_;
    if (sender_waiting_) wake_.cancel();
    w_.latency.record(arrived > due_[slot] ? arrived - due_[slot] : 0);
    ++w_.tally.replies;
    Live::bump(w_.live.done);
    if (!s_.check) return;
    expected_ = s_.reply_prefix;
    s_.request.render(expected_, id_, seq_[slot]);
    if (line == expected_) return;
    ++w_.tally.mismatches;
    w_.error(fmt::format("connection {}: expected {}, got {}", id_, preview(expected_), preview(line)));
  }

  // `n` requests, in `bytes` (which stay put until the write is done).
  bool write_batch(std::string_view bytes, std::size_t n) {
    if (const error_code ec = writer_.write(bytes)) {
      fail_io("write", ec, n);
      return false;
    }
    w_.tally.requests += n;
    w_.tally.bytes_out += bytes.size();
    return true;
  }

  asio::awaitable<bool> read_replies(std::size_t n, std::uint64_t t0) {
    std::size_t got = 0;
    std::uint64_t arrived = now_ns();
    for (;;) {
      // Every complete line in the buffer is a reply.
      while (got < n) {
        const auto line = in_.next_line();
        if (!line) break;
        on_reply(*line, got, arrived - t0);
        ++got;
      }
      if (got == n) break;
      if (writer_.error()) {
        fail_io("write", writer_.error(), n - got);
        co_return false;
      }
      const auto space = in_.space();
      if (space.size() == 0) {
        reply_too_long();
        co_return false;
      }
      auto [ec, got_bytes] = co_await stream_.async_read_some(space, net::use_tuple);
      if (ec) {
        fail_io("read", ec, n - got);
        co_return false;
      }
      in_.filled(got_bytes);
      w_.tally.bytes_in += got_bytes;
      arrived = now_ns();
    }
    w_.tally.replies += n;
    Live::bump(w_.live.done, n);
    co_return true;
  }

  void reply_too_long() {
    ++w_.tally.mismatches;
    w_.error(fmt::format("connection {}: a reply line longer than {}", id_, in_.max()));
  }

  // The input buffer's first size (longer lines grow it, up to
  // kMaxReplyBuffer): closed loop, two pipelines of replies within
  // 16 KiB..4 MiB; paced, 16 KiB.
  static std::size_t initial_input_bytes(const EchoShared& s) {
    if (s.per_conn_rate > 0) return 16 * 1024;
    const std::size_t reply_max = s.reply_prefix.size() + s.request.max_length() + 64;
    return std::clamp<std::size_t>(2 * s.pipeline * reply_max, 16 * 1024, 4u << 20);
  }

  void on_reply(std::string_view line, std::size_t i, std::uint64_t latency) {
    w_.latency.record(latency);
    if (s_.check) check_reply(w_, id_, s_.reply_prefix, batch_.request(i), line);
  }

  void fail_io(std::string_view what, const error_code& ec, std::size_t unanswered) {
    count_failure(w_, id_, aborted_, what, ec, closed_by_peer(ec), "", unanswered);
  }

  Worker& w_;
  const EchoShared& s_;
  std::uint64_t id_;
  std::uint64_t quota_;  // 0: until stopped
  std::uint64_t sent_ = 0;
  Stream stream_;
  BatchWriter<Stream> writer_;
  bool aborted_ = false;
  RequestBatch batch_;  // closed loop
  LineBuffer in_;

  // paced
  Timer wake_;
  std::string out_;                       // the requests due now
  std::vector<std::uint64_t> due_, seq_;  // ring of requests in flight
  std::size_t head_ = 0, in_flight_ = 0;
  bool sender_waiting_ = false, reader_waiting_ = false, sender_done_ = false, broken_ = false;
  std::string expected_;
};

}  // namespace

Outcome run_echo(const Options& o) {
  const bool bulk = o.mode == Mode::bulk;
  if (o.connections == 0) throw UsageError("--connections must be at least 1");
  if (o.pipeline == 0) throw UsageError("--pipeline must be at least 1");
  if (o.rate > 0 && o.pipeline != 1) {
    throw UsageError("--rate paces requests itself; it does not combine with --pipeline");
  }
  if (o.ws) {
    if (bulk) throw UsageError("bulk does not speak WebSocket; echo --ws does");
    if (o.rate > 0) throw UsageError("echo --ws runs closed loop only; --rate is for the TCP mode");
    if (!o.ws_path.starts_with('/')) throw UsageError("echo: --ws-path must start with '/'");
  }
  if (o.deflate && !o.ws) throw UsageError("--deflate goes with --ws");
  if (o.tls && o.ws) throw UsageError("echo: --tls speaks TCP lines over TLS; it does not combine with --ws");
  // A WebSocket message needs no terminator: the frame says where it ends.
  RequestTemplate request(o.request, o.size, !o.ws);
  EchoShared shared{tcp_target(o.host, o.port), std::move(request), o.reply_prefix, o.check, o.pipeline};
  shared.per_conn_rate = o.rate / static_cast<double>(o.connections);
  shared.connections = o.connections;
  shared.ws = o.ws;
  shared.ws_host = net::to_string(shared.target);
  shared.ws_path = o.ws_path;
  shared.deflate = o.deflate;
  Engine engine(o);
  shared.stop = &engine.stop_flag();

  auto* tls = o.tls ? &engine.own(TlsContexts(engine.size())) : nullptr;
  auto& conns = engine.own(std::vector<std::vector<std::unique_ptr<EchoClient>>>(engine.size()));
  for (std::size_t i = 0; i < o.connections; ++i) {
    const std::uint64_t quota = o.count ? share(o.count, o.connections, i) : 0;
    if (o.count && quota == 0) continue;
    Worker& w = engine.worker(i % engine.size());
    std::unique_ptr<EchoClient> c;
    if (o.ws) {
      c = std::make_unique<WsEchoConn>(w, shared, i, quota);
    } else if (tls) {
      c = std::make_unique<EchoConn<TlsStream>>(w, shared, TlsStream(w.executor(), tls->of(w)), i, quota);
    } else {
      c = std::make_unique<EchoConn<TcpSocket>>(w, shared, TcpSocket(w.executor()), i, quota);
    }
    conns[w.index()].push_back(std::move(c));
  }
  const std::string where = o.ws    ? fmt::format("ws://{}{}", shared.ws_host, shared.ws_path)
                            : o.tls ? fmt::format("{} over TLS", net::to_string(shared.target))
                                    : net::to_string(shared.target);
  std::uint64_t total = 0;
  for (auto& c : conns) total += c.size();

  auto abort_all = [&conns](Worker& w) {
    for (auto& c : conns[w.index()]) c->abort();
  };
  start_connections(engine, conns);
  const bool set_up = engine.wait_setup(total);
  const std::uint64_t ready = engine.ready();
  if (!set_up || ready == 0) {
    engine.finish(abort_all);
    Outcome out{Report(mode_name(o.mode)), true};
    out.report.add("target", where, "target");
    out.report.add("connections_ready", ready, "connected", fmt::format("{} of {}", ready, total));
    out.report.samples(engine.merged_errors());
    return out;
  }

  // --pid: the server's CPU time over the load only, not the connecting.
  const auto server_before = o.pid ? cpu_seconds(o.pid) : std::nullopt;
  if (o.pid && !server_before) throw RuntimeError(fmt::format("cannot read /proc/{}/stat", *o.pid));
  shared.start_ns = now_ns();
  engine.start();
  engine.run_load(
      load_duration(o), [&] { return engine.sum(&Live::finished) >= ready; }, engine.rate_status("replies"));
  // In-flight requests get a moment to finish; a stalled server does not
  // hold the report hostage.
  engine.wait_until([&] { return engine.sum(&Live::finished) >= ready; }, std::chrono::seconds(5));
  const auto elapsed = Clock::now() - engine.started();
  const auto server_after = o.pid ? cpu_seconds(o.pid) : std::nullopt;
  engine.finish(abort_all);

  const Tally t = engine.merged_tally();
  const Histogram latency = engine.merged_latency();
  const double secs = seconds(elapsed);
  Outcome out{Report(mode_name(o.mode))};
  Report& r = out.report;
  r.note(fmt::format("enchufe bench {}: {}, {} connection{}, {}, {} thread{}, {:.2f} s", mode_name(o.mode), where,
                     ready, ready == 1 ? "" : "s",
                     o.rate > 0 ? fmt::format("paced at {} requests/s", per_second(o.rate))
                                : fmt::format("pipeline {}", o.pipeline),
                     engine.size(), engine.size() == 1 ? "" : "s", secs));
  r.add("target", net::to_string(shared.target));
  if (o.ws) {
    r.add("protocol", std::string("websocket"));
    r.add("url", where);
    r.add("deflate", o.deflate, o.deflate ? "deflate" : "",
          fmt::format("permessage-deflate offered, accepted on {} of {} connections", t.deflated, ready));
    r.add("deflate_accepted", t.deflated);
  }
  if (o.tls) report_tls(r, engine);
  r.add("connections", ready);
  r.add("pipeline", std::uint64_t{o.pipeline});
  r.add("rate", o.rate);
  r.add("threads", std::uint64_t{engine.size()});
  r.add("duration_s", secs);
  r.add("requests", t.requests, "requests", grouped(t.requests));
  r.add("replies", t.replies, "replies", fmt::format("{}  ({}/s)", grouped(t.replies), per_second(t.replies / secs)));
  r.add("replies_per_s", t.replies / secs);
  if (server_before && server_after) {
    const double cpu = *server_after - *server_before;
    const double per_request_us = t.replies ? cpu / static_cast<double>(t.replies) * 1e6 : 0.0;
    r.add("server_cpu_s", cpu, fmt::format("CPU of pid {}", *o.pid),
          fmt::format("{:.2f} s  ({:.3f} µs per reply)", cpu, per_request_us));
    r.add("server_cpu_us_per_reply", per_request_us);
  }
  r.add("bytes_sent", t.bytes_out, "sent", fmt::format("{}  ({}/s)", bytes(t.bytes_out), bytes(t.bytes_out / secs)));
  r.add("bytes_received", t.bytes_in, "received",
        fmt::format("{}  ({}/s)", bytes(t.bytes_in), bytes(t.bytes_in / secs)));
  r.add("mb_per_s_sent", t.bytes_out / secs / 1e6);
  r.add("mb_per_s_received", t.bytes_in / secs / 1e6);
  if (bulk) {
    r.add("mb_per_s", std::min(t.bytes_out, t.bytes_in) / secs / 1e6, "throughput",
          fmt::format("{:.1f} MB/s each way ({:.1f} MB/s out, {:.1f} MB/s in)",
                      std::min(t.bytes_out, t.bytes_in) / secs / 1e6, t.bytes_out / secs / 1e6,
                      t.bytes_in / secs / 1e6));
  }
  const std::uint64_t errors = t.io_errors + t.closed + t.connect_errors + t.mismatches;
  r.add("errors", errors, "errors",
        errors == 0 ? "0"
                    : fmt::format("{}  (connect {}, closed by server {}, i/o {}, mismatched replies {})", errors,
                                  t.connect_errors, t.closed, t.io_errors, t.mismatches));
  r.add("connect_errors", t.connect_errors);
  r.add("closed_by_server", t.closed);
  r.add("io_errors", t.io_errors);
  r.add("mismatches", t.mismatches);
  r.add("unanswered", t.unanswered, t.unanswered ? "unanswered" : "", grouped(t.unanswered));
  r.add("checked", o.check, "checked", o.check ? "every reply compared with the request" : "no (--check compares)");
  r.latency(latency, "latency_us", o.rate > 0 ? "latency (from due time)" : "latency");
  r.samples(engine.merged_errors());
  out.failed = o.check && (errors != 0 || t.unanswered != 0 || t.replies == 0);
  return out;
}

}  // namespace enchufe::bench
