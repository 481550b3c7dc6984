#pragma once
// Host and port as users write them, and the socket endpoints they resolve to.

#include "net/asio.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::net {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// "0".."65535"; anything else throws UsageError naming the bad text.
std::uint16_t parse_port(std::string_view text);

// "HOST:PORT", "[v6]:PORT" or "v6::addr" is rejected without brackets
// (ambiguous). Throws UsageError.
HostPort parse_host_port(std::string_view text);

// What a client command is given: "HOST:PORT" / "[v6]:PORT" alone, or HOST
// and PORT apart (netcat's order). Port 0 is refused: no server listens on
// it. Throws UsageError.
HostPort parse_server_address(std::string_view target, std::string_view port);

// Checks a host name or literal address for obvious mistakes (empty, spaces,
// stray brackets) and strips brackets from "[::1]". Throws UsageError.
std::string normalize_host(std::string_view host);

// Every address `host` resolves to, in resolver order, without duplicates.
// Throws RuntimeError ("cannot resolve 'x': ...") when there is none.
std::vector<asio::ip::address> resolve(std::string_view host, bool passive);

// "127.0.0.1:5000" or "[::1]:5000".
std::string to_string(const asio::ip::address& address, std::uint16_t port);
template <typename Endpoint>
std::string to_string(const Endpoint& e) {
  return to_string(e.address(), e.port());
}

}  // namespace enchufe::net
