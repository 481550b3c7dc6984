#pragma once
// Opening listening sockets on every address a host resolves to, with the
// error messages a user should see (port in use, permission, bad address).
// Shared by the TCP and UDP servers.

#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include "net/asio.hpp"

#include <boost/asio/error.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <vector>

namespace enchufe::net {

// Explains a bind failure in one line that names the address and port.
RuntimeError bind_error(std::string_view service, std::string_view proto, const asio::ip::address& address,
                        std::uint16_t port, const error_code& ec);

// True for failures that mean "this machine lacks that address or family",
// which are skipped when another address of the same host did bind
// (e.g. "localhost" on a host with IPv6 disabled).
bool address_unavailable(const error_code& ec);

// Binds `open_one(address, port)` for every address of `host`. The first
// successful bind fixes the port when `port` is 0, so every address of one
// server shares it. Returns what open_one returned for each bound address.
template <typename Socket, typename OpenOne>
std::vector<Socket> bind_all(std::string_view service, std::string_view proto, std::string_view host,
                             std::uint16_t port, OpenOne&& open_one) {
  const auto addresses = resolve(host, true);
  const bool mixed_families = std::any_of(addresses.begin(), addresses.end(), [](auto& a) { return a.is_v4(); }) &&
                              std::any_of(addresses.begin(), addresses.end(), [](auto& a) { return a.is_v6(); });
  std::vector<Socket> sockets;
  error_code first_skip;
  for (const auto& address : addresses) {
    error_code ec;
    Socket socket = open_one(address, port, mixed_families, ec);
    if (ec && address_unavailable(ec) && addresses.size() > 1) {
      first_skip = ec;
      continue;
    }
    if (ec) throw bind_error(service, proto, address, port, ec);
    port = socket.local_endpoint().port();
    sockets.push_back(std::move(socket));
  }
  if (sockets.empty()) throw bind_error(service, proto, addresses.front(), port, first_skip);
  return sockets;
}

}  // namespace enchufe::net
