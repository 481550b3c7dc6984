#pragma once
// A TCP server: listening sockets for every address of a host, an accept loop
// for each, and new connections handed round-robin to the runtime's loops
// (the muduo model: the acceptor's loop accepts, another loop owns the
// connection from then on).

#include "net/address_gate.hpp"
#include "net/connection.hpp"
#include "net/runtime.hpp"

#include "net/asio.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::net {

struct TcpServerOptions {
  std::string host = "localhost";
  std::uint16_t port = 0;
  std::size_t max_connections = limits::kMaxConnections;
  // Set: max_connections bounds this count, shared with other servers (one
  // service behind several doors); otherwise the server keeps its own.
  std::shared_ptr<std::atomic<std::size_t>> shared_count;
  // Set: each client must also pass this gate's per-address limits, asked
  // after max_connections. Shared like shared_count by a service's doors,
  // so that one address's clients count together whichever door they use.
  std::shared_ptr<AddressGate> gate;
  ConnectionOptions connection;
};

// What a TcpServer does with the sockets it accepts.
struct Sessions {
  // Runs an accepted socket, called on the loop that owns it. The session
  // keeps the client's slot (its place in the counts) until it ends.
  // `transport`: how its bytes cross the socket (TLS, after a handshake);
  // none: plain TCP.
  decltype(ServerContext::start_session) start;
  // What a refused client reads before the server closes, given why in one
  // sentence (no newline); none: it is closed without a word.
  std::function<std::string(std::string_view sentence)> refusal;
};

// A line service's: a Connection per client, started at once; a refused
// one reads why, as a line.
Sessions line_sessions();

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
  // The slot of an accepted client, or none when a limit refused it.
  std::optional<ClientSlot> admit(TcpSocket& socket, const asio::ip::tcp::endpoint& peer, LoopCounters& counters);
  // Logs and counts the refusal, tells the client `sentence` and closes.
  void refuse(TcpSocket& socket, const asio::ip::tcp::endpoint& peer, LoopCounters& counters,
              std::string_view event, std::string_view why, std::string_view sentence);

  Runtime& runtime_;
  std::size_t max_connections_;
  std::shared_ptr<AddressGate> gate_;
  std::function<std::string(std::string_view)> refusal_;
  // Refusals are logged at most once a second (a flood from a banned or
  // greedy address must not flood the log): the time of the last line, and
  // how many went unlogged since. Accept loops on several loops share them.
  std::atomic<std::int64_t> last_refusal_logged_ms_{0};
  std::atomic<std::uint64_t> refusals_not_logged_{0};
  std::shared_ptr<ServerContext> context_;
  std::vector<std::unique_ptr<Listener>> listeners_;
};

}  // namespace enchufe::net
