#pragma once
// TLS for the bench's TCP clients (`echo`, `bulk` and `fanout --tls`, and
// `handshake`): the stream type, a client context per worker, the handshake,
// and the few things a client generic over its stream (a bare TcpSocket or
// a TlsStream over one) does differently for each. Everything else (reads,
// async writes, close) is the same call on both.
//
// A bench measures; it does not check whom it talks to: no certificate
// verification at all (the chain is not even built), TLS 1.2 or newer, SNI
// "localhost", and no session resumption (no client cache, no session ever
// set on a connection), so every handshake is a full one.

#include "bench/engine.hpp"
#include "bench/report.hpp"
#include "net/coroutine.hpp"

#include "net/asio.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace enchufe::bench {

using TlsStream = asio::ssl::stream<TcpSocket>;

template <typename Stream>
inline constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

// One context per worker thread: SSL objects made from a context that many
// threads share would contend on its reference count and locks.
class TlsContexts {
 public:
  explicit TlsContexts(std::size_t workers);
  asio::ssl::context& of(const Worker& w) { return *contexts_[w.index()]; }

 private:
  std::vector<std::unique_ptr<asio::ssl::context>> contexts_;
};

// SNI, then the client's side of the handshake.
asio::awaitable<error_code> tls_handshake(TlsStream& stream);

// "TLSv1.3, TLS_AES_256_GCM_SHA384" once the handshake is done.
std::string tls_agreed(TlsStream& stream);

// The report's "tls" field: what the first handshake agreed on, and that
// nothing was verified.
void report_tls(Report& r, const Engine& engine);

// The TCP socket under a stream: connect, options, cancel, close.
inline TcpSocket& tcp_of(TcpSocket& socket) { return socket; }
inline TcpSocket& tcp_of(TlsStream& stream) { return stream.next_layer(); }

// Connects the stream's socket to `target` with TCP_NODELAY (requests are
// small and must leave at once), then (TLS) does the handshake, noting what
// it agreed on in w.tls_agreed the first time. "" when it worked, else what
// failed ("connect: Connection refused").
template <typename Stream>
asio::awaitable<std::string> open_stream(Worker& w, Stream& stream, const asio::ip::tcp::endpoint& target) {
  TcpSocket& socket = tcp_of(stream);
  auto [ec] = co_await socket.async_connect(target, net::use_tuple);
  if (ec) co_return "connect: " + ec.message();
  error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  if constexpr (is_tls<Stream>) {
    ec = co_await tls_handshake(stream);
    if (ec) co_return "TLS handshake: " + ec.message();
    if (w.tls_agreed.empty()) w.tls_agreed = tls_agreed(stream);
  }
  co_return std::string();
}

// The server ended the connection: EOF, its close_notify, or (TLS) a close
// without one.
inline bool closed_by_peer(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// Writes what a non-blocking socket takes of `bytes` at once, without
// waiting; returns how much. The rest is for an async_write. A TLS stream
// writes nothing here: once its record layer has encrypted bytes they must
// all go out through it, so everything goes through async_write (which
// itself tries the socket before waiting).
inline std::size_t write_now(TcpSocket& socket, std::string_view bytes, error_code& ec) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const std::size_t n = socket.write_some(asio::buffer(bytes.data() + off, bytes.size() - off), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      break;
    }
    if (ec) break;
    off += n;
  }
  return off;
}
inline std::size_t write_now(TlsStream&, std::string_view, error_code&) { return 0; }

}  // namespace enchufe::bench
