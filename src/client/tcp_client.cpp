// `enchufe connect HOST PORT`: a full-duplex line client, like nc, that the
// tutorial's echo client would be if it did not wait for each reply; with
// --tls the same client over TLS (tls_dial.hpp).

#include "client/console.hpp"
#include "client/dial.hpp"
#include "client/options.hpp"
#include "client/tls_dial.hpp"
#include "net/coroutine.hpp"
#include "net/text.hpp"

#include "net/asio.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <deque>
#include <type_traits>

namespace enchufe::client {

namespace {

using asio::ip::tcp;

// After sending the quit word the server usually closes at once; past this
// the client leaves anyway.
constexpr auto kQuitGrace = std::chrono::seconds(2);

std::string_view terminator(LineEnding ending) {
  switch (ending) {
    case LineEnding::lf: return "\n";
    case LineEnding::crlf: return "\r\n";
    case LineEnding::none: return "";
  }
  return "\n";
}

// Over a tcp::socket, or a TlsStream on one (whose constructor also takes
// the TLS context: `stream_args`).
template <typename Stream>
class TcpClient {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  template <typename... StreamArgs>
  TcpClient(asio::io_context& context, const ClientOptions& options, StreamArgs&... stream_args)
      : context_(context), options_(options), socket_(context, stream_args...),
        console_(make_console(context, options.prompt)), grace_(context) {}

  int run() {
    if (!dial(socket_.lowest_layer(), options_, *console_)) return 1;
    net::spawn(context_.get_executor(), [this] { return session(); });
    context_.run();
    return exit_code_;
  }

 private:
  asio::awaitable<void> session() {
    if constexpr (kTls) {
      if (!co_await tls_handshake(socket_, options_, *console_)) {
        exit_code_ = 1;
        co_return;
      }
    }
    console_->start([this](std::optional<std::string> line) { on_line(std::move(line)); });
    co_await read_loop();
  }

  void on_line(std::optional<std::string> line) {
    if (!line) {
      // End of input: say so to the server (half-close) and keep printing
      // until it has finished.
      if (!leaving_) {
        leaving_ = true;
        queue_shutdown_ = true;
        start_writer();
      }
      return;
    }
    if (leaving_) {
      console_->line_done();
      return;
    }
    outbox_.push_back(std::move(*line) + std::string(terminator(options_.line_ending)));
    if (net::is_word(outbox_.back(), options_.quit_word)) {
      // As in the tutorial: send the quit word and leave. We still print what
      // the server sends before it closes, for a bounded time.
      leaving_ = true;
      queue_shutdown_ = true;
      grace_.expires_after(kQuitGrace);
      grace_.async_wait([this](const error_code& ec) {
        if (!ec) context_.stop();
      });
    }
    start_writer();
  }

  void start_writer() {
    if (writing_) return;
    writing_ = true;
    net::spawn(context_.get_executor(), [this] { return write_loop(); });
  }

  asio::awaitable<void> write_loop() {
    while (!outbox_.empty()) {
      auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(outbox_.front()), net::use_tuple);
      if (options_.trace && !ec) trace("3 send", "{} bytes: {}", n, net::preview(outbox_.front()));
      outbox_.pop_front();
      console_->line_done();
      if (ec) {
        finish(fmt::format("cannot send: {}", ec.message()), 1);
        co_return;
      }
    }
    writing_ = false;
    if (queue_shutdown_) {
      if constexpr (kTls) {
        const error_code ec = co_await send_close_notify(socket_);
        if (options_.trace) trace("tls close", "close_notify {}", ec ? "failed: " + ec.message() : "sent");
      }
      error_code ignored;
      socket_.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
      if (options_.trace) trace("shutdown", "our side is done sending (FIN); still reading until the server closes");
    }
  }

  asio::awaitable<void> read_loop() {
    char buffer[16 * 1024];
    for (;;) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer), net::use_tuple);
      // Over TLS a close without close_notify is how most servers end
      // anyway: the data that came is whole, so it is an ordinary close.
      const bool truncated = kTls && ec == asio::ssl::error::stream_truncated;
      if (options_.trace) {
        if (n > 0) trace("3 recv", "{} bytes: {}", n, net::preview({buffer, n}));
        if (ec == asio::error::eof && !kTls) trace("3 recv", "0 bytes: the server closed its side (FIN)");
        if (ec == asio::error::eof && kTls) trace("tls close", "the server sent close_notify: it is done");
        if (truncated) trace("tls close", "the server closed without close_notify");
      }
      if (n > 0) console_->print_incoming({buffer, n});
      if (ec == asio::error::eof || truncated) {
        finish("connection closed by the server", 0);
        co_return;
      }
      if (ec) {
        finish(fmt::format("connection lost: {}", ec.message()), 1);
        co_return;
      }
    }
  }

  template <typename... Args>
  void trace(std::string_view step, fmt::format_string<Args...> format, Args&&... args) {
    client::trace(*console_, step, format, std::forward<Args>(args)...);
  }

  void finish(std::string_view why, int code) {
    if (done_) return;
    done_ = true;
    if (options_.trace) trace("4 close", "socket closed");
    // After our own quit word the close is expected: no need to announce it.
    if (!(leaving_ && code == 0) || console_->interactive() || options_.verbose) {
      console_->notice(why);
    }
    exit_code_ = code;
    context_.stop();
  }

  asio::io_context& context_;
  const ClientOptions& options_;
  Stream socket_;
  std::unique_ptr<Console> console_;
  asio::steady_timer grace_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool leaving_ = false;
  bool queue_shutdown_ = false;
  bool done_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_tcp_client(const ClientOptions& options) { return run_over_tcp_or_tls<TcpClient>(options); }

}  // namespace enchufe::client
