#include "net/websocket_session.hpp"

#include "net/coroutine.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <deque>
#include <limits>

namespace enchufe::net {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

// The close code that tells the client why we close.
websocket::close_code close_code_for(CloseReason reason) {
  switch (reason) {
    case CloseReason::quit:
    case CloseReason::done: return websocket::close_code::normal;
    case CloseReason::server_shutdown:
    case CloseReason::idle_timeout: return websocket::close_code::going_away;
    case CloseReason::flooding:
    case CloseReason::too_slow: return websocket::close_code::policy_error;
    case CloseReason::line_too_long: return websocket::close_code::too_big;
    case CloseReason::bad_input: return websocket::close_code::unknown_data;  // 1003: a binary frame
    default: return websocket::close_code::internal_error;
  }
}

// Why a read failed, for the log and the metrics. Beast has already sent the
// close frame a protocol error deserves (1002, 1007, 1009).
CloseReason reason_for(const error_code& ec) {
  if (ec == websocket::error::closed || ec == beast::http::error::end_of_stream || ec == asio::error::eof) {
    return CloseReason::peer_closed;
  }
  if (ec == beast::error::timeout) return CloseReason::idle_timeout;
  if (ec == websocket::error::message_too_big) return CloseReason::line_too_long;
  if (ec == websocket::condition::protocol_violation) return CloseReason::bad_input;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return CloseReason::reset;
  return CloseReason::io_error;
}

class WebSocketSession final : public LoopMember,
                               public MessageLink,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(Loop& loop, TcpSocket socket, std::string peer, std::shared_ptr<ServerContext> context,
                   std::unique_ptr<MessageProtocol> protocol, const WebSocketOptions& options)
      : loop_(loop),
        ws_(std::move(socket)),
        peer_(std::move(peer)),
        context_(std::move(context)),
        protocol_(std::move(protocol)),
        max_output_(options.max_output),
        counters_(context_->metrics->loop(loop.index())),
        id_(next_client_id()),
        wake_(loop.executor()) {
    loop_.members().add(*this);
    context_->active->fetch_add(1, std::memory_order_relaxed);
    // Chat lines are small and latency matters: no Nagle delay, as on the
    // line connections.
    error_code ignored;
    ws_.next_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
    const auto never = websocket::stream_base::none();
    ws_.set_option(websocket::stream_base::timeout{
        options.handshake_timeout,
        options.idle_timeout.count() > 0 ? websocket::stream_base::duration(options.idle_timeout) : never,
        options.idle_timeout.count() > 0});
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(beast::http::field::server, "enchufe"); }));
    ws_.read_message_max(options.max_message);
    ws_.auto_fragment(false);
  }

  ~WebSocketSession() {
    loop_.members().remove(*this);
    count_close(counters_, reason_);
    context_->active->fetch_sub(1, std::memory_order_relaxed);
  }

  void start(HttpRequest request) {
    spawn(loop_.executor(), [self = shared_from_this(), request = std::move(request)]() mutable {
      return self->run(std::move(request));
    });
  }

  // ---- MessageLink ----

  std::uint64_t id() const override { return id_; }

  void send(std::initializer_list<std::string_view> pieces) override {
    std::string message;
    for (auto piece : pieces) message += piece;
    send(std::make_shared<const std::string>(std::move(message)));
  }

  void send(SharedText message) override {
    if (state_ == State::broken) return;
    owed_ += message->size();
    queue_.push_back(std::move(message));
    wake_writer();
    if (max_output_ > 0 && owed_ > max_output_) watch_backlog();
  }

  void close_after_flush(CloseReason reason) override {
    if (state_ != State::open) return;
    protocol_->on_closing(*this, reason);
    if (state_ != State::open) return;  // the goodbye itself overflowed max_output
    state_ = State::closing;
    reason_ = reason;
    wake_writer();
  }

  // ---- LoopMember ----

  void close_for_shutdown() override {
    if (!opened_) {
      shutdown_pending_ = true;  // the handshake finishes first, then the goodbye
      return;
    }
    close_after_flush(CloseReason::server_shutdown);
  }

 private:
  enum class State { open, closing, broken };

  asio::awaitable<void> run(HttpRequest request) {
    auto [ec] = co_await ws_.async_accept(request, use_tuple);
    if (ec) {
      // Beast has answered a malformed upgrade with 400 already.
      reason_ = CloseReason::bad_input;
      log::at(log::Level::info, context("refused"), "WebSocket handshake with {} failed: {}", peer_, ec.message());
      co_return;
    }
    log::at(connected_level(), context("connected"), "connected {} (WebSocket)", peer_);
    opened_ = true;
    protocol_->on_open(*this);
    if (shutdown_pending_ || loop_.stopping()) close_after_flush(CloseReason::server_shutdown);
    spawn(loop_.executor(), [self = shared_from_this()] { return self->writer(); });
    co_await read_loop();
    protocol_->on_close(*this, reason_);
    log::at(connected_level(), context("closed"), "closed {}: {}{}", peer_, describe(reason_),
            error_ ? fmt::format(" ({})", error_.message()) : std::string());
  }

  asio::awaitable<void> read_loop() {
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buffer_, use_tuple);
      if (ec) {
        if (state_ == State::open) {
          reason_ = reason_for(ec);
          if (reason_ != CloseReason::peer_closed) error_ = ec;
        }
        state_ = State::broken;
        wake_writer();  // it ends
        co_return;
      }
      counters_.add(Counter::messages_in);
      counters_.add(Counter::bytes_in, n);
      if (state_ == State::open) {
        if (ws_.got_text()) {
          protocol_->on_message(*this, {static_cast<const char*>(buffer_.data().data()), buffer_.size()});
        } else {
          close_after_flush(CloseReason::bad_input);  // binary: this service speaks text
        }
      }
      buffer_.clear();
    }
  }

  // Drains the queue, one frame per message (Beast writes a message per
  // call), then sleeps on wake_ until there is more; sends the close frame
  // once everything owed is out.
  asio::awaitable<void> writer() {
    while (state_ != State::broken) {
      if (!queue_.empty()) {
        const SharedText message = std::move(queue_.front());
        queue_.pop_front();
        auto [ec, n] = co_await ws_.async_write(asio::buffer(*message), use_tuple);
        if (state_ == State::broken) co_return;  // cut meanwhile: close_now() dropped what was owed
        owed_ -= message->size();
        if (ec) {
          close_now(reason_for(ec));
          co_return;
        }
        ++writes_done_;
        counters_.add(Counter::messages_out);
        counters_.add(Counter::bytes_out, message->size());
        continue;
      }
      if (state_ == State::closing) {
        // The reader sees the client's answer (or Beast's timeout) and ends.
        co_await ws_.async_close(websocket::close_reason(close_code_for(reason_), describe(reason_)), use_tuple);
        co_return;
      }
      wake_.expires_at(Clock::time_point::max());
      writer_waiting_ = true;
      co_await wake_.async_wait(use_tuple);
      writer_waiting_ = false;
    }
  }

  void wake_writer() {
    if (writer_waiting_) wake_.cancel();
  }

  // Like Redis's client-output-buffer-limit: a client that owes more than
  // max_output is cut, so the others never wait for it. Unlike a line
  // connection, which hands a whole burst to the socket in one write, the
  // writer sends one message per loop turn (a Beast write is one message),
  // so a burst can outgrow the bound while the socket would take it all.
  // So, as Redis's soft and hard limits: over the bound, a client is cut
  // when its socket takes nothing for kStalledTurns turns of the loop (a
  // write's completion may queue behind the burst for a turn or two), or
  // when it stays over for kSoftLimitTime; at kHardLimitFactor times the
  // bound it is cut at once. (A writer that gathers messages into one write
  // would make this the line connection's simple rule: see docs/web.md.)
  static constexpr int kStalledTurns = 3;
  static constexpr auto kSoftLimitTime = std::chrono::seconds(10);
  static constexpr std::size_t kHardLimitFactor = 16;

  void watch_backlog() {
    if (owed_ > kHardLimitFactor * max_output_) {
      close_now(CloseReason::too_slow);
      return;
    }
    if (backlog_watched_) return;
    backlog_watched_ = true;
    over_since_ = Clock::now();
    post_backlog_check(writes_done_, kStalledTurns);
  }

  void post_backlog_check(std::uint64_t writes_then, int turns_left) {
    asio::post(loop_.executor(), [self = shared_from_this(), writes_then, turns_left] {
      if (self->state_ == State::broken || self->owed_ <= self->max_output_) {
        self->backlog_watched_ = false;
      } else if (Clock::now() - self->over_since_ > kSoftLimitTime) {
        self->close_now(CloseReason::too_slow);
      } else if (self->writes_done_ != writes_then) {
        self->post_backlog_check(self->writes_done_, kStalledTurns);  // moving: keep watching
      } else if (turns_left > 1) {
        self->post_backlog_check(writes_then, turns_left - 1);
      } else {
        self->close_now(CloseReason::too_slow);
      }
    });
  }

  // Drops what is owed and the connection: for a client that does not read,
  // a close frame would only queue behind the rest.
  void close_now(CloseReason reason) {
    if (state_ == State::broken) return;
    if (state_ == State::open) reason_ = reason;
    state_ = State::broken;
    queue_.clear();
    owed_ = 0;
    error_code ignored;
    ws_.next_layer().close(ignored);  // ends both coroutines' operations
    wake_writer();
  }

  log::Level connected_level() const {
    return context_->options.log_connections ? log::Level::info : log::Level::debug;
  }
  log::Context context(std::string_view event) const {
    return {.service = context_->name, .connection = id_, .peer = peer_, .event = event};
  }

  Loop& loop_;
  websocket::stream<TcpSocket> ws_;
  std::string peer_;
  std::shared_ptr<ServerContext> context_;
  std::unique_ptr<MessageProtocol> protocol_;
  const std::size_t max_output_;
  LoopCounters& counters_;
  const std::uint64_t id_;

  beast::flat_buffer buffer_;
  std::deque<SharedText> queue_;
  std::size_t owed_ = 0;  // queued bytes and the message being written
  Timer wake_;
  bool writer_waiting_ = false;
  std::uint64_t writes_done_ = 0;  // progress, for the backlog check
  bool backlog_watched_ = false;
  Clock::time_point over_since_;  // when owed_ went over max_output

  State state_ = State::open;
  CloseReason reason_ = CloseReason::peer_closed;
  error_code error_;
  bool opened_ = false;  // the handshake succeeded and on_open ran
  bool shutdown_pending_ = false;
};

}  // namespace

void start_websocket(Loop& loop, TcpSocket socket, HttpRequest request, std::string peer,
                     std::shared_ptr<ServerContext> context, std::unique_ptr<MessageProtocol> protocol,
                     const WebSocketOptions& options) {
  std::make_shared<WebSocketSession>(loop, std::move(socket), std::move(peer), std::move(context),
                                     std::move(protocol), options)
      ->start(std::move(request));
}

}  // namespace enchufe::net
