// `bench udp`: datagram request/reply with loss counting.
//
// Each socket (connected to the server) keeps up to `pipeline` requests in
// flight, each in a slot with its send time and text. A reply is matched to
// its slot by the sequence number it carries (the number after the request's
// text before {n}); with one request in flight any reply answers it. A
// request unanswered for --timeout is lost; a reply to no slot in flight is
// late. A per-worker watchdog wakes sockets whose oldest request expired.

#include "bench/engine.hpp"
#include "bench/modes.hpp"
#include "bench/text.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include <fmt/format.h>

namespace enchufe::bench {

namespace {

struct UdpShared {
  asio::ip::udp::endpoint target;
  RequestTemplate request;
  std::string reply_prefix;
  bool check = false;
  std::size_t pipeline = 1;
  std::uint64_t timeout_ns = 0;
  const std::atomic<bool>* stop = nullptr;
};

class UdpConn {
 public:
  UdpConn(Worker& w, const UdpShared& s, std::uint64_t id, std::uint64_t quota)
      : w_(w), s_(s), id_(id), quota_(quota), socket_(w.executor()), stem_(s.request.stem(id)),
        slots_(s.pipeline), in_(64 * 1024) {
    for (auto& slot : slots_) slot.text.reserve(s.request.max_length());
  }

  asio::awaitable<bool> setup() {
    error_code ec;
    socket_.open(s_.target.protocol(), ec);
    if (!ec) socket_.connect(s_.target, ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (ec) {
      ++w_.tally.connect_errors;
      w_.error(fmt::format("socket {}: {}", id_, ec.message()));
      Live::bump(w_.live.failed);
      co_return false;
    }
    Live::bump(w_.live.ready);
    co_return true;
  }

  asio::awaitable<void> run() {
    if (!w_.gate_open()) co_await w_.gate().async_wait(net::use_tuple);
    for (;;) {
      const bool stopping = aborted_ || s_.stop->load(std::memory_order_relaxed);
      while (!stopping && in_flight_ < slots_.size() && (quota_ == 0 || seq_ < quota_)) {
        if (!send_one()) break;
      }
      if (in_flight_ == 0) break;
      if (aborted_) break;
      // Completes through the loop's queue even when a datagram is there
      // already, so every socket of the thread gets its turn.
      waiting_ = true;
      auto [ec, n] = co_await socket_.async_receive(asio::buffer(in_), net::use_tuple);
      waiting_ = false;
      if (ec == asio::error::operation_aborted) {
        expire(now_ns());  // the watchdog: the oldest request timed out
        continue;
      }
      if (ec) {
        // ICMP port unreachable and the like: nothing listens.
        ++w_.tally.io_errors;
        w_.error(fmt::format("socket {}: receive: {}", id_, ec.message()));
        expire(now_ns());
        continue;
      }
      w_.tally.bytes_in += n;
      const std::uint64_t now = now_ns();
      on_reply(std::string_view(in_.data(), n), now);
      expire(now);
    }
    w_.tally.unanswered += in_flight_;
    error_code ignored;
    socket_.close(ignored);
    Live::bump(w_.live.finished);
  }

  // For the watchdog: the oldest request in flight has expired while this
  // socket waits; cancel the wait so run() expires it.
  void poke(std::uint64_t now) {
    if (!waiting_ || in_flight_ == 0 || oldest_sent() + s_.timeout_ns > now) return;
    error_code ignored;
    socket_.cancel(ignored);
  }

  void abort() {
    aborted_ = true;
    error_code ignored;
    socket_.close(ignored);
  }

 private:
  struct Slot {
    bool used = false;
    std::uint64_t seq = 0;
    std::uint64_t sent = 0;
    std::string text;
  };

  bool send_one() {
    Slot* slot = nullptr;
    for (auto& candidate : slots_) {
      if (!candidate.used) {
        slot = &candidate;
        break;
      }
    }
    slot->text.clear();
    s_.request.render(slot->text, id_, seq_);
    error_code ec;
    socket_.send(asio::buffer(slot->text), 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::no_buffer_space) {
      // The socket's buffer is full: the datagram is gone, as on a network.
      ec = {};
    } else if (ec) {
      ++w_.tally.io_errors;
      w_.error(fmt::format("socket {}: send: {}", id_, ec.message()));
    }
    slot->used = true;
    slot->seq = seq_++;
    slot->sent = now_ns();
    ++in_flight_;
    ++w_.tally.requests;
    w_.tally.bytes_out += slot->text.size();
    return !ec;
  }

  std::uint64_t oldest_sent() const {
    std::uint64_t oldest = UINT64_MAX;
    for (const auto& slot : slots_) {
      if (slot.used && slot.sent < oldest) oldest = slot.sent;
    }
    return oldest;
  }

  void expire(std::uint64_t now) {
    for (auto& slot : slots_) {
      if (slot.used && slot.sent + s_.timeout_ns <= now) {
        slot.used = false;
        --in_flight_;
        ++w_.tally.lost;
      }
    }
  }

  void on_reply(std::string_view reply, std::uint64_t now) {
    Slot* slot = nullptr;
    if (s_.request.uses_seq()) {
      if (auto seq = seq_after(reply, stem_)) {
        for (auto& candidate : slots_) {
          if (candidate.used && candidate.seq == *seq) slot = &candidate;
        }
      }
    }
    if (!slot && slots_.size() == 1 && slots_[0].used) slot = &slots_[0];
    if (!slot) {
      ++w_.tally.late;
      return;
    }
    slot->used = false;
    --in_flight_;
    ++w_.tally.replies;
    Live::bump(w_.live.done);
    w_.latency.record(now - slot->sent);
    if (!s_.check) return;
    const std::string_view prefix = s_.reply_prefix;
    if (reply.size() == prefix.size() + slot->text.size() && reply.starts_with(prefix) &&
        reply.substr(prefix.size()) == slot->text) {
      return;
    }
    ++w_.tally.mismatches;
    w_.error(fmt::format("socket {}: sent {}, got {}", id_, preview(slot->text), preview(reply)));
  }

  Worker& w_;
  const UdpShared& s_;
  std::uint64_t id_;
  std::uint64_t quota_;
  UdpSocket socket_;
  std::string stem_;
  std::vector<Slot> slots_;
  std::size_t in_flight_ = 0;
  std::uint64_t seq_ = 0;
  std::vector<char> in_;
  bool waiting_ = false;
  bool aborted_ = false;
};

// Wakes this worker's sockets whose oldest request has expired, a few times
// per timeout, until the run is over.
struct Watchdog {
  explicit Watchdog(Worker& w) : timer(w.executor()) {}
  Timer timer;
  bool over = false;  // the run is over (set on the worker's thread)
};

asio::awaitable<void> watchdog(std::vector<std::unique_ptr<UdpConn>>& conns, Watchdog& dog, std::uint64_t timeout_ns) {
  const auto period = std::chrono::nanoseconds(std::max<std::uint64_t>(timeout_ns / 4, 1'000'000));
  auto& timer = dog.timer;
  while (!dog.over) {
    timer.expires_after(period);
    co_await timer.async_wait(net::use_tuple);
    const std::uint64_t now = now_ns();
    for (auto& c : conns) c->poke(now);
  }
}

}  // namespace

Outcome run_udp(const Options& o) {
  if (o.connections == 0) throw UsageError("--connections must be at least 1");
  RequestTemplate request(o.request, o.size, false);
  if (o.pipeline > 1 && !request.uses_seq()) {
    throw UsageError("udp: --pipeline above 1 needs {n} in --request, to match replies to requests");
  }
  UdpShared shared{udp_target(o.host, o.port), std::move(request), o.reply_prefix, o.check, o.pipeline,
                   static_cast<std::uint64_t>(o.timeout.count())};
  Engine engine(o);
  shared.stop = &engine.stop_flag();
  auto& conns = engine.own(std::vector<std::vector<std::unique_ptr<UdpConn>>>(engine.size()));
  for (std::size_t i = 0; i < o.connections; ++i) {
    const std::uint64_t quota = o.count ? share(o.count, o.connections, i) : 0;
    if (o.count && quota == 0) continue;
    const std::size_t wi = i % engine.size();
    conns[wi].push_back(std::make_unique<UdpConn>(engine.worker(wi), shared, i, quota));
  }
  std::uint64_t total = 0;
  for (auto& c : conns) total += c.size();
  auto& dogs = engine.own(std::vector<std::unique_ptr<Watchdog>>());
  for (std::size_t i = 0; i < engine.size(); ++i) dogs.push_back(std::make_unique<Watchdog>(engine.worker(i)));
  auto abort_all = [&](Worker& w) {
    dogs[w.index()]->over = true;
    dogs[w.index()]->timer.cancel();
    for (auto& c : conns[w.index()]) c->abort();
  };
  start_connections(engine, conns);
  engine.post_all([&](Worker& w) {
    net::spawn(w.executor(), [&w, &conns, &dogs, &shared] {
      return watchdog(conns[w.index()], *dogs[w.index()], shared.timeout_ns);
    });
  });
  engine.wait_setup(total);
  const std::uint64_t ready = engine.ready();
  if (ready == 0) {
    engine.finish(abort_all);
    Outcome out{Report("udp"), true};
    out.report.add("target", net::to_string(shared.target), "target");
    out.report.samples(engine.merged_errors());
    return out;
  }

  engine.start();
  engine.run_load(
      load_duration(o), [&] { return engine.sum(&Live::finished) >= ready; }, engine.rate_status("replies"));
  const auto stopped = Clock::now();
  // Requests in flight get their --timeout to be answered.
  engine.wait_until([&] { return engine.sum(&Live::finished) >= ready; }, o.timeout + std::chrono::seconds(1));
  engine.finish(abort_all);

  const Tally t = engine.merged_tally();
  const Histogram latency = engine.merged_latency();
  const double secs = seconds(stopped - engine.started());
  Outcome out{Report("udp")};
  Report& r = out.report;
  r.note(fmt::format("enchufe bench udp: {}, {} socket{}, {} in flight each, {} thread{}, {:.2f} s",
                     net::to_string(shared.target), ready, ready == 1 ? "" : "s", o.pipeline, engine.size(),
                     engine.size() == 1 ? "" : "s", secs));
  r.add("target", net::to_string(shared.target));
  r.add("sockets", ready);
  r.add("pipeline", std::uint64_t{o.pipeline});
  r.add("threads", std::uint64_t{engine.size()});
  r.add("duration_s", secs);
  r.add("timeout_ms", seconds(o.timeout) * 1000);
  r.add("requests", t.requests, "requests", grouped(t.requests));
  r.add("replies", t.replies, "replies", fmt::format("{}  ({}/s)", grouped(t.replies), per_second(t.replies / secs)));
  r.add("replies_per_s", t.replies / secs);
  const double loss = t.requests ? 100.0 * static_cast<double>(t.lost) / static_cast<double>(t.requests) : 0;
  r.add("lost", t.lost, "lost", fmt::format("{}  ({:.3f}%, unanswered within {})", grouped(t.lost), loss,
                                            nanos(static_cast<double>(o.timeout.count()))));
  r.add("loss_percent", loss);
  r.add("late", t.late, t.late ? "late replies" : "", grouped(t.late));
  r.add("bytes_sent", t.bytes_out, "sent", fmt::format("{}  ({}/s)", bytes(t.bytes_out), bytes(t.bytes_out / secs)));
  r.add("bytes_received", t.bytes_in, "received",
        fmt::format("{}  ({}/s)", bytes(t.bytes_in), bytes(t.bytes_in / secs)));
  const std::uint64_t errors = t.io_errors + t.connect_errors + t.mismatches;
  r.add("errors", errors, "errors",
        errors == 0 ? "0"
                    : fmt::format("{}  (socket {}, i/o {}, mismatched replies {})", errors, t.connect_errors,
                                  t.io_errors, t.mismatches));
  r.add("io_errors", t.io_errors);
  r.add("mismatches", t.mismatches);
  r.add("unanswered", t.unanswered);
  r.add("checked", o.check, "checked", o.check ? "every reply compared with the request" : "no (--check compares)");
  r.latency(latency);
  r.samples(engine.merged_errors());
  out.failed = o.check && (errors != 0 || t.lost != 0 || t.late != 0 || t.replies == 0);
  return out;
}

}  // namespace enchufe::bench
