#pragma once
// How a Connection's bytes cross its socket: as they are (plain TCP), or
// through TLS (tls_transport.hpp). The Connection frames, queues and waits;
// the transport only turns its reads and writes into the socket's, and says
// what to wait for when it must wait. Reads and writes never block: the
// socket is non-blocking and "not now" is asio::error::would_block.

#include "net/asio.hpp"

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <span>
#include <string_view>

namespace enchufe::net {

using TcpSocket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;

class Transport {
 public:
  virtual ~Transport() = default;

  // True when the bytes are encrypted on the wire (TLS): a service may then
  // take what it would not over plain TCP (a password).
  virtual bool encrypted() const { return false; }

  // True when its reads are the socket's own (plain TCP): a busy
  // connection may then hand its reads to the reactor with a buffer
  // (read_buffer_pool.hpp) instead of waiting for readiness first.
  virtual bool reads_are_the_sockets() const { return false; }

  // Like a socket's read_some: bytes, or an error (would_block, eof, ...).
  // A read shorter than `buffer` means the socket is empty for now, so the
  // caller may wait for readiness at once.
  virtual std::size_t read_some(TcpSocket& socket, asio::mutable_buffer buffer, error_code& ec) = 0;
  // Like a socket's write_some (gathering): bytes of `buffers` taken.
  virtual std::size_t write_some(TcpSocket& socket, std::span<const asio::const_buffer> buffers,
                                 error_code& ec) = 0;
  // Input taken from the socket but not handed over yet (TLS: the end of
  // the stream, which comes after the bytes before it): read again before
  // waiting for the socket, which has nothing more to say.
  virtual bool more_to_read() const { return false; }
  // What to wait for after read_some/write_some said would_block: TLS may
  // need to write in order to read, or the other way round.
  virtual TcpSocket::wait_type read_wait() const { return TcpSocket::wait_read; }
  virtual TcpSocket::wait_type write_wait() const { return TcpSocket::wait_write; }
  // We are done sending: TLS says close_notify first, then the TCP FIN.
  virtual void shutdown_send(TcpSocket& socket, error_code& ec) {
    socket.shutdown(asio::socket_base::shutdown_send, ec);
  }
  // For --trace, after read_some said eof: how the peer ended, if the
  // transport knows more than "FIN" (TLS: with close_notify or without).
  virtual std::string_view end_of_stream_note() const { return {}; }
  // For --trace: what shutdown_send() sends.
  virtual std::string_view goodbye() const { return "FIN"; }
};

// Plain TCP: the socket's own calls. Stateless, so every plain connection
// shares one.
Transport& plain_transport();

}  // namespace enchufe::net
