#pragma once
// A UDP server: one socket per address of the host, each served by a receive
// loop on one of the runtime's loops. A datagram handler turns each datagram
// into at most one reply.

#include "net/metrics.hpp"
#include "net/runtime.hpp"

#include "net/asio.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_datagram_socket.hpp>
#include <boost/asio/ip/udp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::net {

using UdpSocket = asio::basic_datagram_socket<asio::ip::udp, asio::io_context::executor_type>;

struct UdpServerOptions {
  std::string host = "localhost";
  std::uint16_t port = 0;
};

// Writes the reply for `datagram` into `reply` and returns its size, or
// returns nullopt to send nothing. `reply` holds the largest datagram the
// socket's family can carry.
using DatagramHandler = std::function<std::optional<std::size_t>(
    std::string_view datagram, const asio::ip::udp::endpoint& from, std::span<char> reply)>;

class UdpServer {
 public:
  // Binds at once (throws RuntimeError naming the address on failure).
  UdpServer(Runtime& runtime, std::string name, const UdpServerOptions& options, DatagramHandler handler);
  ~UdpServer();

  std::vector<asio::ip::udp::endpoint> local_endpoints() const;
  const std::shared_ptr<ServiceMetrics>& metrics() const { return metrics_; }
  void start();

 private:
  struct Endpoint;
  asio::awaitable<void> receive_loop(Endpoint& endpoint);

  Runtime& runtime_;
  std::string name_;
  DatagramHandler handler_;
  std::shared_ptr<ServiceMetrics> metrics_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

}  // namespace enchufe::net
