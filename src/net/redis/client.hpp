#pragma once
// One connection to one Redis server, owned by one event loop (muduo's rule:
// only that loop's thread calls it, and every callback runs there). It
// connects, says AUTH / SELECT / CLIENT SETNAME, then carries commands,
// pipelined: what is asked between two writes goes out in one write, and
// replies come back in order.
//
// Nothing here ever waits for Redis. A command asked while the connection
// is down fails at once with a local error; so does one that would grow the
// unsent queue past its bound. When Redis stops answering (it died, or it
// is stopped with SIGSTOP) the connection is dropped after `reply_timeout`
// and made again with backoff; `up` runs each time it is ready again, which
// is where a subscriber subscribes again.
//
// Pub/sub: after subscribe() the server also sends messages no command
// asked for; they go to `message` (RESP2: ["message", channel, payload]).

#include "net/asio.hpp"
#include "net/redis/resp.hpp"
#include "net/redis/url.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::net::redis {

using namespace std::chrono_literals;
using Duration = std::chrono::steady_clock::duration;

// Commands asked and not yet written: past this (Redis slower than the
// chat, for long) new commands fail rather than grow memory without bound.
inline constexpr std::size_t kMaxUnsentBytes = 8 * 1024 * 1024;
// No reply to the oldest command for this long: Redis is stuck (stopped,
// swapping, a network partition); the connection is dropped and made again.
inline constexpr auto kReplyTimeout = 2s;
// Quiet for this long: a PING checks Redis still answers.
inline constexpr auto kPingEvery = 1s;
inline constexpr auto kConnectTimeout = 2s;
// Reconnecting waits this long at first, twice as long after each failure,
// up to the maximum, with ±20% jitter so that nodes do not come back at once.
inline constexpr auto kBackoffFirst = 100ms;
inline constexpr auto kBackoffMax = 5s;

class Client : public std::enable_shared_from_this<Client> {
 public:
  using Callback = std::function<void(const Reply&)>;

  struct Options {
    Address address;
    std::string name;  // CLIENT SETNAME (empty: none): CLIENT LIST shows who is who
    Duration connect_timeout = kConnectTimeout;
    Duration reply_timeout = kReplyTimeout;
    Duration ping_every = kPingEvery;
    Duration backoff_first = kBackoffFirst;
    Duration backoff_max = kBackoffMax;
    std::size_t max_unsent_bytes = kMaxUnsentBytes;
  };
  struct Events {
    std::function<void()> up;                       // ready (again)
    std::function<void(const std::string&)> down;   // lost, and why (once per loss)
    std::function<void(std::string_view channel, std::string_view payload)> message;
  };

  // Starts connecting on `context`; call stop() before the loop ends.
  static std::shared_ptr<Client> start(asio::io_context& context, Options options, Events events);
  ~Client();

  // Drops the connection for good; pending callbacks get "stopped".
  void stop();
  bool ready() const { return state_ == State::ready; }
  const Address& address() const { return options_.address; }

  // Sends a command; `done` (if any) runs on the loop with the reply, or with
  // a local error if the command could not be sent or its reply was lost. A
  // lost reply means "maybe done": Redis may have read the command already.
  void command(std::initializer_list<std::string_view> args, Callback done = {});
  void command(const std::vector<std::string_view>& args, Callback done = {});
  // Channels to hear from: kept, and subscribed again after a reconnect.
  // `done` runs once Redis has confirmed them (from then on every message
  // published to them comes here), or with an error if the connection
  // fails first; not connected, it waits for the next attempt.
  void subscribe(const std::vector<std::string>& channels, Callback done = {});
  void unsubscribe(const std::vector<std::string>& channels);

  // For tests and metrics: commands sent whose replies have not come.
  std::size_t in_flight() const { return waiting_.size(); }

 private:
  enum class State { connecting, handshake, ready, stopped };
  struct Waiting {
    Callback done;
    std::size_t replies;  // SUBSCRIBE of k channels: k confirmations
    std::chrono::steady_clock::time_point sent;
  };

  Client(asio::io_context& context, Options options, Events events);
  asio::awaitable<void> run();
  asio::awaitable<bool> connect();
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> watch();
  void handshake();
  void send(std::initializer_list<std::string_view> args, Callback done, std::size_t replies, bool internal);
  void send(const std::vector<std::string_view>& args, Callback done, std::size_t replies, bool internal);
  // False (and `done` told why, later) when a command cannot go now.
  bool admit(Callback& done, bool internal);
  void queued(Callback done, std::size_t replies);
  void on_reply(Reply reply);
  void drop(const std::string& why);
  void fail_waiting(const std::string& why);
  void start_writer();

  asio::io_context& context_;
  const Options options_;
  const Events events_;
  State state_ = State::connecting;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;  // connect timeout, backoff
  asio::steady_timer watchdog_;
  ReplyReader reader_;
  std::string unsent_;
  std::string writing_;
  bool writer_running_ = false;
  std::deque<Waiting> waiting_;
  std::vector<Callback> subscribed_waiters_;  // subscribe() while not ready: told by the next handshake
  std::vector<std::string> channels_;  // sorted
  std::chrono::steady_clock::time_point last_reply_;
  std::uint64_t generation_ = 0;  // one per connection: a stale coroutine sees it changed
  bool was_ready_ = false;   // this connection got ready: the backoff starts again from the first step
  bool told_down_ = false;   // `down` said since the last `up`
  bool subscriber_ = false;  // has subscribed: arrays of "message" are pushes
};

}  // namespace enchufe::net::redis
