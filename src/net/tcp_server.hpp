#pragma once
// A TCP server: listening sockets for every address of a host, an accept loop
// for each, and new connections handed round-robin to the runtime's loops
// (the muduo model: the acceptor's loop accepts, another loop owns the
// connection from then on).

#include "net/connection.hpp"
#include "net/runtime.hpp"

#include "net/asio.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <vector>

namespace enchufe::net {

struct TcpServerOptions {
  std::string host = "localhost";
  std::uint16_t port = 0;
  std::size_t max_connections = limits::kMaxConnections;
  // Set: max_connections bounds this count, shared with other servers (one
  // service behind several doors); otherwise the server keeps its own.
  std::shared_ptr<std::atomic<std::size_t>> shared_count;
  ConnectionOptions connection;
};

// What a TcpServer does with the sockets it accepts.
struct Sessions {
  // Runs an accepted socket, called on the loop that owns it. It must
  // decrement context->active when the session ends. `transport`: how its
  // bytes cross the socket (TLS, after a handshake); none: plain TCP.
  decltype(ServerContext::start_session) start;
  // What a client past --max-connections reads before the server closes.
  std::string refusal;
};

// A line service's: a Connection per client, started at once; one past
// `max_connections` reads why it is refused.
Sessions line_sessions(std::size_t max_connections);

class TcpServer {
 public:
  // Binds and listens at once, so a port in use fails here, before anything
  // runs (throws RuntimeError naming the address).
  TcpServer(Runtime& runtime, std::string name, const TcpServerOptions& options, Sessions sessions);
  // A line service: each client is a Connection running its own Protocol,
  // started at once, or as `sessions` says (TLS: after its handshake).
  TcpServer(Runtime& runtime, std::string name, const TcpServerOptions& options,
            std::function<std::unique_ptr<Protocol>()> make_protocol, Sessions sessions = {});
  ~TcpServer();

  // The addresses really bound (port 0 resolved).
  std::vector<asio::ip::tcp::endpoint> local_endpoints() const;
  std::size_t active_connections() const { return context_->active->load(); }
  // The count max_connections bounds, for another server to share
  // (TcpServerOptions::shared_count).
  const std::shared_ptr<std::atomic<std::size_t>>& shared_count() const { return context_->active; }
  const std::shared_ptr<ServiceMetrics>& metrics() const { return context_->metrics; }

  // Starts accepting; connections are refused politely past max_connections.
  void start();

 private:
  using Acceptor = asio::basic_socket_acceptor<asio::ip::tcp, asio::io_context::executor_type>;
  struct Listener;

  asio::awaitable<void> accept_loop(Listener& listener);
  void refuse(TcpSocket& socket, const asio::ip::tcp::endpoint& peer);

  Runtime& runtime_;
  std::size_t max_connections_;
  std::string refusal_;
  std::shared_ptr<ServerContext> context_;
  std::vector<std::unique_ptr<Listener>> listeners_;
};

}  // namespace enchufe::net
