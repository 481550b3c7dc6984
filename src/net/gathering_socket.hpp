#pragma once
// The TCP socket under an HTTP or WebSocket session's Beast stream, with its
// writes gathered, and its bytes crossing through a Transport (plain, or TLS:
// the same sessions serve https:// and wss://).
//
// Beast writes one frame per call. On a plain socket a burst of 100 chat
// lines to one browser costs 100 sendmsg(2) calls, and 16 pipelined echoes
// 16 replies, where a line Connection sends each in one. This layer takes
// every write whole into a buffer, at once (so Beast frames synchronously),
// and sends what gathered in one write(2):
//  - while the reader works through what one read brought (Beast hands it
//    over a message per loop turn), the replies wait; they leave when it
//    goes back to the socket for more;
//  - otherwise (a broadcast to an idle reader, Beast's pings) on the next
//    loop turn.
//
// What the buffer holds is what the client owes: the session bounds it (it
// cuts a slow broadcast reader, or stops reading from a client that does not
// take its echoes). Reads pass straight through. The socket lives in a state
// shared with the write in flight, so however the session ends, that write
// never touches a destroyed socket.
//
// A transport may hold input the socket no longer signals (TLS decrypts a
// whole record; a read that filled the caller's buffer may have left some):
// then the next read tries at once instead of waiting for readiness.

#include "net/asio.hpp"
#include "net/connection.hpp"
#include "net/transport.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace enchufe::net {

class GatheringSocket {
 public:
  using executor_type = TcpSocket::executor_type;
  using next_layer_type = TcpSocket;

  // `transport`: how bytes cross the socket; none: plain TCP.
  explicit GatheringSocket(TcpSocket socket, std::unique_ptr<Transport> transport = nullptr);
  // Closes the socket: a write in flight ends with an error.
  ~GatheringSocket();
  // Moves with the connection from its HTTP session to its WebSocket one.
  GatheringSocket(GatheringSocket&&) noexcept = default;
  GatheringSocket& operator=(GatheringSocket&&) = delete;

  executor_type get_executor() noexcept { return socket().get_executor(); }
  // Beast reaches the real socket through this (timeouts close it).
  TcpSocket& next_layer() noexcept { return socket(); }

  // Beast asks for more input once it has handed over every message it
  // holds: the replies to them leave first, in one write. Then, as a line
  // Connection does, the read waits for readiness before it reads, instead
  // of trying first and getting EAGAIN (one system call less per round trip),
  // unless the transport may already hold input.
  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& buffers) {
          reader_waits();
          read_when_ready(state_, buffers, std::move(handler), must_wait(*state_));
        },
        token, buffers);
  }

  // Takes all the bytes, to leave with the next gathered write; fails only
  // once the socket has failed. Never blocks.
  template <typename Buffers>
  std::size_t write_some(const Buffers& buffers, error_code& ec) {
    ec = failure();
    if (ec) return 0;
    std::size_t taken = 0;
    for (const asio::const_buffer b : boost::beast::buffers_range_ref(buffers)) {
      take(static_cast<const char*>(b.data()), b.size());
      taken += b.size();
    }
    return taken;
  }

  // The same for Beast's own frames (pongs, close replies); completes on the
  // next loop turn, never inside the call.
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& buffers) {
          error_code ec;
          const std::size_t n = write_some(buffers, ec);
          const auto executor = asio::get_associated_executor(handler, get_executor());
          asio::post(executor, boost::beast::bind_front_handler(std::move(handler), ec, n));
        },
        token, buffers);
  }

  // Beast's synchronous write asserts a whole synchronous stream; these
  // satisfy the check. Nothing here reads synchronously.
  template <typename Buffers>
  std::size_t read_some(const Buffers& buffers, error_code& ec) {
    return read_now(*state_, first_buffer(buffers), ec);
  }
  template <typename Buffers>
  std::size_t read_some(const Buffers& buffers) {
    error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <typename Buffers>
  std::size_t write_some(const Buffers& buffers) {
    error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // Closes the socket; what is owed is dropped and later writes fail.
  void close();
  // Ends the read under way, if any, with operation_aborted.
  void cancel_read();
  // We are done sending (once nothing is owed): a FIN, after TLS's
  // close_notify.
  void shutdown_send(error_code& ec);

  // Bytes taken and not yet accepted by the kernel.
  std::size_t owed() const;
  // Hands what is owed to the socket now, as far as it takes it without
  // waiting: to tell a burst from a client that does not read, and before a
  // reader pauses (what it deferred must not wait for it).
  void flush_now();
  // Called each time everything owed has been written, or the socket failed.
  void on_drained(std::function<void()> callback);
  // Runs `then` once nothing is owed (at once if nothing is) or the socket
  // failed: Beast's teardown must not overtake a close frame still owed.
  void when_flushed(std::function<void()> then);
  // The same as an asynchronous operation (never completes inside the call).
  template <typename Token>
  auto async_flush(Token&& token) {
    return asio::async_initiate<Token, void()>(
        [this](auto handler) {
          auto held = std::make_shared<decltype(handler)>(std::move(handler));
          when_flushed([held, executor = get_executor()] { asio::post(executor, std::move(*held)); });
        },
        token);
  }
  // How bytes cross the socket (lives as long as the socket).
  Transport& transport() const;

 private:
  struct State;
  TcpSocket& socket() const;
  error_code failure() const;
  void take(const char* data, std::size_t size);
  void reader_waits();
  static void reader_works(State& state, bool busy);
  static TcpSocket& socket_of(State& state);
  // Whether a new read must wait for the socket (else input may be held).
  static bool must_wait(const State& state);
  static TcpSocket::wait_type read_wait(const State& state);
  // One non-blocking read through the transport.
  static std::size_t read_now(State& state, asio::mutable_buffer buffer, error_code& ec);
  // The read was cancelled (cancel_read) while it did not wait on the socket.
  static bool take_cancel(State& state);

  template <typename Buffers>
  static asio::mutable_buffer first_buffer(const Buffers& buffers) {
    for (const asio::mutable_buffer b : boost::beast::buffers_range_ref(buffers)) {
      if (b.size() != 0) return b;
    }
    return {};
  }

  // `wait`: for the socket first (always after "not now": what the
  // transport holds is then no whole record yet).
  template <typename Buffers, typename Handler>
  static void read_when_ready(std::shared_ptr<State> state, const Buffers& buffers, Handler handler, bool wait) {
    auto& socket = socket_of(*state);
    const auto executor = asio::get_associated_executor(handler, socket.get_executor());
    auto read = [state, buffers, handler = std::move(handler)](error_code ec) mutable {
      if (!ec && take_cancel(*state)) ec = asio::error::operation_aborted;
      std::size_t n = 0;
      if (!ec) n = read_now(*state, first_buffer(buffers), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        // Nothing yet, or a spurious wake-up.
        return read_when_ready(std::move(state), buffers, std::move(handler), true);
      }
      reader_works(*state, !ec);
      std::move(handler)(ec, n);
    };
    if (wait) {
      socket.async_wait(read_wait(*state), asio::bind_executor(executor, std::move(read)));
    } else {
      asio::post(executor, [read = std::move(read)]() mutable { read(error_code{}); });
    }
  }

  std::shared_ptr<State> state_;
};

// Beast's teardown for this layer (found by argument-dependent lookup): what
// is owed first, then the transport's goodbye (TLS: close_notify), then the
// socket's own teardown.
// (The handler is move-only and std::function copies: it is held by a
// shared_ptr, one allocation per connection's end.)
template <typename Handler>
void async_teardown(boost::beast::role_type role, GatheringSocket& socket, Handler&& handler) {
  auto held = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
  socket.when_flushed([role, &tcp = socket.next_layer(), &transport = socket.transport(), held] {
    error_code ignored;  // the socket's teardown meets the same error, if any
    if (role == boost::beast::role_type::server) transport.shutdown_send(tcp, ignored);
    boost::beast::websocket::async_teardown(role, tcp, std::move(*held));
  });
}

}  // namespace enchufe::net
