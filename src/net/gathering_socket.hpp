#pragma once
// The TCP socket under a WebSocket session's Beast stream, with its writes
// gathered.
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

#include "net/asio.hpp"
#include "net/connection.hpp"

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

  explicit GatheringSocket(TcpSocket socket);
  // Closes the socket: a write in flight ends with an error.
  ~GatheringSocket();
  GatheringSocket(const GatheringSocket&) = delete;
  GatheringSocket& operator=(const GatheringSocket&) = delete;

  executor_type get_executor() noexcept { return socket().get_executor(); }
  // Beast reaches the real socket through this (timeouts close it).
  TcpSocket& next_layer() noexcept { return socket(); }

  // Beast asks for more input once it has handed over every message it
  // holds: the replies to them leave first, in one write. Then, as a line
  // Connection does, the read waits for readiness before it reads, instead
  // of trying first and getting EAGAIN (one system call less per round trip).
  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& buffers) {
          reader_waits();
          wait_then_read(state_, buffers, std::move(handler));
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
    return socket().read_some(buffers, ec);
  }
  template <typename Buffers>
  std::size_t read_some(const Buffers& buffers) {
    return socket().read_some(buffers);
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

 private:
  struct State;
  TcpSocket& socket() const;
  error_code failure() const;
  void take(const char* data, std::size_t size);
  void reader_waits();
  static void reader_works(State& state, bool busy);
  static TcpSocket& socket_of(State& state);

  template <typename Buffers, typename Handler>
  static void wait_then_read(std::shared_ptr<State> state, const Buffers& buffers, Handler handler) {
    auto& socket = socket_of(*state);
    const auto executor = asio::get_associated_executor(handler, socket.get_executor());
    socket.async_wait(asio::socket_base::wait_read,
                      asio::bind_executor(executor, [state, buffers, handler = std::move(handler)](error_code ec) mutable {
                        std::size_t n = 0;
                        if (!ec) n = socket_of(*state).read_some(buffers, ec);
                        if (ec == asio::error::would_block || ec == asio::error::try_again) {
                          return wait_then_read(std::move(state), buffers, std::move(handler));  // spurious wake-up
                        }
                        reader_works(*state, !ec);
                        std::move(handler)(ec, n);
                      }));
  }

  std::shared_ptr<State> state_;
};

// Beast's teardown for this layer (found by argument-dependent lookup): what
// is owed first, then the socket's own teardown.
// (The handler is move-only and std::function copies: it is held by a
// shared_ptr, one allocation per connection's end.)
template <typename Handler>
void async_teardown(boost::beast::role_type role, GatheringSocket& socket, Handler&& handler) {
  auto held = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
  socket.when_flushed([role, &tcp = socket.next_layer(), held] {
    boost::beast::websocket::async_teardown(role, tcp, std::move(*held));
  });
}

}  // namespace enchufe::net
