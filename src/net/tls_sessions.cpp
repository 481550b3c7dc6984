#include "net/tls_sessions.hpp"

#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/log.hpp"
#include "net/text.hpp"
#include "net/tls_describe.hpp"
#include "net/tls_transport.hpp"
#include "net/trace.hpp"

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

namespace enchufe::net {

namespace {

// Why a handshake ended without a session, for the log line and the counters.
struct Refusal {
  CloseReason reason;
  std::string why;
};

Refusal explain(const error_code& ec) {
  if (ec == asio::error::eof) return {CloseReason::peer_closed, "the client left during the TLS handshake"};
  if (ec == asio::error::connection_reset) return {CloseReason::reset, "connection reset during the TLS handshake"};
  if (ec.category() == asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    // The client's alert about our certificate comes back as one of these.
    if (reason >= SSL_AD_REASON_OFFSET) {
      return {CloseReason::bad_input, fmt::format("the client ended the TLS handshake: {}", ec.message())};
    }
    return {CloseReason::bad_input, fmt::format("TLS handshake failed: {}", ec.message())};
  }
  return {CloseReason::io_error, fmt::format("TLS handshake failed: {}", ec.message())};
}

struct TlsConfig {
  std::shared_ptr<tls::ServerCertificates> certificates;
  TlsSessionOptions options;
  Sessions then;
};

// One client from accept to its first decrypted byte: the handshake, then
// the hand-over to the service's session. A loop member so that shutdown
// does not wait for a stalled handshake.
class TlsHandshake final : public std::enable_shared_from_this<TlsHandshake>, public LoopMember {
 public:
  TlsHandshake(Loop& loop, TcpSocket socket, const asio::ip::tcp::endpoint& peer,
               std::shared_ptr<ServerContext> context, ClientSlot slot, SSL_CTX* ssl_context,
               std::shared_ptr<const TlsConfig> config)
      : loop_(loop),
        socket_(std::move(socket)),
        peer_(peer),
        peer_text_(to_string(peer)),
        context_(std::move(context)),
        slot_(std::move(slot)),
        config_(std::move(config)),
        deadline_(loop.executor()) {
    error_code ignored;
    socket_.non_blocking(true, ignored);
    // The handshake's flights and the first reply are small writes in a
    // row: Nagle would hold each behind the client's delayed ACK (~40 ms).
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    transport_ = std::make_unique<TlsTransport>(ssl_context, socket_);
    loop_.members().add(*this);
  }

  ~TlsHandshake() { loop_.members().remove(*this); }

  void start() {
    deadline_.expires_after(config_->options.handshake_timeout);
    deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec) return;
      self->timed_out_ = true;
      error_code ignored;
      self->socket_.cancel(ignored);
    });
    spawn(loop_.executor(), [self = shared_from_this()] { return self->run(); });
  }

  void close_for_shutdown() override {
    stopping_ = true;
    error_code ignored;
    socket_.cancel(ignored);
  }

 private:
  asio::awaitable<void> run() {
    if (trace::on()) trace("tls handshake", "waiting for the client's ClientHello");
    std::optional<Refusal> refusal = co_await refuse_plaintext();
    if (!refusal) refusal = co_await handshake();
    deadline_.cancel();
    if (refusal) {
      end(*refusal);
      co_return;
    }
    if (trace::on()) {
      trace("tls established", "{}; our certificate {} (SHA-256 {})", tls::version_and_cipher(transport_->ssl()),
            tls::subject(SSL_get_certificate(transport_->ssl())),
            tls::fingerprint(SSL_get_certificate(transport_->ssl())));
    }
    config_->then.start(loop_, std::move(socket_), peer_, context_, std::move(slot_), std::move(transport_));
  }

  // Waits for the first bytes and looks at them without taking them: a
  // client that types or sends HTTP to a TLS port is told so in the log,
  // rather than with OpenSSL's "wrong version number".
  asio::awaitable<std::optional<Refusal>> refuse_plaintext() {
    if (auto stop = co_await wait(TcpSocket::wait_read)) co_return stop;
    char first[16];
    const ssize_t n = ::recv(socket_.native_handle(), first, sizeof first, MSG_PEEK);
    if (n < 0) co_return explain(error_code(errno, asio::error::get_system_category()));
    if (n == 0) co_return explain(asio::error::eof);
    const std::string_view bytes(first, static_cast<std::size_t>(n));
    if (tls::looks_like_client_hello(bytes)) co_return std::nullopt;
    co_return Refusal{CloseReason::bad_input,
                      fmt::format("the client does not speak TLS: it sent plaintext to a TLS port ({})",
                                  preview(bytes))};
  }

  asio::awaitable<std::optional<Refusal>> handshake() {
    for (;;) {
      error_code ec;
      if (transport_->accept(ec)) co_return std::nullopt;
      if (ec != asio::error::would_block) co_return explain(ec);
      if (auto stop = co_await wait(transport_->read_wait())) co_return stop;
    }
  }

  // Waits for the socket; a refusal when the deadline or shutdown came first.
  asio::awaitable<std::optional<Refusal>> wait(TcpSocket::wait_type what) {
    error_code ec;
    if (!stopping_) std::tie(ec) = co_await socket_.async_wait(what, use_tuple);
    if (timed_out_) {
      co_return Refusal{CloseReason::idle_timeout,
                        fmt::format("no TLS handshake within {} s (--tls-handshake-timeout)",
                                    std::chrono::duration<double>(config_->options.handshake_timeout).count())};
    }
    if (stopping_) co_return Refusal{CloseReason::server_shutdown, "server shutting down during the TLS handshake"};
    if (ec) co_return explain(ec);
    co_return std::nullopt;
  }

  void end(const Refusal& refusal) {
    log::at(log::Level::info, {.service = context_->name, .peer = peer_text_, .event = "tls_refused"}, "{}: {}",
            peer_text_, refusal.why);
    count_close(context_->metrics->loop(loop_.index()), refusal.reason);
    // Take what the client already sent (a plaintext line, say), so that the
    // close is a FIN it can read rather than a reset.
    char sink[4096];
    error_code ec;
    for (int i = 0; i < 16 && !ec; ++i) socket_.read_some(asio::buffer(sink), ec);
    error_code ignored;
    socket_.close(ignored);
  }

  template <typename... Args>
  void trace(std::string_view step, fmt::format_string<Args...> format, Args&&... args) const {
    trace::step({.service = context_->name, .peer = peer_text_}, step, format, std::forward<Args>(args)...);
  }

  Loop& loop_;
  TcpSocket socket_;
  asio::ip::tcp::endpoint peer_;
  std::string peer_text_;
  std::shared_ptr<ServerContext> context_;
  ClientSlot slot_;  // moves to the service's session at the hand-over
  std::shared_ptr<const TlsConfig> config_;
  std::unique_ptr<TlsTransport> transport_;
  Timer deadline_;
  bool timed_out_ = false;
  bool stopping_ = false;
};

}  // namespace

Sessions tls_sessions(std::shared_ptr<tls::ServerCertificates> certificates, TlsSessionOptions options,
                      Sessions then) {
  auto config = std::make_shared<const TlsConfig>(TlsConfig{std::move(certificates), options, std::move(then)});
  return Sessions{
      .start =
          [config](Loop& loop, TcpSocket socket, const asio::ip::tcp::endpoint& peer,
                   const std::shared_ptr<ServerContext>& context, ClientSlot slot, std::unique_ptr<Transport>) {
            // The context of the moment: a reload affects handshakes from now on.
            const auto ssl_context = config->certificates->context();
            auto handshake = std::make_shared<TlsHandshake>(loop, std::move(socket), peer, context, std::move(slot),
                                                            ssl_context.get(), config);
            if (loop.stopping()) handshake->close_for_shutdown();
            handshake->start();
          },
      // A refused client is closed without a word: plaintext would only
      // confuse its TLS library.
      .refusal = {},
  };
}

}  // namespace enchufe::net
