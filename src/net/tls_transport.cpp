#include "net/tls_transport.hpp"

#include "net/limits.hpp"
#include "net/trace.hpp"

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace enchufe::net {

namespace {

// Plaintext gathered from several queued buffers for one SSL_write. One per
// loop thread, allocated on first use: only threads that write TLS pay.
char* write_staging() {
  thread_local std::unique_ptr<char[]> staging;
  if (!staging) staging = std::make_unique<char[]>(limits::kTlsWriteChunkBytes);
  return staging.get();
}

}  // namespace

void TlsTransport::FreeSsl::operator()(SSL* ssl) const { SSL_free(ssl); }

namespace {

// --trace only: notes the peer's close_notify alert, the one thing that
// tells a clean TLS close from a bare FIN.
void watch_for_close_notify(int write_p, int, int content_type, const void* bytes, std::size_t size, SSL*,
                            void* transport) {
  const auto* alert = static_cast<const unsigned char*>(bytes);
  if (write_p == 0 && content_type == SSL3_RT_ALERT && size >= 2 && alert[1] == SSL_AD_CLOSE_NOTIFY) {
    *static_cast<bool*>(transport) = true;
  }
}

}  // namespace

TlsTransport::TlsTransport(SSL_CTX* context, TcpSocket& socket) : ssl_(SSL_new(context)) {
  if (!ssl_ || SSL_set_fd(ssl_.get(), socket.native_handle()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("cannot start a TLS session (out of memory?)");
  }
  SSL_set_accept_state(ssl_.get());
  if (trace::on()) {
    SSL_set_msg_callback(ssl_.get(), watch_for_close_notify);
    SSL_set_msg_callback_arg(ssl_.get(), &close_notify_received_);
  }
}

TlsTransport::~TlsTransport() = default;

error_code TlsTransport::failure(int result, TcpSocket::wait_type& want) {
  // errno first: OpenSSL's error lookup may change it.
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_WANT_READ:
      want = TcpSocket::wait_read;
      return asio::error::would_block;
    case SSL_ERROR_WANT_WRITE:
      want = TcpSocket::wait_write;
      return asio::error::would_block;
    case SSL_ERROR_ZERO_RETURN:
      return asio::error::eof;
    case SSL_ERROR_SYSCALL:
      broken_ = true;
      ERR_clear_error();
      // No errno: the peer closed the TCP connection without close_notify.
      return saved_errno != 0 ? error_code(saved_errno, asio::error::get_system_category())
                              : error_code(asio::error::eof);
    default: {
      broken_ = true;
      const unsigned long code = ERR_peek_error();
      ERR_clear_error();
      if (code == 0) return asio::ssl::error::unspecified_system_error;
      return error_code(static_cast<int>(code), asio::error::get_ssl_category());
    }
  }
}

bool TlsTransport::accept(error_code& ec) {
  ERR_clear_error();
  errno = 0;
  const int result = SSL_do_handshake(ssl_.get());
  if (result == 1) {
    ec = {};
    return true;
  }
  TcpSocket::wait_type want = TcpSocket::wait_read;
  ec = failure(result, want);
  read_wait_ = want;
  return false;
}

std::size_t TlsTransport::read_some(TcpSocket&, asio::mutable_buffer buffer, error_code& ec) {
  if (pending_error_) {
    ec = std::exchange(pending_error_, {});
    return 0;
  }
  // OpenSSL hands over one record per call: read until the buffer is full
  // or the socket is empty, so a short read means what it means for TCP.
  auto* data = static_cast<char*>(buffer.data());
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    if (SSL_read_ex(ssl_.get(), data + filled, buffer.size() - filled, &n) == 1) {
      filled += n;
      continue;
    }
    const error_code e = failure(0, read_wait_);
    if (filled == 0) {
      ec = e;
      return 0;
    }
    if (e != asio::error::would_block) pending_error_ = e;
    break;
  }
  ec = {};
  return filled;
}

std::size_t TlsTransport::write_some(TcpSocket&, std::span<const asio::const_buffer> buffers, error_code& ec) {
  // The same bytes from the head of the queue on every call, at least as
  // many as last time: what OpenSSL needs to retry a write that would block.
  std::size_t total = 0;
  for (const auto& b : buffers) total += b.size();
  const std::size_t n = std::min(total, limits::kTlsWriteChunkBytes);
  const char* data = nullptr;
  if (!buffers.empty() && buffers.front().size() >= n) {
    data = static_cast<const char*>(buffers.front().data());
  } else {
    char* staging = write_staging();
    std::size_t at = 0;
    for (const auto& b : buffers) {
      const std::size_t take = std::min(b.size(), n - at);
      std::memcpy(staging + at, b.data(), take);
      at += take;
      if (at == n) break;
    }
    data = staging;
  }
  ERR_clear_error();
  errno = 0;
  std::size_t written = 0;
  if (SSL_write_ex(ssl_.get(), data, n, &written) == 1) {
    ec = {};
    return written;
  }
  ec = failure(0, write_wait_);
  return 0;
}

void TlsTransport::shutdown_send(TcpSocket& socket, error_code& ec) {
  if (!broken_ && (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN) == 0) {
    // Sends close_notify; with a full socket it is lost, as the FIN after
    // it says the same to a client that does not insist on it.
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  socket.shutdown(asio::socket_base::shutdown_send, ec);
}

std::string_view TlsTransport::end_of_stream_note() const {
  return close_notify_received_ ? "; TLS: it said close_notify first, a clean TLS close"
                                : "; TLS: without close_notify (a truncated TLS session: harmless here, as every "
                                  "message is a whole line)";
}

}  // namespace enchufe::net
