#pragma once
// One TCP client of a line-based service, from accept to close.
//
// Like Asio's chat example, a connection is run by coroutines that alone hold
// its shared_ptr: a reader that frames input into messages for the service's
// Protocol, and a writer that drains the bounded outbox. Unlike the example:
//  - an idle connection holds no buffer: it waits for readiness, then reads
//    into the loop's shared buffer; a busy one reads into a buffer lent by
//    its loop, through the reactor, which spares epoll a re-arm per request
//    (read_buffer_pool.hpp);
//  - replies are written straight away when the socket takes them (the usual
//    case); the writer coroutine exists only while a client is behind;
//  - everything a read produced leaves in one write(2);
//  - ordinary disconnects are error codes, never exceptions.

#include "net/client_slot.hpp"
#include "net/line_framer.hpp"
#include "net/log.hpp"
#include "net/message_link.hpp"
#include "net/metrics.hpp"
#include "net/limits.hpp"
#include "net/outbox.hpp"
#include "net/runtime.hpp"
#include "net/transport.hpp"

#include "net/asio.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <tuple>
#include <optional>
#include <span>
#include <string_view>

namespace enchufe::net {

using Clock = std::chrono::steady_clock;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;


struct ConnectionOptions {
  std::size_t max_line = limits::kMaxLineBytes;
  std::chrono::milliseconds partial_delay = limits::kPartialMessageDelay;
  // Only newline-terminated lines are messages (chat): bytes without a
  // newline wait for it however long the pause, up to max_line.
  bool whole_lines_only = false;
  std::chrono::milliseconds idle_timeout{0};  // zero: never
  // Zero: a client that does not read is paused (back-pressure), which suits
  // request/reply. Otherwise owing it more than this disconnects it, which
  // suits broadcast: others must never wait for it.
  std::size_t max_output = 0;
  bool keepalive = false;  // TCP keepalive, to notice peers that vanished
  // "connected"/"closed" log lines at info (at debug for /metrics scrapers,
  // which would otherwise log two lines a second).
  bool log_connections = true;
  // True for a message that carries a secret (the chat's passwords): it is
  // logged (-v) and traced (--trace) as "(hidden)", never in clear. Null:
  // no message does.
  bool (*secret)(std::string_view bytes) = nullptr;
};

// What a log or trace line shows of received `bytes`: a short quoted
// preview, or "(hidden: ...)" for a secret.
std::string logged_preview(const ConnectionOptions& options, std::string_view bytes);

class Connection;

// A service's behaviour on one connection; one instance per connection, so it
// may keep per-client state. Called only from the connection's loop.
class Protocol {
 public:
  virtual ~Protocol() = default;
  virtual void on_open(Connection& c) = 0;
  // A whole message: a line (terminator "\n" or "\r\n"), or the bytes a
  // client sent without a newline before pausing (terminator "").
  virtual void on_message(Connection& c, std::string_view text, std::string_view terminator) = 0;
  // A line longer than --max-line (it is not delivered). By default: an
  // error line, then close.
  virtual void on_line_too_long(Connection& c);
  // The server is about to close (idle timeout, shutdown, ...): last chance
  // to send a goodbye, which is still delivered.
  virtual void on_closing(Connection& c, CloseReason reason) {}
  virtual void on_close(Connection& c, CloseReason reason) {}
};

// What a server shares with all its connections. Connections hold it by
// shared_ptr because a suspended connection can outlive its server object
// while the runtime is torn down.
struct ServerContext {
  std::string name;  // the service, for logs
  ConnectionOptions options;
  // Runs an accepted socket on its loop (see Sessions in tcp_server.hpp).
  std::function<void(Loop&, TcpSocket, const asio::ip::tcp::endpoint&, const std::shared_ptr<ServerContext>&,
                     ClientSlot, std::unique_ptr<Transport>)>
      start_session;
  std::function<std::unique_ptr<Protocol>()> make_protocol;  // line services
  // Clients open now (each holds a ClientSlot); shared by servers that
  // share one --max-connections (the chat's TCP and web doors).
  std::shared_ptr<std::atomic<std::size_t>> active = std::make_shared<std::atomic<std::size_t>>(0);
  std::shared_ptr<ServiceMetrics> metrics;
};

// Runs a line client on its loop: a Connection, started (and asked to wind
// down at once when shutdown has begun). The Sessions::start of line services.
void start_connection(Loop& loop, TcpSocket socket, const asio::ip::tcp::endpoint& peer,
                      const std::shared_ptr<ServerContext>& context, ClientSlot slot,
                      std::unique_ptr<Transport> transport = nullptr);

// Counts a closed client, and its reason when it is an error.
void count_close(LoopCounters& counters, CloseReason reason);

struct ConnectionStats {
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

class Connection final : public std::enable_shared_from_this<Connection>, public LoopMember, public MessageLink {
 public:
  // Call on `loop`'s thread; the socket must belong to that loop. `peer` is
  // the address accept() returned (the socket may already be reset by now).
  // `slot`: the client's place in the server's counts, held to the end.
  // Bytes cross the socket through `transport` (TLS), or as they are (null).
  Connection(Loop& loop, TcpSocket socket, asio::ip::tcp::endpoint peer, std::shared_ptr<ServerContext> server,
             ClientSlot slot, std::unique_ptr<Transport> transport = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();

  // Queues one outgoing message (its pieces back to back, copied). It is
  // written at the end of the current read's processing, or on the next loop
  // turn.
  void send(std::initializer_list<std::string_view> pieces) override;
  // The same for a text shared with other connections (not copied).
  void send(SharedText text) override;
  // A byte stream has no message types: the bytes go as they are.
  void send_binary(std::initializer_list<std::string_view> pieces) override { send(pieces); }

  // Stops reading; what is queued is still delivered, then the connection
  // closes. Safe to call more than once (the first reason wins).
  void close_after_flush(CloseReason reason) override;
  // Closes without delivering what is queued (a client too slow to take it).
  void close_now(CloseReason reason);
  // Answers what the client has already sent (what is in the socket now),
  // then closes as close_after_flush() does: the graceful shutdown.
  void close_when_idle(CloseReason reason);

  void close_for_shutdown() override { close_when_idle(CloseReason::server_shutdown); }

  bool is_open() const { return state_ == State::open; }
  std::uint64_t id() const override { return id_; }
  asio::ip::address remote_address() const override { return peer_.address(); }
  bool encrypted() const override { return transport_.encrypted(); }
  const asio::ip::tcp::endpoint& peer() const { return peer_; }
  const ConnectionStats& stats() const { return stats_; }
  std::string_view service() const { return server_->name; }
  const ConnectionOptions& options() const { return server_->options; }
  Loop& loop() { return loop_; }

 private:
  enum class State { open, closing, broken };

  asio::awaitable<void> run();
  void opened();
  asio::awaitable<void> close_down();
  asio::awaitable<void> drain_before_close();
  asio::awaitable<void> lingering_close();
  asio::awaitable<void> writer();
  asio::awaitable<void> watchdog();
  // Not a coroutine: it returns the wait itself, so an idle connection's
  // suspended chain is one frame shorter (idle memory per connection).
  // `what`: the transport's wish (TLS may need to write before it reads).
  asio::awaitable<std::tuple<error_code>> wait_readable(TcpSocket::wait_type what = TcpSocket::wait_read);
  asio::awaitable<void> wait_timer_until(Clock::time_point deadline);
  Timer& wait_timer();  // created on first use
  void wake_reader();   // cancels the reader's wait on wait_timer_, if any
  // A buffer from the loop's pool while input comes (none if all are
  // lent, or the transport reads for itself); back when it is quiet.
  void borrow_read_buffer();
  asio::awaitable<std::tuple<error_code, std::size_t>> read_lent(std::span<char> buffer);
  void give_back_read_buffer();

  void dispatch(std::string_view bytes);
  void after_send();
  void deliver(std::string_view text, std::string_view terminator);
  void deliver_pending();
  Clock::time_point partial_deadline() const;  // max() when none applies
  Clock::time_point next_deadline() const;
  void arm_watchdog();
  bool write_pending();
  void flush();
  void schedule_flush();
  void fail(const error_code& ec);
  log::Level connection_log_level() const {
    return server_->options.log_connections ? log::Level::info : log::Level::debug;
  }
  void log_closed() const;
  // A --trace line about this connection.
  template <typename... Args>
  void trace_step(std::string_view step, fmt::format_string<Args...> format, Args&&... args) const;
  // A log line about this connection (service, id and peer as fields).
  template <typename... Args>
  void note(log::Level level, std::string_view event, fmt::format_string<Args...> format, Args&&... args) const;

  Loop& loop_;
  TcpSocket socket_;
  std::unique_ptr<Transport> own_transport_;  // TLS; plain TCP shares plain_transport()
  Transport& transport_;
  std::shared_ptr<ServerContext> server_;
  ClientSlot slot_;
  std::unique_ptr<Protocol> protocol_;
  std::uint64_t id_;
  asio::ip::tcp::endpoint peer_;

  State state_ = State::open;
  CloseReason reason_ = CloseReason::peer_closed;
  error_code error_;  // what broke the connection, for the log

  LineFramer framer_;
  Outbox outbox_;
  ConnectionStats stats_;
  LoopCounters& counters_;  // this loop's block of the service's metrics
  // When the input that the queued replies answer was read (for the reply
  // latency histogram); unset when nothing is owed.
  std::optional<Clock::time_point> reply_owed_since_;

  // Reader side: a wait for input that close_after_flush() can interrupt.
  asio::cancellation_signal read_cancel_;
  // Partial-message and idle deadlines, checked lazily by one timer,
  // created the first time one is needed: most connections never need it.
  std::unique_ptr<Timer> watchdog_timer_;
  Clock::time_point last_input_;
  bool watchdog_running_ = false;
  bool reading_paused_ = false;  // back-pressure: the reader waits for the outbox to drain
  // The reader's own timer: it waits on it for the writer to drain the
  // outbox (the writer cancels it), then uses it to bound the lingering close.
  // Like the watchdog's, created on first use.
  std::unique_ptr<Timer> wait_timer_;
  bool writer_running_ = false;
  bool flush_scheduled_ = false;
  bool in_callback_ = false;  // a Protocol callback runs; its caller flushes
  bool peer_eof_ = false;     // the client's FIN has been read
  bool buffer_wanted_back_ = false;  // the pool's sweep found it quiet
  ReadBufferPool::Ticket read_ticket_ = ReadBufferPool::kNone;
  std::optional<CloseReason> close_when_idle_;  // set by close_when_idle()
};

}  // namespace enchufe::net
