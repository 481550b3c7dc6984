#pragma once
// `bench echo --ws`: the echo workload over WebSocket. Each request is one
// text message (framed and masked by Beast, as RFC 6455 asks of a client),
// each reply one message, compared with --reply-prefix + request under
// --check. What a batch costs on the wire is what the TCP mode's costs: the
// `pipeline` messages of a batch are gathered (StampedSocket::gather) and
// leave in one write(2).
//
// Reading is a callback loop, as in `fanout --ws`: every reply is one Beast
// read whose completion goes through the loop's queue (so the connections
// of a thread take turns), and a coroutine resumption per message would
// cost as much again. run() waits on `signal_` for the loop to end.

#include "bench/echo_client.hpp"
#include "bench/engine.hpp"
#include "bench/websocket.hpp"

#include "net/asio.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>

namespace enchufe::bench {

class WsEchoConn final : public EchoClient {
 public:
  // A reply longer than this is an error rather than more memory.
  static constexpr std::size_t kMaxReply = 64u << 20;

  WsEchoConn(Worker& w, const EchoShared& s, std::uint64_t id, std::uint64_t quota)
      : w_(w), s_(s), id_(id), quota_(quota), ws_(w.executor(), w.tally.bytes_in), writer_(socket()),
        signal_(w.executor()), batch_(s.request, id, s.pipeline) {
    configure_client(ws_, kMaxReply, s.deflate);
    // A frame is the message and at most 14 bytes of header and mask.
    const std::size_t frames = s.pipeline * (s.request.max_length() + 14);
    gathering_.reserve(frames);
    sending_.reserve(frames);
    in_.reserve(s.reply_prefix.size() + s.request.max_length());
  }

  asio::awaitable<bool> setup() override {
    if (!co_await connect_to(w_, socket(), s_.target, id_)) co_return false;
    boost::beast::websocket::response_type response;
    const std::string failed = co_await upgrade(ws_, s_.ws_host, s_.ws_path, response,
                                                "not an HTTP answer: the echo server's WebSocket port is its --web-port");
    if (!failed.empty()) {
      ++w_.tally.connect_errors;
      if (!aborted_) w_.error(fmt::format("connection {}: {}", id_, failed));
      Live::bump(w_.live.failed);
      co_return false;
    }
    if (deflate_accepted(response)) ++w_.tally.deflated;
    error_code ec;
    socket().non_blocking(true, ec);  // BatchWriter writes what the socket takes at once
    ws_.next_layer().gather(&gathering_);
    Live::bump(w_.live.ready);
    co_return true;
  }

  asio::awaitable<void> run() override {
    if (!w_.gate_open()) co_await w_.gate().async_wait(net::use_tuple);
    next_batch();
    while (!ended_) {
      signal_.expires_at(Clock::time_point::max());
      co_await signal_.async_wait(net::use_tuple);
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
    signal_.cancel();
  }

 private:
  TcpSocket& socket() { return ws_.next_layer().socket(); }

  void end() {
    ended_ = true;
    signal_.cancel();
  }

  // ---- the loop: write a batch, read its replies, again ----

  struct OnWrite {
    WsEchoConn* c;
    void operator()(error_code ec, std::size_t) const { c->on_write(ec); }
  };
  struct OnRead {
    WsEchoConn* c;
    void operator()(error_code ec, std::size_t) const { c->on_read(ec); }
  };
  struct OnWritten {
    WsEchoConn* c;
    void operator()(error_code) const { c->next_batch(); }
  };

  void next_batch() {
    if (aborted_ || s_.stop->load(std::memory_order_relaxed) || (quota_ != 0 && sent_ >= quota_)) return end();
    // The last batch's tail, if the socket was full, must have left before
    // this batch is gathered (the replies came, so it is about to).
    if (writer_.pending()) return writer_.async_wait(OnWritten{this});
    if (writer_.error()) {
      fail("write", writer_.error(), 0);
      return end();
    }
    std::size_t n = s_.pipeline;
    if (quota_ != 0) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, quota_ - sent_));
    batch_.render(n, sent_);
    written_ = 0;
    write_next();
  }

  // Beast frames and masks request `written_` into gathering_.
  void write_next() {
    const std::string_view request = batch_.request(written_);
    ws_.async_write(asio::buffer(request.data(), request.size()), OnWrite{this});
  }

  void on_write(error_code ec) {
    if (aborted_) return end();
    if (ec) {
      fail("write", ec, batch_.size());
      return end();
    }
    if (++written_ < batch_.size()) return write_next();
    send();
  }

  // The whole batch, in one write. What Beast gathers from now on (a pong
  // while reading) goes into the other buffer, with the next batch.
  void send() {
    std::swap(gathering_, sending_);
    gathering_.clear();
    t0_ = now_ns();
    if (const error_code ec = writer_.write(sending_)) {
      fail("write", ec, batch_.size());
      return end();
    }
    w_.tally.requests += batch_.size();
    w_.tally.bytes_out += sending_.size();
    sent_ += batch_.size();
    got_ = 0;
    read_next();
  }

  void read_next() {
    in_.consume(in_.size());
    ws_.async_read(in_, OnRead{this});
  }

  void on_read(error_code ec) {
    if (aborted_ && !ec) ec = asio::error::operation_aborted;  // what StampedSocket still held
    if (ec) {
      fail("read", ec, batch_.size() - got_);
      return end();
    }
    // From the write to the read that brought the reply's last bytes.
    const std::uint64_t arrived = ws_.next_layer().arrived();
    w_.latency.record(arrived > t0_ ? arrived - t0_ : 0);
    if (s_.check) check(batch_.request(got_));
    if (++got_ < batch_.size()) return read_next();
    w_.tally.replies += batch_.size();
    Live::bump(w_.live.done, batch_.size());
    next_batch();
  }

  void check(std::string_view request) {
    const auto data = in_.cdata();
    const std::string_view reply(static_cast<const char*>(data.data()), data.size());
    if (!ws_.got_text()) {
      ++w_.tally.mismatches;
      w_.error(fmt::format("connection {}: sent text {}, got a binary message {}", id_, preview(request),
                           preview(reply)));
      return;
    }
    check_reply(w_, id_, s_.reply_prefix, request, reply);
  }

  void fail(std::string_view what, const error_code& ec, std::size_t unanswered) {
    const bool closed = ec == boost::beast::websocket::error::closed || ec == asio::error::eof;
    count_failure(w_, id_, aborted_, what, ec, closed, closed ? close_reason(ws_) : std::string(), unanswered);
  }

  Worker& w_;
  const EchoShared& s_;
  std::uint64_t id_;
  std::uint64_t quota_;  // 0: until stopped
  std::uint64_t sent_ = 0;
  WsStream ws_;
  BatchWriter<TcpSocket> writer_;
  Timer signal_;  // cancelled when the loop ends
  RequestBatch batch_;
  std::string gathering_, sending_;  // frames Beast writes; frames on their way
  boost::beast::flat_buffer in_;
  std::size_t written_ = 0, got_ = 0;  // of the batch: requests framed, replies read
  std::uint64_t t0_ = 0;               // when the batch was written
  bool aborted_ = false, ended_ = false;
};

}  // namespace enchufe::bench
