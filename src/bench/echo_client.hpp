#pragma once
// What the two request/reply clients of `bench echo` share: the TCP one
// (echo.cpp, over a bare socket or TLS) and the WebSocket one (ws_echo.hpp).
// The settings of a run, the interface run_echo() drives them through, the
// batch of requests rendered without allocating, the writer that sends a
// batch in one write(2), and the checks and error counts, so that all
// report the same things the same way.

#include "bench/engine.hpp"
#include "bench/text.hpp"
#include "bench/tls.hpp"
#include "net/coroutine.hpp"

#include "net/asio.hpp"

#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::bench {

struct EchoShared {
  asio::ip::tcp::endpoint target;
  RequestTemplate request;
  std::string reply_prefix;
  bool check = false;
  std::size_t pipeline = 1;
  const std::atomic<bool>* stop = nullptr;
  // Paced (--rate): requests per second per connection, and when the clock
  // started; 0: closed loop.
  double per_conn_rate = 0;
  std::size_t connections = 1;
  std::uint64_t start_ns = 0;
  // --ws: the Host header ("127.0.0.1:8081"), the request target ("/"), and
  // whether to offer permessage-deflate.
  bool ws = false;
  std::string ws_host, ws_path;
  bool deflate = false;
};

// One connection of the run, whatever it speaks. Virtual only where the
// engine starts and ends it; the hot path is the connection's own.
class EchoClient {
 public:
  EchoClient() = default;
  EchoClient(const EchoClient&) = delete;
  EchoClient& operator=(const EchoClient&) = delete;
  virtual ~EchoClient() = default;

  // Connects (and upgrades); true when ready.
  virtual asio::awaitable<bool> setup() = 0;
  // Waits for the start, then loads until the stop flag or the quota.
  virtual asio::awaitable<void> run() = 0;
  // Closes everything, so that every pending operation completes.
  virtual void abort() = 0;
};

// Connects `stream` to the target (open_stream: for TLS with the handshake,
// so that its time is not in the figures); a failure is counted and
// reported as connection `id`'s.
template <typename Stream>
asio::awaitable<bool> connect_to(Worker& w, Stream& stream, const asio::ip::tcp::endpoint& target,
                                 std::uint64_t id) {
  const std::string failed = co_await open_stream(w, stream, target);
  if (!failed.empty()) {
    ++w.tally.connect_errors;
    w.error(fmt::format("connection {}: {}", id, failed));
    Live::bump(w.live.failed);
    co_return false;
  }
  co_return true;
}

// The requests of one batch, rendered back to back into a buffer reserved
// at the start, so that nothing is allocated per request. A request without
// {c} or {n} is the same every time: it is rendered once.
class RequestBatch {
 public:
  RequestBatch(const RequestTemplate& request, std::uint64_t conn, std::size_t pipeline)
      : request_(request), conn_(conn) {
    out_.reserve(pipeline * request.max_length());
    starts_.reserve(pipeline + 1);
    if (request.has_placeholders()) return;
    for (std::size_t i = 0; i < pipeline; ++i) {
      starts_.push_back(out_.size());
      request.render(out_, conn, 0);
    }
    starts_.push_back(out_.size());
    constant_ = true;
  }

  // Requests first_seq, first_seq + 1, ... of the connection: n of them.
  void render(std::size_t n, std::uint64_t first_seq) {
    n_ = n;
    if (constant_) return;
    out_.clear();
    starts_.clear();
    for (std::size_t i = 0; i < n; ++i) {
      starts_.push_back(out_.size());
      request_.render(out_, conn_, first_seq + i);
    }
    starts_.push_back(out_.size());
  }

  std::size_t size() const { return n_; }
  // All n requests, back to back.
  std::string_view bytes() const { return {out_.data(), starts_[n_]}; }
  std::string_view request(std::size_t i) const { return {out_.data() + starts_[i], starts_[i + 1] - starts_[i]}; }

 private:
  const RequestTemplate& request_;
  std::uint64_t conn_;
  std::string out_;
  std::vector<std::size_t> starts_;  // where each request begins in out_, and the end
  std::size_t n_ = 0;
  bool constant_ = false;
};

// Sends a batch: what the socket takes at once (non-blocking), and the rest
// (rare: a full socket; always, over TLS: write_now) in the background while
// replies are read, so a deep pipeline cannot deadlock against a server that
// stops reading until its replies are read. The bytes must stay put until
// pending() is false.
template <typename Stream>
class BatchWriter {
 public:
  explicit BatchWriter(Stream& stream) : stream_(stream), done_(stream.get_executor()) {}

  // The error of the immediate part; a background write's shows in error().
  error_code write(std::string_view bytes) {
    error_code ec;
    const std::size_t off = write_now(stream_, bytes, ec);
    if (ec) return ec;
    if (off < bytes.size()) {
      pending_ = true;
      done_.expires_at(Clock::time_point::max());
      asio::async_write(stream_, asio::buffer(bytes.substr(off)), [this](error_code ec, std::size_t) {
        pending_ = false;
        if (ec && !aborted_) error_ = ec;
        done_.cancel();
      });
    }
    return {};
  }

  bool pending() const { return pending_; }
  const error_code& error() const { return error_; }
  // Completes when the background write is done (or abort()): only while
  // pending().
  template <typename Token>
  auto async_wait(Token&& token) {
    return done_.async_wait(std::forward<Token>(token));
  }
  // The run is over: a background write's failure is not an error.
  void abort() {
    aborted_ = true;
    done_.cancel();
  }

 private:
  Stream& stream_;
  Timer done_;
  bool pending_ = false;
  bool aborted_ = false;
  error_code error_;
};

// --check: `reply` must be exactly prefix + request.
inline void check_reply(Worker& w, std::uint64_t conn, std::string_view prefix, std::string_view request,
                        std::string_view reply) {
  if (reply.size() == prefix.size() + request.size() && reply.starts_with(prefix) &&
      reply.substr(prefix.size()) == request) {
    return;
  }
  ++w.tally.mismatches;
  w.error(fmt::format("connection {}: sent {}, expected {}, got {}", conn, preview(request),
                      preview(std::string(prefix) + std::string(request)), preview(reply)));
}

// A read or write failed with `unanswered` requests in flight: `closed` when
// the server ended the connection (`how`: its close frame's reason, if any),
// else an I/O error. After abort() it is only the end of the run.
inline void count_failure(Worker& w, std::uint64_t conn, bool aborted, std::string_view what, const error_code& ec,
                          bool closed, std::string_view how, std::size_t unanswered) {
  w.tally.unanswered += unanswered;
  if (aborted) return;
  if (closed) {
    ++w.tally.closed;
    w.error(fmt::format("connection {}: closed by the server{} with {} request{} unanswered", conn, how, unanswered,
                        unanswered == 1 ? "" : "s"));
  } else {
    ++w.tally.io_errors;
    w.error(fmt::format("connection {}: {}: {}", conn, what, ec.message()));
  }
}

}  // namespace enchufe::bench
