#pragma once
// A Connection's bytes through TLS: OpenSSL works straight on the socket's
// (non-blocking) descriptor, and its "want read"/"want write" become
// would_block plus what to wait for. The server's handshake runs first
// (tls_sessions.cpp); once it is done the Connection reads and writes
// through this as through a plain socket.

#include "net/transport.hpp"

#include <openssl/types.h>

#include <memory>
#include <string_view>

namespace enchufe::net {

class TlsTransport final : public Transport {
 public:
  // A server-side session of `context` on `socket`'s descriptor.
  TlsTransport(SSL_CTX* context, TcpSocket& socket);
  ~TlsTransport() override;

  bool encrypted() const override { return true; }

  // One step of the server's handshake: true once it is done; otherwise
  // `ec` is would_block (wait for read_wait()) or why it failed.
  bool accept(error_code& ec);
  SSL* ssl() const { return ssl_.get(); }

  std::size_t read_some(TcpSocket& socket, asio::mutable_buffer buffer, error_code& ec) override;
  std::size_t write_some(TcpSocket& socket, std::span<const asio::const_buffer> buffers, error_code& ec) override;
  bool more_to_read() const override { return static_cast<bool>(pending_error_); }
  TcpSocket::wait_type read_wait() const override { return read_wait_; }
  TcpSocket::wait_type write_wait() const override { return write_wait_; }
  void shutdown_send(TcpSocket& socket, error_code& ec) override;
  std::string_view end_of_stream_note() const override;
  std::string_view goodbye() const override { return "TLS close_notify, then FIN"; }

 private:
  // Turns a failed OpenSSL call into an error code, noting what to wait for.
  error_code failure(int result, TcpSocket::wait_type& want);

  struct FreeSsl {
    void operator()(SSL* ssl) const;
  };
  std::unique_ptr<SSL, FreeSsl> ssl_;
  TcpSocket::wait_type read_wait_ = TcpSocket::wait_read;
  TcpSocket::wait_type write_wait_ = TcpSocket::wait_write;
  // A read that got bytes and then an end (EOF, reset) returns the bytes;
  // the end is reported by the next read.
  error_code pending_error_;
  // Seen by the message callback, which only --trace sets: OpenSSL reports
  // a bare FIN as a clean end too (SSL_OP_IGNORE_UNEXPECTED_EOF), so that
  // replies to the last bytes can still be written.
  bool close_notify_received_ = false;
  // After a fatal error OpenSSL must not be asked to send close_notify.
  bool broken_ = false;
};

}  // namespace enchufe::net
