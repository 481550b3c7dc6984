#include "client/dial.hpp"

#include "net/endpoint.hpp"

namespace enchufe::client {

bool dial(asio::ip::tcp::socket::lowest_layer_type& socket, const ClientOptions& options, Console& console) {
  using asio::ip::tcp;
  const auto addresses = net::resolve(options.host, false);
  error_code ec;
  for (const auto& address : addresses) {
    socket.close(ec);
    if (options.trace) {
      trace(console, "1 socket", "a TCP socket ({})", address.is_v6() ? "AF_INET6" : "AF_INET");
      trace(console, "2 connect", "to {}: the three-way handshake (SYN, SYN-ACK, ACK)...",
            net::to_string(address, options.port));
    }
    socket.connect(tcp::endpoint(address, options.port), ec);
    if (options.trace) {
      trace(console, "2 connect", "{}",
            ec ? fmt::format("failed: {}", ec.message())
               : fmt::format("connected from {}", net::to_string(socket.local_endpoint())));
    }
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      if (console.interactive() || options.verbose) {
        console.notice(fmt::format("connected to {}", net::to_string(address, options.port)));
      }
      return true;
    }
  }
  console.notice(fmt::format("cannot connect to {}:{}: {}", options.host, options.port, ec.message()));
  return false;
}

}  // namespace enchufe::client
