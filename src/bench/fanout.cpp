// `bench fanout`: M receivers and S senders in one chat room.
//
// Every client first takes a nickname ("/nick b<run>-r<i>"), joins the room
// and waits for the server's "* you are <nick> now" and "* you are in <room>
// now". Once all are in, senders send lines "t=<ns> s=<sender> n=<seq>
// r=<run>" and every receiver parses each "[HH:MM:SS] <nick> text" it gets:
// latency from the embedded send time, and per sender: order, gaps, count.
// When the senders stop, receivers keep reading until every line sent has
// arrived everywhere (or --drain passes); what never came is missing, and a
// line no receiver got was dropped by the server (flood control).
//
// Pacing: with --rate, each sender sends on a fixed schedule and stamps each
// line with its *scheduled* time, so a late bench or server shows up as
// latency instead of silently sending less (no coordinated omission).
// Without --rate the loop is closed: a sender keeps --window lines in flight,
// acknowledged by a "witness" receiver on the same thread (no cross-thread
// signalling on the hot path).
//
// With --redis the same load runs against Redis pub/sub, the reference the
// chat is compared with: receivers SUBSCRIBE to the room, senders PUBLISH
// the same stamped text to it. A Redis delivery arrives as several RESP
// lines; only the payload line carries a stamp, the others are skipped.

#include "bench/engine.hpp"
#include "bench/line_buffer.hpp"
#include "bench/modes.hpp"
#include "bench/text.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include "net/asio.hpp"

#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <random>

namespace enchufe::bench {

namespace {

constexpr std::size_t kMaxBatch = 64;            // lines a rate-paced sender writes at once
constexpr std::size_t kMaxLineBuffer = 1u << 20;  // a longer line from the server is an error
constexpr auto kStallTimeout = std::chrono::seconds(1);

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct FanoutShared {
  asio::ip::tcp::endpoint target;
  std::string room;         // as typed, without a leading '#'
  bool general = true;      // the lobby: no /join needed
  bool redis = false;       // Redis pub/sub instead of the chat protocol
  std::uint32_t run = 0;
  std::size_t receivers = 0, senders = 0;
  std::size_t size = 0;
  bool check = false;
  double per_sender_rate = 0;  // lines/s; 0: closed loop
  std::size_t window = 16;
  std::vector<std::string> sender_nicks;
  const std::atomic<bool>* stop = nullptr;
  std::uint64_t start_ns = 0;  // set before the gates open

  // Written by each sender's thread when it stops, before senders_done.
  std::unique_ptr<std::atomic<std::uint64_t>[]> sent;
  std::atomic<std::size_t> senders_done{0};
};

class ChatConn;

// Per worker: the closed loop's acknowledgements.
struct FanoutWorker {
  std::vector<std::uint64_t> acked;         // per sender: lines the witness has seen
  std::vector<ChatConn*> local_senders;     // per sender: the sender, if on this worker
  ChatConn* witness = nullptr;
};

class ChatConn {
 public:
  ChatConn(Worker& w, FanoutShared& s, FanoutWorker& fw, bool sender, std::size_t index, std::string nick)
      : w_(w), s_(s), fw_(fw), sender_(sender), index_(index), nick_(std::move(nick)), socket_(w.executor()),
        wake_(w.executor()), write_done_(w.executor()), in_(16 * 1024, kMaxLineBuffer) {
    if (!sender) {
      next_seq_.assign(s.senders, 0);
      received_.assign(s.senders, 0);
    } else {
      out_.reserve(std::max(kMaxBatch, s.window) * max_stamp_line(s.size));
    }
  }

  bool sender() const { return sender_; }
  const std::vector<std::uint64_t>& received() const { return received_; }
  void make_witness() { witness_ = true; }

  asio::awaitable<bool> setup() {
    auto [ec] = co_await socket_.async_connect(s_.target, net::use_tuple);
    if (ec) {
      ++w_.tally.connect_errors;
      if (!aborted_) w_.error(fmt::format("{}: connect: {}", nick_, ec.message()));
      Live::bump(w_.live.failed);
      co_return false;
    }
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    socket_.non_blocking(true, ec);
    const bool ready = s_.redis ? co_await redis_setup() : co_await chat_setup();
    if (!ready) {
      if (!aborted_ && w_.errors.empty()) w_.error(fmt::format("{}: the server closed during set-up", nick_));
      ++w_.tally.connect_errors;
      Live::bump(w_.live.failed);
      co_return false;
    }
    Live::bump(w_.live.ready);
    co_return true;
  }

  asio::awaitable<void> run() {
    if (sender_) net::spawn(w_.executor(), [this] { return send_loop(); });
    std::string_view line;
    while (co_await next_line(line)) on_line(line);
    if (!aborted_) {
      ++w_.tally.closed;
      w_.error(fmt::format("{}: connection closed by the server", nick_));
    }
  }

  // The witness saw more of this sender's lines: wake it if it waits.
  void acked() {
    if (waiting_ && sent_ - std::max(fw_.acked[index_], floor_) < s_.window) wake_.cancel();
  }

  void abort() {
    aborted_ = true;
    error_code ignored;
    socket_.close(ignored);
    wake_.cancel();
    write_done_.cancel();
  }

 private:
  // Takes the nickname and joins the room; true once the server confirmed both.
  asio::awaitable<bool> chat_setup() {
    std::string hello = fmt::format("/nick {}\n", nick_);
    if (!s_.general) hello += fmt::format("/join {}\n", s_.room);
    auto [wec, n] = co_await asio::async_write(socket_, asio::buffer(hello), net::use_tuple);
    const std::string nick_ok = fmt::format("* you are {} now", nick_);
    const std::string room_prefix = "* you are in ";
    const std::string room_folded = lowercase(s_.room);
    bool have_nick = false, have_room = false;
    while (!wec && !(have_nick && have_room)) {
      std::string_view line;
      if (!co_await next_line(line)) break;
      if (line == nick_ok) {
        have_nick = true;
      } else if (line.starts_with(room_prefix)) {
        const std::string_view rest = line.substr(room_prefix.size());
        if (lowercase(rest.substr(0, rest.find(' '))) == room_folded) have_room = true;
      } else if (line.starts_with("error: ") || line.starts_with("* disconnected")) {
        if (!aborted_) w_.error(fmt::format("{}: setting up: {}", nick_, preview(line)));
        break;
      }
    }
    co_return have_nick && have_room;
  }

  // Redis: a receiver subscribes to the room, a sender checks the server
  // answers PING. The replies are known line by line, so anything else (an
  // error, or a server that does not speak RESP) fails at once.
  asio::awaitable<bool> redis_setup() {
    const std::string hello = sender_ ? std::string("PING\r\n") : fmt::format("SUBSCRIBE {}\r\n", s_.room);
    const std::vector<std::string> expected =
        sender_ ? std::vector<std::string>{"+PONG"}
                : std::vector<std::string>{"*3", "$9", "subscribe", fmt::format("${}", s_.room.size()), s_.room, ":1"};
    auto [wec, n] = co_await asio::async_write(socket_, asio::buffer(hello), net::use_tuple);
    if (wec) co_return false;
    for (const std::string& want : expected) {
      std::string_view line;
      if (!co_await next_line(line)) co_return false;
      if (line != want) {
        if (!aborted_) w_.error(fmt::format("{}: not the Redis reply expected ({}): {}", nick_, want, preview(line)));
        co_return false;
      }
    }
    co_return true;
  }

  // The next line (without "\n"), reading as needed; false at EOF or error.
  // The view stays valid until the next call.
  asio::awaitable<bool> next_line(std::string_view& line) {
    for (;;) {
      if (const auto next = in_.next_line()) {
        line = *next;
        line.remove_suffix(1);  // the '\n'
        if (line.ends_with('\r')) line.remove_suffix(1);
        co_return true;
      }
      const auto space = in_.space();
      if (space.size() == 0) {
        if (!aborted_) w_.error(fmt::format("{}: a line longer than {} bytes", nick_, kMaxLineBuffer));
        co_return false;
      }
      // async_read_some reads at once when it can, but always completes
      // through the loop's queue: a socket that always has more cannot
      // starve the others of its thread (they would fall behind and be cut
      // as too slow).
      auto [ec, n] = co_await socket_.async_read_some(space, net::use_tuple);
      if (ec) {
        if (!aborted_ && ec != asio::error::eof) {
          ++w_.tally.io_errors;
          w_.error(fmt::format("{}: read: {}", nick_, ec.message()));
        }
        co_return false;
      }
      in_.filled(n);
      w_.tally.bytes_in += n;
      now_ = now_ns();
    }
  }

  void on_line(std::string_view line) {
    std::string_view text = line, nick;
    if (s_.redis) {
      if (line.starts_with('-')) {
        ++w_.tally.server_errors;
        w_.error(fmt::format("{}: {}", nick_, preview(line)));
        return;
      }
    } else {
      const auto message = parse_chat_message(line);
      if (!message) {
        server_line(line);
        return;
      }
      text = message->text;
      nick = message->nick;
    }
    if (sender_) return;  // senders hear each other (Redis: PUBLISH's counts); only receivers count
    const auto stamp = parse_stamp(text);
    if (!stamp) return;  // someone else talking in the room, or RESP framing
    if (stamp->run != s_.run) {
      ++w_.tally.foreign;
      return;
    }
    if (stamp->sender >= s_.senders) {
      ++w_.tally.mismatches;
      w_.error(fmt::format("{}: a line from sender {} of {}: {}", nick_, stamp->sender, s_.senders, preview(line)));
      return;
    }
    const std::uint32_t from = stamp->sender;
    if (s_.check && !s_.redis && nick != s_.sender_nicks[from]) {
      ++w_.tally.mismatches;
      w_.error(fmt::format("{}: sender {}'s line came from <{}>: {}", nick_, from, nick, preview(line)));
    }
    w_.latency.record(now_ > stamp->t ? now_ - stamp->t : 0);
    std::uint64_t& next = next_seq_[from];
    if (stamp->seq != next) {
      if (stamp->seq > next) {
        ++w_.tally.gaps;
      } else {
        ++w_.tally.out_of_order;
        if (s_.check) {
          w_.error(fmt::format("{}: sender {}'s line {} after line {}", nick_, from, stamp->seq, next - 1));
        }
      }
    }
    if (stamp->seq >= next) next = stamp->seq + 1;
    ++received_[from];
    ++w_.tally.replies;
    Live::bump(w_.live.done);
    if (witness_) {
      fw_.acked[from] = std::max(fw_.acked[from], stamp->seq + 1);
      if (ChatConn* sender = fw_.local_senders[from]) sender->acked();
    }
  }

  // Lines from the server itself: notices, warnings, errors.
  void server_line(std::string_view line) {
    if (line.starts_with("error: slow down")) {
      ++w_.tally.flood_warnings;
      if (w_.tally.flood_warnings == 1) w_.error(fmt::format("{}: {}", nick_, preview(line)));
    } else if (line.starts_with("error: ") || line.starts_with("* disconnected")) {
      ++w_.tally.server_errors;
      w_.error(fmt::format("{}: {}", nick_, preview(line)));
    }
  }

  asio::awaitable<void> send_loop() {
    if (!w_.gate_open()) co_await w_.gate().async_wait(net::use_tuple);
    const std::uint64_t start = s_.start_ns;
    const double rate = s_.per_sender_rate;
    while (!aborted_ && !s_.stop->load(std::memory_order_relaxed)) {
      std::size_t n = 0;
      const std::uint64_t now = now_ns();
      if (rate > 0) {
        // Lines due by now: the first at the start, then one every 1/rate s.
        const auto due = static_cast<std::uint64_t>(static_cast<double>(now - start) * 1e-9 * rate) + 1;
        if (due <= sent_) {
          const auto next = start + static_cast<std::uint64_t>(static_cast<double>(sent_) / rate * 1e9);
          wake_.expires_at(Clock::time_point(std::chrono::nanoseconds(next)));
          co_await wake_.async_wait(net::use_tuple);
          continue;
        }
        n = static_cast<std::size_t>(std::min<std::uint64_t>(due - sent_, kMaxBatch));
      } else {
        const std::uint64_t in_flight = sent_ - std::max(fw_.acked[index_], floor_);
        if (in_flight >= s_.window) {
          waiting_ = true;
          wake_.expires_after(kStallTimeout);
          auto [ec] = co_await wake_.async_wait(net::use_tuple);
          waiting_ = false;
          if (!ec) {
            // Nothing acknowledged for a second (lines dropped, or the
            // witness is gone): count it and open the window again.
            ++w_.tally.stalls;
            floor_ = sent_;
          }
          continue;
        }
        n = static_cast<std::size_t>(s_.window - in_flight);
      }
      if (write_pending_) co_await write_done_.async_wait(net::use_tuple);
      if (write_error_ || aborted_) break;
      out_.clear();
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t t =
            rate > 0 ? start + static_cast<std::uint64_t>(static_cast<double>(sent_ + i) / rate * 1e9) : now;
        const Stamp stamp{t, static_cast<std::uint32_t>(index_), sent_ + i, s_.run};
        if (s_.redis) {
          append_publish(stamp);
        } else {
          format_stamp_line(out_, stamp, s_.size);
        }
      }
      if (!write_out()) break;
      sent_ += n;
      w_.tally.requests += n;
    }
    if (write_pending_) co_await write_done_.async_wait(net::use_tuple);
    s_.sent[index_].store(sent_, std::memory_order_relaxed);
    s_.senders_done.fetch_add(1, std::memory_order_release);
  }

  // PUBLISH <room> <stamped text> as a RESP array (the text has spaces, so
  // not as an inline command).
  void append_publish(const Stamp& stamp) {
    line_.clear();
    format_stamp_line(line_, stamp, s_.size);
    line_.pop_back();  // the "\n": the RESP framing ends the payload
    fmt::format_to(std::back_inserter(out_), "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{}\r\n${}\r\n{}\r\n", s_.room.size(),
                   s_.room, line_.size(), line_);
  }

  bool write_out() {
    std::size_t off = 0;
    error_code ec;
    while (off < out_.size()) {
      const std::size_t n = socket_.write_some(asio::buffer(out_.data() + off, out_.size() - off), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        if (!aborted_) {
          ++w_.tally.io_errors;
          w_.error(fmt::format("{}: write: {}", nick_, ec.message()));
        }
        return false;
      }
      off += n;
    }
    w_.tally.bytes_out += out_.size();
    if (off < out_.size()) {
      write_pending_ = true;
      write_done_.expires_at(Clock::time_point::max());
      asio::async_write(socket_, asio::buffer(out_.data() + off, out_.size() - off),
                        [this](error_code ec, std::size_t) {
                          write_pending_ = false;
                          if (ec && !aborted_) {
                            write_error_ = ec;
                            ++w_.tally.io_errors;
                            w_.error(fmt::format("{}: write: {}", nick_, ec.message()));
                          }
                          write_done_.cancel();
                        });
    }
    return true;
  }

  Worker& w_;
  FanoutShared& s_;
  FanoutWorker& fw_;
  bool sender_;
  std::size_t index_;  // among senders, or among receivers
  std::string nick_;
  TcpSocket socket_;
  Timer wake_;
  Timer write_done_;
  bool aborted_ = false;
  bool witness_ = false;

  LineBuffer in_;
  std::uint64_t now_ = 0;  // when the bytes being parsed arrived

  // receiver
  std::vector<std::uint64_t> next_seq_, received_;

  // sender
  std::string out_;
  std::string line_;  // --redis: one payload, before its framing
  std::uint64_t sent_ = 0;
  std::uint64_t floor_ = 0;  // closed loop: acknowledged by a stall
  bool waiting_ = false;
  bool write_pending_ = false;
  error_code write_error_;
};

}  // namespace

Outcome run_fanout(const Options& o) {
  if (o.receivers == 0 || o.senders == 0) throw UsageError("fanout needs at least one receiver and one sender");
  if (o.size > 4096) throw UsageError("fanout: --size above 4 KiB is over the chat server's line limit");
  FanoutShared s;
  s.target = tcp_target(o.host, o.port);
  s.room = std::string(o.room.starts_with('#') ? std::string_view(o.room).substr(1) : std::string_view(o.room));
  if (s.room.empty()) throw UsageError("fanout: --room must not be empty");
  s.general = lowercase(s.room) == "general";
  s.redis = o.redis;
  s.run = std::random_device{}() & 0xffffff;
  s.receivers = o.receivers;
  s.senders = o.senders;
  s.size = o.size;
  s.check = o.check;
  s.per_sender_rate = o.rate / static_cast<double>(o.senders);
  s.window = o.window;
  s.sent = std::make_unique<std::atomic<std::uint64_t>[]>(o.senders);
  const std::string base = fmt::format("b{:06x}-", s.run);
  for (std::size_t i = 0; i < o.senders; ++i) s.sender_nicks.push_back(fmt::format("{}s{}", base, i));

  Engine engine(o);
  s.stop = &engine.stop_flag();
  auto& fws = engine.own(std::vector<FanoutWorker>(engine.size()));
  for (auto& fw : fws) {
    fw.acked.assign(o.senders, 0);
    fw.local_senders.assign(o.senders, nullptr);
  }
  auto& conns = engine.own(std::vector<std::vector<std::unique_ptr<ChatConn>>>(engine.size()));
  std::vector<ChatConn*> receivers;
  for (std::size_t i = 0; i < o.receivers; ++i) {
    const std::size_t wi = i % engine.size();
    auto c = std::make_unique<ChatConn>(engine.worker(wi), s, fws[wi], false, i, fmt::format("{}r{}", base, i));
    if (!fws[wi].witness) {
      fws[wi].witness = c.get();
      c->make_witness();
    }
    receivers.push_back(c.get());
    conns[wi].push_back(std::move(c));
  }
  // Senders only on workers with a witness (receiver) of their own.
  const std::size_t sender_workers = std::min(engine.size(), o.receivers);
  for (std::size_t i = 0; i < o.senders; ++i) {
    const std::size_t wi = i % sender_workers;
    auto c = std::make_unique<ChatConn>(engine.worker(wi), s, fws[wi], true, i, s.sender_nicks[i]);
    fws[wi].local_senders[i] = c.get();
    conns[wi].push_back(std::move(c));
  }
  auto abort_all = [&conns](Worker& w) {
    for (auto& c : conns[w.index()]) c->abort();
  };

  const std::uint64_t total = o.receivers + o.senders;
  start_connections(engine, conns);
  const bool set_up = engine.wait_setup(total);
  if (!set_up || engine.ready() < total) {
    engine.finish(abort_all);
    Outcome out{Report("fanout"), true};
    Report& r = out.report;
    r.note(fmt::format("enchufe bench fanout: {}: only {} of {} clients got into {}", net::to_string(s.target),
                       engine.ready(), total, s.room));
    r.add("target", net::to_string(s.target));
    r.add("clients_ready", engine.ready(), "clients ready", fmt::format("{} of {}", engine.ready(), total));
    r.samples(engine.merged_errors());
    return out;
  }

  s.start_ns = now_ns();
  engine.start();
  engine.run_load(o.duration, nullptr, engine.rate_status("deliveries"));
  const auto sending_stopped = Clock::now();
  engine.wait_until([&] { return s.senders_done.load(std::memory_order_acquire) >= o.senders; },
                    std::chrono::seconds(5));
  std::vector<std::uint64_t> sent(o.senders);
  for (std::size_t i = 0; i < o.senders; ++i) sent[i] = s.sent[i].load(std::memory_order_relaxed);
  std::uint64_t lines_sent = 0;
  for (auto n : sent) lines_sent += n;
  const std::uint64_t expected = lines_sent * o.receivers;
  // Stragglers: until all arrived, nothing more came for a second, or --drain.
  {
    const auto deadline = Clock::now() + o.drain;
    std::uint64_t seen = engine.sum(&Live::done);
    auto progress_at = Clock::now();
    while (seen < expected && Clock::now() < deadline && Clock::now() - progress_at < std::chrono::seconds(1)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const std::uint64_t now_seen = engine.sum(&Live::done);
      if (now_seen != seen) progress_at = Clock::now();
      seen = now_seen;
    }
  }
  const auto drained = Clock::now();
  engine.finish(abort_all);

  const Tally t = engine.merged_tally();
  const Histogram latency = engine.merged_latency();
  std::uint64_t deliveries = 0, missing = 0, dropped = 0;
  for (std::size_t from = 0; from < o.senders; ++from) {
    std::uint64_t best = 0;
    for (const ChatConn* r : receivers) {
      const std::uint64_t got = r->received()[from];
      deliveries += got;
      if (got < sent[from]) missing += sent[from] - got;
      best = std::max(best, got);
    }
    if (best < sent[from]) dropped += sent[from] - best;
  }
  const double send_secs = seconds(sending_stopped - engine.started());
  const double secs = seconds(drained - engine.started());

  Outcome out{Report("fanout")};
  Report& r = out.report;
  r.note(fmt::format("enchufe bench fanout: {}, room {}, {} receiver{}, {} sender{}, {}, {} thread{}, {:.2f} s",
                     net::to_string(s.target), s.room, o.receivers, o.receivers == 1 ? "" : "s", o.senders,
                     o.senders == 1 ? "" : "s",
                     o.rate > 0 ? fmt::format("{} lines/s", per_second(o.rate))
                                : fmt::format("closed loop (window {})", o.window),
                     engine.size(), engine.size() == 1 ? "" : "s", send_secs));
  r.add("target", net::to_string(s.target));
  r.add("room", s.room);
  r.add("protocol", std::string(s.redis ? "redis" : "chat"));
  r.add("receivers", std::uint64_t{o.receivers});
  r.add("senders", std::uint64_t{o.senders});
  r.add("rate", o.rate);
  r.add("window", std::uint64_t{o.window});
  r.add("threads", std::uint64_t{engine.size()});
  r.add("duration_s", send_secs);
  r.add("drain_s", secs - send_secs);
  r.add("lines_sent", lines_sent, "lines sent",
        fmt::format("{}  ({}/s)", grouped(lines_sent), per_second(lines_sent / send_secs)));
  r.add("lines_per_s", lines_sent / send_secs);
  r.add("deliveries", deliveries, "deliveries",
        fmt::format("{} of {}  ({}/s)", grouped(deliveries), grouped(expected), per_second(deliveries / secs)));
  r.add("expected_deliveries", expected);
  r.add("deliveries_per_s", deliveries / secs);
  r.add("missing", missing, "missing",
        missing == 0 ? "0"
                     : fmt::format("{}  ({} line{} dropped by the server: no receiver got {})", grouped(missing),
                                   grouped(dropped), dropped == 1 ? "" : "s", dropped == 1 ? "it" : "them"));
  r.add("dropped_by_server", dropped);
  r.add("out_of_order", t.out_of_order, t.out_of_order ? "out of order" : "", grouped(t.out_of_order));
  r.add("gaps", t.gaps);
  r.add("flood_warnings", t.flood_warnings, t.flood_warnings ? "flood warnings" : "",
        fmt::format("{} (start the server with --flood-rate 1000000 --flood-burst 1000000)", t.flood_warnings));
  r.add("stalls", t.stalls, t.stalls ? "stalled windows" : "", grouped(t.stalls));
  r.add("foreign_lines", t.foreign, t.foreign ? "older lines" : "",
        fmt::format("{} (from earlier runs, in the room's history; ignored)", grouped(t.foreign)));
  r.add("bytes_received", t.bytes_in, "received",
        fmt::format("{}  ({}/s)", bytes(t.bytes_in), bytes(t.bytes_in / secs)));
  const std::uint64_t errors = t.io_errors + t.closed + t.server_errors + t.mismatches;
  r.add("errors", errors, "errors",
        errors == 0 ? "0"
                    : fmt::format("{}  (closed by server {}, server errors {}, i/o {}, bad lines {})", errors,
                                  t.closed, t.server_errors, t.io_errors, t.mismatches));
  r.add("closed_by_server", t.closed);
  r.add("server_errors", t.server_errors);
  r.add("mismatches", t.mismatches);
  r.add("checked", o.check, "checked",
        s.redis    ? "order and count (Redis messages carry no sender name)"
        : o.check  ? "every line's sender, order and count"
                   : "order and count (--check: also each sender's nick)");
  r.latency(latency, "latency_us", "send to receive");
  r.samples(engine.merged_errors());
  out.failed = o.check && (errors != 0 || missing != 0 || t.out_of_order != 0 || deliveries == 0);
  return out;
}

}  // namespace enchufe::bench
