#include "net/websocket_session.hpp"

#include "net/coroutine.hpp"
#include "net/gathering_socket.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"
#include "net/text.hpp"
#include "net/trace.hpp"
#include "net/websocket_frames.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <span>

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
  // not_connected: the closing handshake's shutdown found the peer gone.
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == asio::error::not_connected) {
    return CloseReason::reset;
  }
  return CloseReason::io_error;
}

// permessage-deflate as offered by this server (see limits.hpp for why
// these windows).
websocket::permessage_deflate deflate_options(bool enabled) {
  websocket::permessage_deflate pmd;
  pmd.server_enable = enabled;
  pmd.server_max_window_bits = limits::kDeflateWindowBits;
  pmd.client_max_window_bits = limits::kDeflateWindowBits;
  pmd.memLevel = limits::kDeflateMemLevel;
  pmd.msg_size_threshold = limits::kDeflateMinBytes;
  return pmd;
}

class WebSocketSession final : public LoopMember,
                               public MessageLink,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(Loop& loop, GatheringSocket socket, std::string peer, std::shared_ptr<ServerContext> context,
                   ClientSlot slot, std::unique_ptr<MessageProtocol> protocol, const WebSocketOptions& options)
      : loop_(loop),
        ws_(std::move(socket)),
        peer_(std::move(peer)),
        context_(std::move(context)),
        slot_(std::move(slot)),
        protocol_(std::move(protocol)),
        max_output_(options.max_output),
        silence_timeout_(options.silence_timeout),
        counters_(context_->metrics->loop(loop.index())),
        id_(next_client_id()),
        drained_(loop.executor()),
        silence_(loop.executor()) {
    loop_.members().add(*this);
    // Chat lines are small and latency matters: no Nagle delay, as on the
    // line connections.
    error_code ignored;
    ws_.next_layer().next_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
    const auto never = websocket::stream_base::none();
    ws_.set_option(websocket::stream_base::timeout{
        options.handshake_timeout,
        options.idle_timeout.count() > 0 ? websocket::stream_base::duration(options.idle_timeout) : never,
        options.idle_timeout.count() > 0});
    ws_.set_option(websocket::stream_base::decorator([this](websocket::response_type& response) {
      response.set(beast::http::field::server, "enchufe");
      if (trace::on()) trace_response(response);
    }));
    ws_.set_option(deflate_options(options.deflate));
    ws_.read_message_max(options.max_message);
    ws_.auto_fragment(false);
    ws_.next_layer().on_drained([this] {
      if (reader_paused_) drained_.cancel();
    });
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      on_control_frame(kind, payload);
    });
  }

  ~WebSocketSession() {
    loop_.members().remove(*this);
    count_close(counters_, reason_);
  }

  void start(HttpRequest request) {
    spawn(loop_.executor(), [self = shared_from_this(), request = std::move(request)]() mutable {
      return self->run(std::move(request));
    });
  }

  // ---- MessageLink ----

  std::uint64_t id() const override { return id_; }
  asio::ip::address remote_address() const override { return slot_.address(); }
  bool encrypted() const override { return ws_.next_layer().transport().encrypted(); }

  void send(std::initializer_list<std::string_view> pieces) override { frame(pieces, false); }
  void send(SharedText message) override { frame({*message}, false); }
  void send_binary(std::initializer_list<std::string_view> pieces) override { frame(pieces, true); }

  void close_after_flush(CloseReason reason) override {
    if (state_ != State::open) return;
    protocol_->on_closing(*this, reason);
    if (state_ != State::open) return;  // the goodbye itself overflowed max_output
    state_ = State::closing;
    reason_ = reason;
    // Everything owed is framed already: the close frame goes behind it.
    spawn(loop_.executor(), [self = shared_from_this()] { return self->close_handshake(); });
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
    if (trace::on()) trace_request(request);
    auto [ec] = co_await ws_.async_accept(request, use_tuple);
    if (ec) {
      // Beast has answered a malformed upgrade with 400 already: it leaves
      // now, before the socket closes (no read follows to send it).
      ws_.next_layer().flush_now();
      reason_ = CloseReason::bad_input;
      log::at(log::Level::info, context("refused"), "WebSocket handshake with {} failed: {}", peer_, ec.message());
      co_return;
    }
    log::at(connected_level(), context("connected"), "connected {} (WebSocket)", peer_);
    opened_ = true;
    protocol_->on_open(*this);
    if (silence_timeout_.count() > 0) watch_silence();
    if (shutdown_pending_ || loop_.stopping()) close_after_flush(CloseReason::server_shutdown);
    co_await read_loop();
    protocol_->on_close(*this, reason_);
    if (trace::on()) trace_step("6 close", "socket closed");
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
        if (trace::on()) trace_step("5 recv", "the connection ended: {}", ec.message());
        co_return;
      }
      counters_.add(Counter::messages_in);
      counters_.add(Counter::bytes_in, n);
      last_message_ = Clock::now();
      const std::string_view data{static_cast<const char*>(buffer_.data().data()), buffer_.size()};
      if (trace::on()) trace_message("5 recv", ws_.got_text(), data, "masked");
      if (state_ == State::open) {
        if (ws_.got_text()) {
          protocol_->on_message(*this, data);
        } else {
          protocol_->on_binary(*this, data);
        }
      }
      buffer_.clear();
      if (max_output_ == 0) co_await wait_while_owing();
    }
  }

  // Back-pressure: a client that does not take its replies is not read
  // (so the kernel's window stops it) until they drain.
  asio::awaitable<void> wait_while_owing() {
    auto& socket = ws_.next_layer();
    while (state_ == State::open && socket.owed() > limits::kOutputHighWater) {
      socket.flush_now();  // what this reader deferred must not wait for it
      if (socket.owed() <= limits::kOutputHighWater) break;
      drained_.expires_at(Clock::time_point::max());
      reader_paused_ = true;
      co_await drained_.async_wait(use_tuple);
      reader_paused_ = false;
    }
  }

  void on_control_frame(websocket::frame_type kind, beast::string_view payload) {
    if (trace::on()) {
      trace_step("5 recv", "{} frame, FIN, masked, {} bytes{}", frame_name(kind), payload.size(),
                 kind == websocket::frame_type::close
                     ? fmt::format(": code {} {}", ws_.reason().code, ws_.reason().reason.c_str())
                     : payload.empty() ? std::string() : fmt::format(": {}", preview(payload)));
    }
    // RFC 6455 (7.4) defines close codes up to 4999; Beast 1.81 takes any
    // code from 3000 up as valid and would echo 5000. Such a close fails the
    // connection: dropped without a close frame (RFC 6455, 7.1.7), since
    // Beast's answer cannot be changed from here.
    if (kind == websocket::frame_type::close && ws_.reason().code > kLastCloseCode) {
      log::at(log::Level::info, context("bad_input"), "{} closed with undefined code {}", peer_,
              ws_.reason().code);
      close_now(CloseReason::bad_input);
    }
  }

  static constexpr std::uint16_t kLastCloseCode = 4999;

  // --idle-timeout: checked when the last message could have expired, so a
  // busy client costs no timer operation per message.
  void watch_silence() {
    silence_.expires_at(last_message_ + silence_timeout_);
    silence_.async_wait([weak = weak_from_this()](const error_code& ec) {
      const auto self = weak.lock();
      if (ec || !self || self->state_ != State::open) return;
      if (Clock::now() - self->last_message_ >= self->silence_timeout_) {
        self->close_after_flush(CloseReason::idle_timeout);
      } else {
        self->watch_silence();
      }
    });
  }

  // Frames one message into the gathering socket, which sends it (with
  // whatever else this turn queues) once the current handler returns.
  void frame(std::initializer_list<std::string_view> pieces, bool binary) {
    // After a close frame (ours, or Beast's answer to the client's) nothing
    // may follow.
    if (state_ == State::broken || close_started_ || !ws_.is_open()) return;
    std::array<asio::const_buffer, 4> buffers;
    std::size_t count = 0, size = 0;
    for (const auto piece : pieces) {
      buffers.at(count++) = asio::buffer(piece);
      size += piece.size();
    }
    ws_.binary(binary);
    error_code ec;
    ws_.write(std::span(buffers.data(), count), ec);
    if (ec) {
      close_now(reason_for(ec));
      return;
    }
    counters_.add(Counter::messages_out);
    counters_.add(Counter::bytes_out, size);
    if (trace::on()) {
      std::string text;
      for (const auto piece : pieces) text += piece;
      trace_message("5 send", !binary, text, "unmasked");
    }
    if (max_output_ > 0 && ws_.next_layer().owed() > max_output_) cut_if_not_reading();
  }

  // Like Redis's client-output-buffer-limit: a client owing more than
  // max_output is cut, so the others never wait for it. A burst is only too
  // much if the socket will not take it: offer it first, as Connection does.
  void cut_if_not_reading() {
    auto& socket = ws_.next_layer();
    socket.flush_now();
    if (socket.owed() <= max_output_) return;
    log::at(log::Level::info, context("too_slow"), "{} owes {} bytes, over the output limit; disconnecting", peer_,
            socket.owed());
    close_now(CloseReason::too_slow);
  }

  // The closing handshake; the reader sees the client's answer (or Beast's
  // timeout) and ends the session.
  asio::awaitable<void> close_handshake() {
    close_started_ = true;
    const websocket::close_reason why(close_code_for(reason_), describe(reason_));
    if (trace::on()) trace_step("5 send", "close frame, FIN, unmasked: code {} {}", why.code, why.reason.c_str());
    co_await ws_.async_close(why, use_tuple);
  }

  // Drops what is owed and the connection: for a client that does not read,
  // a close frame would only queue behind the rest.
  void close_now(CloseReason reason) {
    if (state_ == State::broken) return;
    if (state_ == State::open) reason_ = reason;
    state_ = State::broken;
    ws_.next_layer().close();  // ends the reader's and any write's operation
    if (reader_paused_) drained_.cancel();
  }

  // ---- --trace ----

  template <typename... Args>
  void trace_step(std::string_view step, fmt::format_string<Args...> f, Args&&... args) const {
    trace::step(context("trace"), step, f, std::forward<Args>(args)...);
  }

  void trace_request(const HttpRequest& request) const {
    trace_step("ws upgrade", "{} {} from {}: Upgrade: {}, Sec-WebSocket-Version: {}, Sec-WebSocket-Extensions: {}",
               std::string_view(request.method_string()), std::string_view(request.target()), peer_,
               std::string_view(request[beast::http::field::upgrade]),
               std::string_view(request[beast::http::field::sec_websocket_version]),
               field_or_none(request, beast::http::field::sec_websocket_extensions));
  }

  void trace_response(const websocket::response_type& response) const {
    trace_step("ws upgrade", "answered {} {}; Sec-WebSocket-Accept: {}, Sec-WebSocket-Extensions: {}",
               response.result_int(), std::string_view(response.reason()),
               std::string_view(response[beast::http::field::sec_websocket_accept]),
               field_or_none(response, beast::http::field::sec_websocket_extensions));
  }

  template <typename Message>
  static std::string_view field_or_none(const Message& message, beast::http::field field) {
    const auto value = message[field];
    return value.empty() ? std::string_view("none") : std::string_view(value);
  }

  // Beast hands over whole messages: a message sent in fragments shows here
  // as one.
  void trace_message(std::string_view step, bool text, std::string_view data, std::string_view masking) const {
    trace_step(step, "{} message, FIN, {}, {} bytes: {}", text ? "text" : "binary", masking, data.size(),
               logged_preview(context_->options, data));
  }

  log::Level connected_level() const {
    return context_->options.log_connections ? log::Level::info : log::Level::debug;
  }
  log::Context context(std::string_view event) const {
    return {.service = context_->name, .connection = id_, .peer = peer_, .event = event};
  }

  Loop& loop_;
  websocket::stream<GatheringSocket> ws_;
  std::string peer_;
  std::shared_ptr<ServerContext> context_;
  ClientSlot slot_;
  std::unique_ptr<MessageProtocol> protocol_;
  const std::size_t max_output_;
  const std::chrono::milliseconds silence_timeout_;
  LoopCounters& counters_;
  const std::uint64_t id_;

  beast::flat_buffer buffer_;
  Timer drained_;  // wakes a reader paused on back-pressure
  bool reader_paused_ = false;
  Timer silence_;  // --idle-timeout
  Clock::time_point last_message_ = Clock::now();

  State state_ = State::open;
  bool close_started_ = false;  // the close frame is framed: nothing may follow it
  CloseReason reason_ = CloseReason::peer_closed;
  error_code error_;
  bool opened_ = false;  // the handshake succeeded and on_open ran
  bool shutdown_pending_ = false;
};

}  // namespace

void start_websocket(Loop& loop, GatheringSocket socket, HttpRequest request, std::string peer,
                     std::shared_ptr<ServerContext> context, ClientSlot slot,
                     std::unique_ptr<MessageProtocol> protocol, const WebSocketOptions& options) {
  std::make_shared<WebSocketSession>(loop, std::move(socket), std::move(peer), std::move(context), std::move(slot),
                                     std::move(protocol), options)
      ->start(std::move(request));
}

}  // namespace enchufe::net
