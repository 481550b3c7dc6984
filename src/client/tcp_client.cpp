// `enchufe connect HOST PORT`: a full-duplex line client, like nc, that the
// tutorial's echo client would be if it did not wait for each reply; with
// --tls the same client over TLS (tls_dial.hpp); with --reconnect, a chat
// client that comes back after a dropped connection (chat_resume.hpp).

#include "client/chat_resume.hpp"
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

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <random>
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

// --reconnect: the wait before the next try, doubled after each failure up
// to the most, with up to a fifth either way so that clients dropped
// together do not all come back in the same instant.
constexpr auto kFirstRetry = std::chrono::milliseconds(500);
constexpr auto kMostRetry = std::chrono::seconds(30);
constexpr double kRetryJitter = 0.2;
// --reconnect reads the server's lines one by one; a "line" longer than this
// without a newline is shown as it is and not read.
constexpr std::size_t kMaxIncomingLine = 64 * 1024;

// Over a tcp::socket, or a TlsStream on one (whose constructor also takes
// the TLS context: `stream_args`). With --reconnect, every connection has
// its own stream and number (`generation_`): what the coroutines of a
// dropped one do after it is dropped is ignored.
template <typename Stream>
class TcpClient {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  template <typename... StreamArgs>
  TcpClient(asio::io_context& context, const ClientOptions& options, StreamArgs&... stream_args)
      : context_(context), options_(options),
        make_stream_([&context, &stream_args...] { return std::make_shared<Stream>(context, stream_args...); }),
        console_(make_console(context, options.prompt)), grace_(context), retry_(context),
        jitter_(std::random_device{}()) {}

  int run() {
    socket_ = make_stream_();
    if (!dial(socket_->lowest_layer(), options_, *console_)) return 1;
    connected_ = true;
    net::spawn(context_.get_executor(), [this] { return session(); });
    context_.run();
    return exit_code_;
  }

 private:
  struct Outgoing {
    std::string bytes;
    bool typed;  // a line of the user's: line_done() once handled
  };

  asio::awaitable<void> session() {
    const std::uint64_t generation = generation_;
    if constexpr (kTls) {
      const bool ok = co_await tls_handshake(*socket_, options_, *console_);
      if (!ok) {
        if (started_) {
          lost(generation, "TLS handshake failed", 1);
        } else {
          exit_code_ = 1;
        }
        co_return;
      }
    }
    if (!started_) {
      started_ = true;
      console_->start([this](std::optional<std::string> line) { on_line(std::move(line)); });
      if (options_.reconnect) send_own(ChatResume::kNumberLines);
    } else {
      for (const auto& line : resume_.resume_lines()) send_own(line);
    }
    co_await read_loop();
  }

  void send_own(std::string_view line) {
    outbox_.push_back({std::string(line) + std::string(terminator(options_.line_ending)), false});
    start_writer();
  }

  void on_line(std::optional<std::string> line) {
    if (!line) {
      // End of input: say so to the server (half-close) and keep printing
      // until it has finished.
      if (!leaving_) {
        leaving_ = true;
        queue_shutdown_ = true;
        if (!connected_) finish("", 0);
        start_writer();
      }
      return;
    }
    if (leaving_ || !connected_) {
      // Away (--reconnect): the quit word still leaves; anything else is refused.
      if (!leaving_ && net::is_word(*line, options_.quit_word)) {
        finish("", 0);
      } else if (!leaving_) {
        console_->notice("not connected: that line was not sent");
      }
      console_->line_done();
      return;
    }
    outbox_.push_back({std::move(*line) + std::string(terminator(options_.line_ending)), true});
    if (net::is_word(outbox_.back().bytes, options_.quit_word)) {
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
    if (writing_ || !connected_) return;
    writing_ = true;
    net::spawn(context_.get_executor(), [this] { return write_loop(); });
  }

  asio::awaitable<void> write_loop() {
    const auto stream = socket_;
    const std::uint64_t generation = generation_;
    while (!outbox_.empty()) {
      // A copy: a dropped connection empties the outbox under a write.
      const Outgoing next = outbox_.front();
      auto [ec, n] = co_await asio::async_write(*stream, asio::buffer(next.bytes), net::use_tuple);
      if (generation != generation_) co_return;
      if (options_.trace && !ec) trace("3 send", "{} bytes: {}", n, net::preview(next.bytes));
      outbox_.pop_front();
      if (next.typed) console_->line_done();
      if (ec) {
        lost(generation, fmt::format("cannot send: {}", ec.message()), 1);
        co_return;
      }
    }
    writing_ = false;
    if (queue_shutdown_) {
      if constexpr (kTls) {
        const error_code ec = co_await send_close_notify(*stream);
        if (options_.trace) trace("tls close", "close_notify {}", ec ? "failed: " + ec.message() : "sent");
      }
      error_code ignored;
      stream->lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
      if (options_.trace) trace("shutdown", "our side is done sending (FIN); still reading until the server closes");
    }
  }

  asio::awaitable<void> read_loop() {
    const auto stream = socket_;
    const std::uint64_t generation = generation_;
    char buffer[16 * 1024];
    for (;;) {
      auto [ec, n] = co_await stream->async_read_some(asio::buffer(buffer), net::use_tuple);
      if (generation != generation_) co_return;
      // Over TLS a close without close_notify is how most servers end
      // anyway: the data that came is whole, so it is an ordinary close.
      const bool truncated = kTls && ec == asio::ssl::error::stream_truncated;
      if (options_.trace) {
        if (n > 0) trace("3 recv", "{} bytes: {}", n, net::preview({buffer, n}));
        if (ec == asio::error::eof && !kTls) trace("3 recv", "0 bytes: the server closed its side (FIN)");
        if (ec == asio::error::eof && kTls) trace("tls close", "the server sent close_notify: it is done");
        if (truncated) trace("tls close", "the server closed without close_notify");
      }
      if (n > 0) show({buffer, n});
      if (ec == asio::error::eof || truncated) {
        lost(generation, "connection closed by the server", 0);
        co_return;
      }
      if (ec) {
        lost(generation, fmt::format("connection lost: {}", ec.message()), 1);
        co_return;
      }
    }
  }

  // The server's bytes as they come; with --reconnect, line by line
  // through the resume, which hides what a new session repeats.
  void show(std::string_view bytes) {
    if (!options_.reconnect) {
      console_->print_incoming(bytes);
      return;
    }
    incoming_.append(bytes);
    // The lines read here go in one erase at the end, not one each.
    std::size_t from = 0;
    for (std::size_t newline; (newline = incoming_.find('\n', from)) != std::string::npos; from = newline + 1) {
      std::string_view line(incoming_.data() + from, newline - from);
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (resume_.on_line(line)) console_->print_incoming({incoming_.data() + from, newline + 1 - from});
    }
    incoming_.erase(0, from);
    if (incoming_.size() > kMaxIncomingLine) {
      console_->print_incoming(incoming_);
      incoming_.clear();
    }
  }

  // The end of connection `generation`: with --reconnect, unless the user
  // is leaving, another one in a while; otherwise the end.
  void lost(std::uint64_t generation, std::string_view why, int code) {
    if (generation != generation_ || !connected_) return;
    if (!options_.reconnect || leaving_ || resume_.said_goodbye()) {
      finish(why, code);
      return;
    }
    connected_ = false;
    writing_ = false;
    ++generation_;
    error_code ignored;
    socket_->lowest_layer().close(ignored);
    for (const auto& dropped : outbox_) {
      if (dropped.typed) console_->line_done();
    }
    outbox_.clear();
    incoming_.clear();
    retry_after(why);
  }

  void retry_after(std::string_view why) {
    std::uniform_real_distribution<double> spread(1.0 - kRetryJitter, 1.0 + kRetryJitter);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry_wait_ * spread(jitter_));
    console_->notice(fmt::format("{}; reconnecting in {:.1f} s", why, wait.count() / 1000.0));
    retry_wait_ = std::min<std::chrono::milliseconds>(retry_wait_ * 2, kMostRetry);
    retry_.expires_after(wait);
    retry_.async_wait([this](const error_code& ec) {
      if (!ec) reconnect();
    });
  }

  void reconnect() {
    if (done_ || leaving_) return;
    socket_ = make_stream_();
    bool ok = false;
    try {
      ok = dial(socket_->lowest_layer(), options_, *console_);
    } catch (const std::exception& e) {  // the name no longer resolves
      console_->notice(e.what());
    }
    if (!ok) {
      retry_after("still away");
      return;
    }
    retry_wait_ = kFirstRetry;
    connected_ = true;
    net::spawn(context_.get_executor(), [this] { return session(); });
  }

  template <typename... Args>
  void trace(std::string_view step, fmt::format_string<Args...> format, Args&&... args) {
    client::trace(*console_, step, format, std::forward<Args>(args)...);
  }

  void finish(std::string_view why, int code) {
    if (done_) return;
    done_ = true;
    if (options_.trace && connected_) trace("4 close", "socket closed");
    // After our own quit word the close is expected: no need to announce it.
    if (!why.empty() && (!(leaving_ && code == 0) || console_->interactive() || options_.verbose)) {
      console_->notice(why);
    }
    exit_code_ = code;
    context_.stop();
  }

  asio::io_context& context_;
  const ClientOptions& options_;
  const std::function<std::shared_ptr<Stream>()> make_stream_;
  std::shared_ptr<Stream> socket_;
  std::uint64_t generation_ = 0;
  bool connected_ = false;
  bool started_ = false;  // the console reads input (from the first connection on)
  std::unique_ptr<Console> console_;
  asio::steady_timer grace_;
  asio::steady_timer retry_;
  std::chrono::milliseconds retry_wait_ = kFirstRetry;
  std::minstd_rand jitter_;
  std::deque<Outgoing> outbox_;
  std::string incoming_;  // --reconnect: the start of a line not ended yet
  ChatResume resume_;
  bool writing_ = false;
  bool leaving_ = false;
  bool queue_shutdown_ = false;
  bool done_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_tcp_client(const ClientOptions& options) { return run_over_tcp_or_tls<TcpClient>(options); }

}  // namespace enchufe::client
