// `enchufe connect ws://HOST:PORT/PATH`: the line client for WebSocket (a
// websocat for everyday use); wss:// is the same over TLS (tls_dial.hpp).
// Each typed line goes as one text message; each message received is
// printed on a line of its own. End of input waits for the replies to stop,
// then sends a close frame (1000) and waits for the server's.

#include "client/console.hpp"
#include "client/dial.hpp"
#include "client/options.hpp"
#include "client/tls_dial.hpp"
#include "net/coroutine.hpp"
#include "net/text.hpp"
#include "net/websocket_frames.hpp"

#include "net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <fmt/format.h>

#include <deque>
#include <type_traits>

namespace enchufe::client {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

// After sending the quit word or our close frame the server answers at once;
// past this the client leaves anyway.
constexpr auto kCloseGrace = std::chrono::seconds(2);
// WebSocket has no half-close, and Beast drops what arrives after our close
// frame: at end of input the client waits until the server has been quiet
// this long (replies to the last lines are on their way), for at most
// kCloseGrace, before it closes.
constexpr auto kQuietBeforeClose = std::chrono::milliseconds(250);

// Over a tcp::socket (ws://), or a TlsStream on one (wss://, whose
// constructor also takes the TLS context: `stream_args`).
template <typename NextLayer>
class WebSocketClient {
  static constexpr bool kTls = std::is_same_v<NextLayer, TlsStream>;

 public:
  template <typename... StreamArgs>
  WebSocketClient(asio::io_context& context, const ClientOptions& options, StreamArgs&... stream_args)
      : context_(context),
        options_(options),
        ws_(context, stream_args...),
        console_(make_console(context, options.prompt)),
        grace_(context) {}

  int run() {
    if (!dial(beast::get_lowest_layer(ws_), options_, *console_)) return 1;
    net::spawn(context_.get_executor(), [this] { return session(); });
    context_.run();
    return exit_code_;
  }

 private:
  asio::awaitable<void> session() {
    if constexpr (kTls) {
      if (!co_await tls_handshake(ws_.next_layer(), options_, *console_)) {
        exit_code_ = 1;
        co_return;
      }
    }
    if (!co_await upgrade()) co_return;
    console_->start([this](std::optional<std::string> line) { on_line(std::move(line)); });
    co_await read_loop();
  }

  asio::awaitable<bool> upgrade() {
    websocket::permessage_deflate deflate;
    deflate.client_enable = options_.deflate;
    ws_.set_option(deflate);
    ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "enchufe");
      if (options_.trace) {
        trace(*console_, "ws upgrade", "GET {} HTTP/1.1, Host: {}, Upgrade: websocket, Sec-WebSocket-Key: {}, "
              "Sec-WebSocket-Extensions: {}", options_.path, std::string_view(request[beast::http::field::host]),
              std::string_view(request[beast::http::field::sec_websocket_key]),
              or_none(request[beast::http::field::sec_websocket_extensions]));
      }
    }));
    if (options_.trace) {
      ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
        trace(*console_, "3 recv", "{} frame, FIN, unmasked, {} bytes{}", net::frame_name(kind), payload.size(),
              kind == websocket::frame_type::close ? fmt::format(": code {} {}", ws_.reason().code,
                                                                 ws_.reason().reason.c_str())
                                                   : std::string());
      });
    }
    websocket::response_type response;
    // The Host header brackets an IPv6 literal, as the URL did.
    const bool v6 = options_.host.find(':') != std::string::npos;
    const std::string host =
        v6 ? fmt::format("[{}]:{}", options_.host, options_.port) : fmt::format("{}:{}", options_.host, options_.port);
    auto [ec] = co_await ws_.async_handshake(response, host, options_.path, net::use_tuple);
    if (options_.trace && response.result_int() != 0) {
      trace(*console_, "ws upgrade", "answered {} {}; Sec-WebSocket-Accept: {}, Sec-WebSocket-Extensions: {}",
            response.result_int(), std::string_view(response.reason()),
            or_none(response[beast::http::field::sec_websocket_accept]),
            or_none(response[beast::http::field::sec_websocket_extensions]));
    }
    if (ec) {
      finish(response.result_int() != 0
                 ? fmt::format("the server did not upgrade to WebSocket: it answered {} {}{}", response.result_int(),
                               std::string_view(response.reason()),
                               response.body().empty() ? "" : fmt::format(" ({})", net::trim(response.body())))
                 : fmt::format("WebSocket upgrade failed: {}", ec.message()),
             1);
      co_return false;
    }
    co_return true;
  }

  void on_line(std::optional<std::string> line) {
    if (!line) {
      if (!leaving_) leave();
      return;
    }
    if (leaving_) {
      console_->line_done();
      return;
    }
    const bool quitting = net::is_word(*line, options_.quit_word);
    outbox_.push_back(std::move(*line));
    start_writer();
    // As on TCP: send the quit word and leave; the server's close follows.
    if (quitting) give_up_after_grace();
  }

  // End of input: our close frame goes after the lines still queued, and
  // their replies.
  void leave() {
    leaving_ = true;
    close_queued_ = true;
    start_writer();
  }

  // The server closes at once after our quit word or close frame; past
  // kCloseGrace the client leaves anyway.
  void give_up_after_grace() {
    leaving_ = true;
    grace_.expires_after(kCloseGrace);
    grace_.async_wait([this](const error_code& ec) {
      if (!ec) finish("the server did not close in time", 0);
    });
  }

  void start_writer() {
    if (writing_) return;
    writing_ = true;
    net::spawn(context_.get_executor(), [this] { return write_loop(); });
  }

  asio::awaitable<void> write_loop() {
    while (!outbox_.empty()) {
      ws_.text(true);
      auto [ec, n] = co_await ws_.async_write(asio::buffer(outbox_.front()), net::use_tuple);
      if (options_.trace && !ec) {
        trace(*console_, "3 send", "text frame, FIN, masked, {} bytes: {}", n, net::preview(outbox_.front()));
      }
      outbox_.pop_front();
      console_->line_done();
      if (ec) {
        finish(fmt::format("cannot send: {}", ec.message()), 1);
        co_return;
      }
    }
    writing_ = false;
    if (close_queued_ && !close_sent_) {
      co_await wait_for_quiet();
      close_sent_ = true;
      give_up_after_grace();
      if (options_.trace) trace(*console_, "3 send", "close frame, FIN, masked: code 1000");
      co_await ws_.async_close(websocket::close_code::normal, net::use_tuple);
    }
  }

  asio::awaitable<void> wait_for_quiet() {
    asio::steady_timer quiet(context_);
    const auto give_up = std::chrono::steady_clock::now() + kCloseGrace;
    std::uint64_t seen;
    do {
      seen = received_;
      quiet.expires_after(kQuietBeforeClose);
      co_await quiet.async_wait(net::use_tuple);
    } while (received_ != seen && !done_ && std::chrono::steady_clock::now() < give_up);
  }

  asio::awaitable<void> read_loop() {
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buffer_, net::use_tuple);
      if (ec) {
        ended(ec);
        co_return;
      }
      const std::string_view data{static_cast<const char*>(buffer_.data().data()), buffer_.size()};
      if (options_.trace) {
        trace(*console_, "3 recv", "{} message, FIN, unmasked, {} bytes: {}", ws_.got_text() ? "text" : "binary",
              data.size(), net::preview(data));
      }
      ++received_;
      console_->print_incoming(data);
      console_->print_incoming("\n");
      buffer_.clear();
    }
  }

  // The read ended: a close handshake (ours or the server's), or a failure.
  void ended(const error_code& ec) {
    // Our close handshake finished: Beast ends the pending read with this.
    if (close_sent_ && ec == asio::error::operation_aborted) {
      finish("connection closed", 0);
      return;
    }
    if (ec == websocket::error::closed) {
      const auto& why = ws_.reason();
      const bool normal = why.code == websocket::close_code::normal;
      finish(fmt::format("connection closed by the server ({}{}{})", static_cast<int>(why.code),
                         why.reason.empty() ? "" : ": ", why.reason.c_str()),
             normal || close_sent_ ? 0 : 1);
      return;
    }
    finish(fmt::format("connection lost: {}", ec.message()), 1);
  }

  static std::string_view or_none(beast::string_view value) {
    return value.empty() ? std::string_view("none") : std::string_view(value);
  }

  void finish(std::string_view why, int code) {
    if (done_) return;
    done_ = true;
    if (options_.trace) trace(*console_, "4 close", "socket closed");
    // After our own quit word or close the end is expected: no need to say so.
    if (!(leaving_ && code == 0) || console_->interactive() || options_.verbose) console_->notice(why);
    exit_code_ = code;
    context_.stop();
  }

  asio::io_context& context_;
  const ClientOptions& options_;
  websocket::stream<NextLayer> ws_;
  std::unique_ptr<Console> console_;
  asio::steady_timer grace_;
  beast::flat_buffer buffer_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool leaving_ = false;
  bool close_queued_ = false;
  bool close_sent_ = false;
  std::uint64_t received_ = 0;  // messages, to tell when the server is quiet
  bool done_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_websocket_client(const ClientOptions& options) { return run_over_tcp_or_tls<WebSocketClient>(options); }

}  // namespace enchufe::client
