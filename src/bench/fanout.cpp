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
// the same stamped text to it. RESP is framed and parsed by hiredis
// (net/redis/resp.hpp), as in the chat's cluster.
//
// With --tls the chat's (or Redis's) protocol goes over TLS: the same client
// over a TLS stream, the handshake part of its set-up.
//
// With --ws every client talks to the chat's web front door instead (or any
// WebSocket server speaking enough of its protocol, docs/web.md), through
// Beast's websocket::stream: a line goes as {"type":"line","text":...}, a
// delivery comes as a "message" event. The stamped text, the pacing and the
// accounting are the TCP mode's (FanoutConn), so the numbers compare.
//
// With --targets the clients spread over the nodes of one chat cluster
// (serve chat --cluster): receiver i and sender i on node i mod N. There are
// at least as many receivers as nodes, so every node has some, and every
// sender's lines reach the other nodes through Redis: that crossing is what
// a cluster adds to the fan-out. The closed loop's witness may be on any
// node; every line comes back through Redis anyway. --pid gives a server's
// CPU time over the load, that Redis's say.

#include "bench/engine.hpp"
#include "bench/line_buffer.hpp"
#include "bench/modes.hpp"
#include "bench/text.hpp"
#include "bench/tls.hpp"
#include "bench/websocket.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "net/redis/resp.hpp"

#include "net/asio.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>

namespace enchufe::bench {

namespace {

constexpr std::size_t kMaxBatch = 64;            // lines a rate-paced sender writes at once
constexpr std::size_t kMaxLineBuffer = 1u << 20;  // a longer line from the server is an error
constexpr auto kStallTimeout = std::chrono::seconds(1);

namespace beast = boost::beast;
namespace websocket = beast::websocket;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct FanoutShared {
  std::vector<asio::ip::tcp::endpoint> targets;  // the nodes (--targets), or the one server
  std::string room;         // as typed, without a leading '#'
  bool general = true;      // the lobby: no /join needed
  bool redis = false;       // Redis pub/sub instead of the chat protocol
  bool ws = false;          // the chat's web front door (WebSocket, JSON events)
  std::string ws_path;      // --ws: the request target ("/ws")
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

class FanoutConn;

// Per worker: the closed loop's acknowledgements.
struct FanoutWorker {
  std::vector<std::uint64_t> acked;         // per sender: lines the witness has seen
  std::vector<FanoutConn*> local_senders;   // per sender: the sender, if on this worker
  FanoutConn* witness = nullptr;
};

// What every fanout client does whatever it speaks: a receiver's accounting
// of the stamped lines it gets, and a sender's pacing. The transport (chat
// lines or RESP over TCP, or WebSocket events) is the subclass's.
class FanoutConn {
 public:
  FanoutConn(Worker& w, FanoutShared& s, FanoutWorker& fw, bool sender, std::size_t index, std::string nick)
      : w_(w), s_(s), fw_(fw), sender_(sender), index_(index), nick_(std::move(nick)), wake_(w.executor()) {
    if (!sender) {
      next_seq_.assign(s.senders, 0);
      received_.assign(s.senders, 0);
    }
  }
  FanoutConn(const FanoutConn&) = delete;
  FanoutConn& operator=(const FanoutConn&) = delete;
  virtual ~FanoutConn() = default;

  // Connects and joins the room; true when ready.
  virtual asio::awaitable<bool> setup() = 0;
  // Reads until the connection ends (a sender also sends).
  virtual asio::awaitable<void> run() = 0;
  // Closes everything, so that every pending operation completes.
  virtual void abort() {
    aborted_ = true;
    wake_.cancel();
  }

  bool sender() const { return sender_; }
  // The node this client talks to: round-robin, receivers and senders alike.
  const asio::ip::tcp::endpoint& target() const { return s_.targets[index_ % s_.targets.size()]; }
  const std::vector<std::uint64_t>& received() const { return received_; }
  void make_witness() { witness_ = true; }

  // The witness saw more of this sender's lines: wake it if it waits.
  void acked() {
    if (waiting_ && sent_ - std::max(fw_.acked[index_], floor_) < s_.window) wake_.cancel();
  }

 protected:
  // A line from a sender reached this client at now_: `text` as the sender
  // sent it, `nick` who the server says sent it, `raw` what came (for error
  // messages).
  void delivery(std::string_view nick, std::string_view text, std::string_view raw) {
    if (sender_) return;  // senders hear each other (Redis: PUBLISH's counts); only receivers count
    const auto stamp = parse_stamp(text);
    if (!stamp) return;  // someone else talking in the room, or RESP framing
    if (stamp->run != s_.run) {
      ++w_.tally.foreign;
      return;
    }
    if (stamp->sender >= s_.senders) {
      ++w_.tally.mismatches;
      w_.error(fmt::format("{}: a line from sender {} of {}: {}", nick_, stamp->sender, s_.senders, preview(raw)));
      return;
    }
    const std::uint32_t from = stamp->sender;
    if (s_.check && !s_.redis && nick != s_.sender_nicks[from]) {
      ++w_.tally.mismatches;
      w_.error(fmt::format("{}: sender {}'s line came from <{}>: {}", nick_, from, nick, preview(raw)));
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
      if (FanoutConn* sender = fw_.local_senders[from]) sender->acked();
    }
  }

  // What the server said about us: a flood warning, or another error.
  void flood_warning(std::string_view raw) {
    ++w_.tally.flood_warnings;
    if (w_.tally.flood_warnings == 1) w_.error(fmt::format("{}: {}", nick_, preview(raw)));
  }
  void server_error(std::string_view raw) {
    ++w_.tally.server_errors;
    w_.error(fmt::format("{}: {}", nick_, preview(raw)));
  }

  asio::awaitable<void> wait_for_start() {
    if (!w_.gate_open()) co_await w_.gate().async_wait(net::use_tuple);
  }

  // How many lines to send now: waits until some are due (--rate) or the
  // window has room (closed loop). 0 when the run is over.
  asio::awaitable<std::size_t> due_lines() {
    const double rate = s_.per_sender_rate;
    while (!aborted_ && !s_.stop->load(std::memory_order_relaxed)) {
      batch_now_ = now_ns();
      if (rate > 0) {
        // Lines due by now: the first at the start, then one every 1/rate s.
        const auto due = static_cast<std::uint64_t>(static_cast<double>(batch_now_ - s_.start_ns) * 1e-9 * rate) + 1;
        if (due <= sent_) {
          const auto next = s_.start_ns + static_cast<std::uint64_t>(static_cast<double>(sent_) / rate * 1e9);
          wake_.expires_at(Clock::time_point(std::chrono::nanoseconds(next)));
          co_await wake_.async_wait(net::use_tuple);
          continue;
        }
        co_return static_cast<std::size_t>(std::min<std::uint64_t>(due - sent_, kMaxBatch));
      }
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
      co_return static_cast<std::size_t>(s_.window - in_flight);
    }
    co_return 0;
  }

  // The stamp of line i of the batch due_lines() gave: paced, the time it
  // was due; closed loop, now.
  Stamp stamp(std::size_t i) const {
    const double rate = s_.per_sender_rate;
    const std::uint64_t t =
        rate > 0 ? s_.start_ns + static_cast<std::uint64_t>(static_cast<double>(sent_ + i) / rate * 1e9)
                 : batch_now_;
    return Stamp{t, static_cast<std::uint32_t>(index_), sent_ + i, s_.run};
  }

  void count_sent(std::size_t n) {
    sent_ += n;
    w_.tally.requests += n;
  }

  // The end of a client's set-up, counted as ready or failed; returns `ready`.
  bool setup_ended(bool ready) {
    if (!ready) {
      if (!aborted_ && w_.errors.empty()) w_.error(fmt::format("{}: the server closed during set-up", nick_));
      ++w_.tally.connect_errors;
      Live::bump(w_.live.failed);
      return false;
    }
    Live::bump(w_.live.ready);
    return true;
  }

  // The sender stopped: what it sent, for the main thread.
  void sending_done() {
    s_.sent[index_].store(sent_, std::memory_order_relaxed);
    s_.senders_done.fetch_add(1, std::memory_order_release);
  }

  Worker& w_;
  FanoutShared& s_;
  FanoutWorker& fw_;
  bool sender_;
  std::size_t index_;  // among senders, or among receivers
  std::string nick_;
  Timer wake_;
  bool aborted_ = false;
  bool witness_ = false;
  std::uint64_t now_ = 0;  // when the bytes being parsed arrived

 private:
  // receiver
  std::vector<std::uint64_t> next_seq_, received_;

  // sender
  std::uint64_t sent_ = 0;
  std::uint64_t floor_ = 0;  // closed loop: acknowledged by a stall
  std::uint64_t batch_now_ = 0;
  bool waiting_ = false;
};

// The chat's own line protocol over TCP, or (--redis) Redis pub/sub; Stream:
// TcpSocket or (--tls) TlsStream.
template <typename Stream>
class ChatConn final : public FanoutConn {
 public:
  ChatConn(Worker& w, FanoutShared& s, FanoutWorker& fw, Stream stream, bool sender, std::size_t index,
           std::string nick)
      : FanoutConn(w, s, fw, sender, index, std::move(nick)), stream_(std::move(stream)), write_done_(w.executor()),
        in_(16 * 1024, kMaxLineBuffer) {
    if (sender) out_.reserve(std::max(kMaxBatch, s.window) * max_stamp_line(s.size));
    if (s.redis) replies_.emplace();
  }

  asio::awaitable<bool> setup() override {
    const std::string failed = co_await open_stream(w_, stream_, target());
    if (!failed.empty()) {
      ++w_.tally.connect_errors;
      if (!aborted_) w_.error(fmt::format("{}: {}", nick_, failed));
      Live::bump(w_.live.failed);
      co_return false;
    }
    error_code ec;
    socket().non_blocking(true, ec);  // write_out writes what the socket takes at once
    // Its own statement: with the ?: of two co_awaits inside the co_return
    // call, GCC 12 built a set-up that never finished (the Redis test hung).
    const bool ready = s_.redis ? co_await redis_setup() : co_await chat_setup();
    co_return setup_ended(ready);
  }

  asio::awaitable<void> run() override {
    if (sender_) net::spawn(w_.executor(), [this] { return send_loop(); });
    if (s_.redis) {
      net::redis::Reply reply;
      while (co_await next_reply(reply)) on_reply(reply);
    } else {
      std::string_view line;
      while (co_await next_line(line)) on_line(line);
    }
    if (!aborted_) {
      ++w_.tally.closed;
      w_.error(fmt::format("{}: connection closed by the server", nick_));
    }
  }

  void abort() override {
    FanoutConn::abort();
    error_code ignored;
    socket().close(ignored);
    write_done_.cancel();
  }

 private:
  TcpSocket& socket() { return tcp_of(stream_); }

  // Takes the nickname and joins the room; true once the server confirmed both.
  asio::awaitable<bool> chat_setup() {
    std::string hello = fmt::format("/nick {}\n", nick_);
    if (!s_.general) hello += fmt::format("/join {}\n", s_.room);
    auto [wec, n] = co_await asio::async_write(stream_, asio::buffer(hello), net::use_tuple);
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
  // answers PING. Anything else (an error, or a server that does not speak
  // RESP) fails at once.
  asio::awaitable<bool> redis_setup() {
    std::string hello;
    if (sender_) {
      net::redis::append_command(hello, {"PING"});
    } else {
      net::redis::append_command(hello, {"SUBSCRIBE", s_.room});
    }
    auto [wec, n] = co_await asio::async_write(stream_, asio::buffer(hello), net::use_tuple);
    if (wec) co_return false;
    net::redis::Reply reply;
    if (!co_await next_reply(reply)) co_return false;
    const bool expected = sender_ ? reply.type == net::redis::Reply::Type::status && reply.text == "PONG"
                                  : reply.kind() == "subscribe" && reply.elements.size() == 3 &&
                                        reply.elements[1].text == s_.room && reply.elements[2].integer == 1;
    if (!expected && !aborted_) {
      w_.error(fmt::format("{}: not the Redis reply expected to {}: {}", nick_, sender_ ? "PING" : "SUBSCRIBE",
                           preview(reply.is_error() ? reply.text : reply.kind())));
    }
    co_return expected;
  }

  // The next Redis reply, reading as needed; false at EOF, an error or a
  // stream that is not RESP.
  asio::awaitable<bool> next_reply(net::redis::Reply& reply) {
    for (;;) {
      try {
        if (auto next = replies_->next()) {
          reply = std::move(*next);
          co_return true;
        }
      } catch (const std::runtime_error& e) {
        if (!aborted_) w_.error(fmt::format("{}: {}", nick_, e.what()));
        co_return false;
      }
      if (!co_await read_more()) co_return false;
      const std::string_view received = in_.take_all();
      const auto newline = received.find('\n');
      if (!first_line_checked_ && newline != std::string_view::npos) {
        // hiredis waits for the "\r\n" that ends every RESP line; a server
        // that ends its lines with "\n" alone (the chat, say) would keep it
        // waiting until the set-up timeout.
        first_line_checked_ = true;
        const std::string_view first = received.substr(0, newline);
        if (!first.ends_with('\r')) {
          if (!aborted_) w_.error(fmt::format("{}: not a Redis server: it says {}", nick_, preview(first)));
          co_return false;
        }
      }
      replies_->feed(received);
    }
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
      if (!co_await read_more()) co_return false;
    }
  }

  // Reads what the socket has into in_; false at EOF or error.
  asio::awaitable<bool> read_more() {
    const auto space = in_.space();
    if (space.size() == 0) {
      if (!aborted_) w_.error(fmt::format("{}: a line longer than {} bytes", nick_, kMaxLineBuffer));
      co_return false;
    }
    // async_read_some reads at once when it can, but always completes
    // through the loop's queue: a socket that always has more cannot
    // starve the others of its thread (they would fall behind and be cut
    // as too slow).
    auto [ec, n] = co_await stream_.async_read_some(space, net::use_tuple);
    if (ec) {
      if (!aborted_ && !closed_by_peer(ec)) {
        ++w_.tally.io_errors;
        w_.error(fmt::format("{}: read: {}", nick_, ec.message()));
      }
      co_return false;
    }
    in_.filled(n);
    w_.tally.bytes_in += n;
    now_ = now_ns();
    co_return true;
  }

  // Receivers get ["message", room, payload]; senders the counts PUBLISH
  // answers, which tell nothing here.
  void on_reply(const net::redis::Reply& reply) {
    if (reply.is_error()) {
      server_error(reply.text);
    } else if (reply.kind() == "message" && reply.elements.size() == 3) {
      delivery({}, reply.elements[2].text, reply.elements[2].text);
    }
  }

  void on_line(std::string_view line) {
    const auto message = parse_chat_message(line);
    if (!message) {
      // Lines from the server itself: notices, warnings, errors.
      if (line.starts_with("error: slow down")) {
        flood_warning(line);
      } else if (line.starts_with("error: ") || line.starts_with("* disconnected")) {
        server_error(line);
      }
      return;
    }
    delivery(message->nick, message->text, line);
  }

  asio::awaitable<void> send_loop() {
    co_await wait_for_start();
    while (const std::size_t n = co_await due_lines()) {
      if (write_pending_) co_await write_done_.async_wait(net::use_tuple);
      if (write_error_ || aborted_) break;
      out_.clear();
      for (std::size_t i = 0; i < n; ++i) {
        if (s_.redis) {
          append_publish(stamp(i));
        } else {
          format_stamp_line(out_, stamp(i), s_.size);
        }
      }
      if (!write_out()) break;
      count_sent(n);
    }
    if (write_pending_) co_await write_done_.async_wait(net::use_tuple);
    sending_done();
  }

  // PUBLISH <room> <stamped text>.
  void append_publish(const Stamp& stamp) {
    line_.clear();
    format_stamp_line(line_, stamp, s_.size);
    line_.pop_back();  // the "\n": the RESP framing ends the payload
    net::redis::append_command(out_, {"PUBLISH", s_.room, line_});
  }

  bool write_out() {
    error_code ec;
    const std::size_t off = write_now(stream_, out_, ec);
    if (ec) {
      if (!aborted_) {
        ++w_.tally.io_errors;
        w_.error(fmt::format("{}: write: {}", nick_, ec.message()));
      }
      return false;
    }
    w_.tally.bytes_out += out_.size();
    if (off < out_.size()) {
      write_pending_ = true;
      write_done_.expires_at(Clock::time_point::max());
      asio::async_write(stream_, asio::buffer(out_.data() + off, out_.size() - off),
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

  Stream stream_;
  Timer write_done_;
  LineBuffer in_;
  std::optional<net::redis::ReplyReader> replies_;  // --redis only: the chat's clients need none
  bool first_line_checked_ = false;                  // --redis: the server ends its lines as RESP does

  // sender
  std::string out_;
  std::string line_;  // --redis: one payload, before its framing
  bool write_pending_ = false;
  error_code write_error_;
};

// --ws: the chat's web front door. One JSON event per WebSocket message both
// ways (docs/web.md); Beast does the framing, masking and control frames.
//
// Reading is a plain callback loop rather than a coroutine: every message
// is one Beast read (whose completion goes through the loop's queue, so the
// connections of a thread take turns), and a coroutine's resumption per
// message would cost as much again. Set-up, run() and the sender wait on it
// through `signal_`.
class WsConn final : public FanoutConn {
 public:
  WsConn(Worker& w, FanoutShared& s, FanoutWorker& fw, bool sender, std::size_t index, std::string nick)
      : FanoutConn(w, s, fw, sender, index, std::move(nick)), ws_(w.executor(), w.tally.bytes_in),
        signal_(w.executor()) {
    configure_client(ws_, kMaxLineBuffer);
    in_.reserve(4096);
    if (sender) out_.reserve(max_stamp_line(s.size) + 32);
  }

  asio::awaitable<bool> setup() override {
    auto [ec] = co_await socket().async_connect(target(), net::use_tuple);
    if (ec) {
      ++w_.tally.connect_errors;
      if (!aborted_) w_.error(fmt::format("{}: connect: {}", nick_, ec.message()));
      Live::bump(w_.live.failed);
      co_return false;
    }
    socket().set_option(asio::ip::tcp::no_delay(true), ec);
    if (co_await hello()) {
      read_next();  // from here on, the loop reads everything
      while (!ready_ && !ended_ && !refused_) co_await wait_signal();
    }
    co_return setup_ended(ready_);
  }

  asio::awaitable<void> run() override {
    if (sender_) net::spawn(w_.executor(), [this] { return send_loop(); });
    while (!ended_) co_await wait_signal();
    if (!aborted_) {
      ++w_.tally.closed;
      w_.error(fmt::format("{}: connection closed by the server{}", nick_, close_reason(ws_)));
    }
  }

  void abort() override {
    FanoutConn::abort();
    error_code ignored;
    socket().close(ignored);
    signal_.cancel();
  }

 private:
  TcpSocket& socket() { return ws_.next_layer().socket(); }

  // The upgrade, then the nickname and the room, as the TCP mode does; the
  // read loop sees the server confirm them (setup_event).
  asio::awaitable<bool> hello() {
    websocket::response_type response;
    const std::string failed = co_await upgrade(ws_, net::to_string(target()), s_.ws_path, response,
                                                "not an HTTP answer: the chat's web door is its --web-port");
    if (!failed.empty()) {
      if (!aborted_) w_.error(fmt::format("{}: {}", nick_, failed));
      co_return false;
    }
    if (!co_await send_line(fmt::format("/nick {}", nick_))) co_return false;
    if (!s_.general && !co_await send_line(fmt::format("/join {}", s_.room))) co_return false;
    co_return true;
  }

  asio::awaitable<void> wait_signal() {
    signal_.expires_at(Clock::time_point::max());
    co_await signal_.async_wait(net::use_tuple);
  }

  // ---- reading ----

  struct OnRead {
    WsConn* c;
    void operator()(error_code ec, std::size_t) const { c->on_read(ec); }
  };

  void read_next() {
    in_.consume(in_.size());
    ws_.async_read(in_, OnRead{this});
  }

  void on_read(error_code ec) {
    if (aborted_ && !ec) ec = asio::error::operation_aborted;  // what StampedSocket still held
    if (ec) {
      if (!aborted_ && ec != websocket::error::closed && ec != asio::error::eof) {
        ++w_.tally.io_errors;
        w_.error(fmt::format("{}: read: {}", nick_, ec.message()));
      }
      ended_ = true;
      signal_.cancel();
      return;
    }
    // When the read that brought the message's last bytes completed.
    now_ = ws_.next_layer().arrived();
    if (!events_.parse(message())) {
      ++w_.tally.mismatches;
      w_.error(fmt::format("{}: not a JSON event: {}", nick_, preview(message())));
    } else if (ready_) {
      on_event();
    } else {
      setup_event();
    }
    read_next();
  }

  std::string_view message() const {
    const auto data = in_.cdata();
    return {static_cast<const char*>(data.data()), data.size()};
  }

  void setup_event() {
    const ChatEvent& e = events_.event();
    if (e.type == ChatEvent::Type::nick && e.nick == nick_) {
      have_nick_ = true;
    } else if (e.type == ChatEvent::Type::joined && lowercase(e.room) == lowercase(s_.room)) {
      have_room_ = true;
    } else if (e.type == ChatEvent::Type::error ||
               (e.type == ChatEvent::Type::info && e.text.starts_with("disconnected"))) {
      if (!aborted_ && !refused_) w_.error(fmt::format("{}: setting up: {}", nick_, preview(message())));
      refused_ = true;
      signal_.cancel();
      return;
    }
    if (have_nick_ && have_room_ && !refused_) {
      ready_ = true;
      signal_.cancel();
    }
  }

  void on_event() {
    const ChatEvent& e = events_.event();
    switch (e.type) {
      case ChatEvent::Type::message: delivery(e.nick, e.text, message()); break;
      case ChatEvent::Type::error:
        if (e.text.starts_with("slow down")) {
          flood_warning(message());
        } else {
          server_error(message());
        }
        break;
      case ChatEvent::Type::info:
        if (e.text.starts_with("disconnected")) server_error(message());
        break;
      default: break;
    }
  }

  // ---- writing ----

  // {"type":"line","text":...} for a text that needs no JSON escapes (the
  // commands above and the stamped lines: letters, digits, '=', ' ', '-').
  asio::awaitable<bool> send_line(std::string_view text) {
    out_.assign(R"({"type":"line","text":")");
    out_.append(text);
    out_.append(R"("})");
    co_return co_await write_out();
  }

  asio::awaitable<bool> write_out() {
    auto [ec, n] = co_await ws_.async_write(asio::buffer(out_), net::use_tuple);
    if (ec) {
      if (!aborted_) {
        ++w_.tally.io_errors;
        w_.error(fmt::format("{}: write: {}", nick_, ec.message()));
      }
      co_return false;
    }
    w_.tally.bytes_out += out_.size();
    co_return true;
  }

  asio::awaitable<void> send_loop() {
    co_await wait_for_start();
    // One message per line: a WebSocket message cannot carry two.
    while (const std::size_t n = co_await due_lines()) {
      std::size_t i = 0;
      for (; i < n && !aborted_; ++i) {
        out_.assign(R"({"type":"line","text":")");
        format_stamp_line(out_, stamp(i), s_.size);
        out_.pop_back();  // the "\n": the message is the line
        out_.append(R"("})");
        if (!co_await write_out()) break;
      }
      count_sent(i);
      if (i < n) break;
    }
    sending_done();
  }

  WsStream ws_;
  Timer signal_;  // cancelled when the read loop has news: set up, refused, ended
  beast::flat_buffer in_;
  ChatEventParser events_;
  std::string out_;
  bool have_nick_ = false, have_room_ = false;
  bool ready_ = false;    // set up: events go to on_event()
  bool refused_ = false;  // the server answered the set-up with an error
  bool ended_ = false;    // the read loop is over
};

// Every join is a notice to the room's members, so setting up N receivers
// makes a chat server send about N²/2 notices (and as many for the nickname
// changes): a million for 1,000 receivers, some still on their way when the
// last client is in. The clock starts once nothing has arrived for
// kSettleQuiet, so that the run measures the load and not the tail of the
// set-up (over WebSocket, where each notice is a message of its own, that
// tail can take seconds). At most the set-up timeout (30 s) in all.
// Returns the seconds it waited.
constexpr auto kSettleQuiet = std::chrono::milliseconds(200);

double settle(Engine& engine) {
  const auto limit = engine.options().setup_timeout;
  struct Snapshot {
    std::atomic<std::uint64_t> bytes{0}, round{0};
  };
  const auto t0 = Clock::now();
  auto snapshots = std::make_shared<std::vector<Snapshot>>(engine.size());
  std::uint64_t round = 0, last = ~std::uint64_t{0};
  auto last_change = t0;
  while (Clock::now() - t0 < limit) {
    ++round;
    // Each worker reads its own counter on its own thread.
    engine.post_all([snapshots, round](Worker& w) {
      (*snapshots)[w.index()].bytes.store(w.tally.bytes_in, std::memory_order_relaxed);
      (*snapshots)[w.index()].round.store(round, std::memory_order_release);
    });
    engine.wait_until(
        [&] {
          for (const auto& s : *snapshots) {
            if (s.round.load(std::memory_order_acquire) != round) return false;
          }
          return true;
        },
        limit);
    std::uint64_t bytes = 0;
    for (const auto& s : *snapshots) bytes += s.bytes.load(std::memory_order_relaxed);
    const auto now = Clock::now();
    engine.show(fmt::format("settling: the server is still sending what the set-up owes ({} received)",
                            bench::bytes(static_cast<double>(bytes))));
    if (bytes != last) {
      last = bytes;
      last_change = now;
    } else if (now - last_change >= kSettleQuiet) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return seconds(Clock::now() - t0);
}

}  // namespace

Outcome run_fanout(const Options& o) {
  if (o.receivers == 0 || o.senders == 0) throw UsageError("fanout needs at least one receiver and one sender");
  if (o.size > 4096) throw UsageError("fanout: --size above 4 KiB is over the chat server's line limit");
  if (o.redis && o.ws) throw UsageError("fanout: --redis and --ws do not go together");
  if (o.tls && o.ws) throw UsageError("fanout: --tls speaks the chat's TCP lines over TLS; it does not combine with --ws");
  if (o.ws && !o.ws_path.starts_with('/')) throw UsageError("fanout: --ws-path must start with '/'");
  // Over WebSocket the bound is on the message: the line (without its
  // newline) and the 25 bytes of JSON around it.
  if (o.ws && o.size > 4096 - 24) {
    throw UsageError("fanout: --size above 4072 is over the web front door's message limit (4 KiB with the JSON)");
  }
  if (!o.targets.empty() && o.redis) {
    throw UsageError("fanout: --targets spreads the clients over chat nodes that share their rooms through Redis; "
                     "separate Redis servers share no channels, so it does not combine with --redis");
  }
  if (o.receivers < o.targets.size()) {
    throw UsageError(fmt::format("fanout: --targets names {} nodes: that needs at least {} receivers, one on each",
                                 o.targets.size(), o.targets.size()));
  }
  FanoutShared s;
  const std::vector<net::HostPort> nodes = o.targets.empty() ? std::vector{net::HostPort{o.host, o.port}} : o.targets;
  for (const net::HostPort& node : nodes) {
    const auto target = tcp_target(node.host, node.port);
    // The same node twice would count its own members' lines as crossing.
    if (std::find(s.targets.begin(), s.targets.end(), target) != s.targets.end()) {
      throw UsageError(fmt::format("fanout: --targets names {} twice", net::to_string(target)));
    }
    s.targets.push_back(target);
  }
  // Where the clients went: "a:1,b:2" for machines; for people, --ws as
  // URLs and TLS said.
  std::string targets, where;
  for (const auto& target : s.targets) {
    const std::string name = net::to_string(target);
    targets += (targets.empty() ? "" : ",") + name;
    where += (where.empty() ? "" : ", ") + (o.ws ? fmt::format("ws://{}{}", name, o.ws_path) : name);
  }
  if (o.tls) where += " over TLS";
  if (o.pid && !cpu_seconds(o.pid)) throw RuntimeError(fmt::format("cannot read /proc/{}/stat", *o.pid));
  s.room = std::string(o.room.starts_with('#') ? std::string_view(o.room).substr(1) : std::string_view(o.room));
  if (s.room.empty()) throw UsageError("fanout: --room must not be empty");
  s.general = lowercase(s.room) == "general";
  s.redis = o.redis;
  s.ws = o.ws;
  s.ws_path = o.ws_path;
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
  auto& conns = engine.own(std::vector<std::vector<std::unique_ptr<FanoutConn>>>(engine.size()));
  auto* tls = o.tls ? &engine.own(TlsContexts(engine.size())) : nullptr;
  auto make = [&](std::size_t wi, bool sender, std::size_t i, std::string nick) -> std::unique_ptr<FanoutConn> {
    Worker& w = engine.worker(wi);
    if (s.ws) return std::make_unique<WsConn>(w, s, fws[wi], sender, i, std::move(nick));
    if (tls) {
      return std::make_unique<ChatConn<TlsStream>>(w, s, fws[wi], TlsStream(w.executor(), tls->of(w)), sender, i,
                                                   std::move(nick));
    }
    return std::make_unique<ChatConn<TcpSocket>>(w, s, fws[wi], TcpSocket(w.executor()), sender, i, std::move(nick));
  };
  std::vector<FanoutConn*> receivers;
  for (std::size_t i = 0; i < o.receivers; ++i) {
    const std::size_t wi = i % engine.size();
    auto c = make(wi, false, i, fmt::format("{}r{}", base, i));
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
    auto c = make(wi, true, i, s.sender_nicks[i]);
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
    r.note(fmt::format("enchufe bench fanout: {}: only {} of {} clients got into {}", where, engine.ready(), total,
                       s.room));
    r.add("target", targets);
    r.add("clients_ready", engine.ready(), "clients ready", fmt::format("{} of {}", engine.ready(), total));
    r.samples(engine.merged_errors());
    return out;
  }

  const double settled = settle(engine);
  // --pid: that process's CPU time over the load and the drain only (say,
  // the Redis of a cluster): the set-up's joins and renames, each a notice
  // through Redis, would cost it more than a short paced run does.
  const auto server_before = o.pid ? cpu_seconds(o.pid) : std::nullopt;
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
  const auto server_after = o.pid ? cpu_seconds(o.pid) : std::nullopt;
  engine.finish(abort_all);

  const Tally t = engine.merged_tally();
  const Histogram latency = engine.merged_latency();
  std::uint64_t deliveries = 0, missing = 0, dropped = 0;
  for (std::size_t from = 0; from < o.senders; ++from) {
    std::uint64_t best = 0;
    for (const FanoutConn* r : receivers) {
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
                     where, s.room, o.receivers, o.receivers == 1 ? "" : "s", o.senders,
                     o.senders == 1 ? "" : "s",
                     o.rate > 0 ? fmt::format("{} lines/s", per_second(o.rate))
                                : fmt::format("closed loop (window {})", o.window),
                     engine.size(), engine.size() == 1 ? "" : "s", send_secs));
  r.add("target", targets);
  r.add("targets", std::uint64_t{s.targets.size()}, o.targets.empty() ? "" : "targets");
  r.add("room", s.room);
  r.add("protocol", std::string(s.redis ? "redis" : s.ws ? "websocket" : "chat"));
  if (s.ws) r.add("url", where);
  if (o.tls) report_tls(r, engine);
  r.add("receivers", std::uint64_t{o.receivers});
  r.add("senders", std::uint64_t{o.senders});
  r.add("rate", o.rate);
  r.add("window", std::uint64_t{o.window});
  r.add("threads", std::uint64_t{engine.size()});
  r.add("settle_s", settled);
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
  if (server_before && server_after) {
    const double cpu = *server_after - *server_before;
    const double per_million = deliveries ? cpu / static_cast<double>(deliveries) * 1e6 : 0.0;
    r.add("server_cpu_s", cpu, fmt::format("CPU of pid {}", *o.pid),
          fmt::format("{:.2f} s  ({:.3f} s per million deliveries)", cpu, per_million));
    r.add("server_cpu_s_per_million_deliveries", per_million);
  }
  r.latency(latency, "latency_us", "send to receive");
  r.samples(engine.merged_errors());
  out.failed = o.check && (errors != 0 || missing != 0 || t.out_of_order != 0 || deliveries == 0);
  return out;
}

}  // namespace enchufe::bench
