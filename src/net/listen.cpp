#include "net/listen.hpp"

#include "net/asio.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace enchufe::net {

bool address_unavailable(const error_code& ec) {
  return ec == asio::error::address_family_not_supported || ec == std::errc::address_not_available;
}

namespace {

// After EADDRINUSE on TCP: is a server really listening there, or is the port
// only held by connections still closing (TIME_WAIT, after a program that did
// not set SO_REUSEADDR)? A connect attempt on loopback tells at once.
bool someone_listens(const asio::ip::address& address, std::uint16_t port) {
  asio::io_context context;
  asio::ip::tcp::socket probe(context);
  error_code ec;
  asio::ip::address target = address;
  if (address.is_unspecified()) {
    target = address.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                             : asio::ip::address(asio::ip::address_v6::loopback());
  }
  probe.connect({target, port}, ec);
  return ec != asio::error::connection_refused;
}

}  // namespace

RuntimeError bind_error(std::string_view service, std::string_view proto, const asio::ip::address& address,
                        std::uint16_t port, const error_code& ec) {
  const std::string where = to_string(address, port);
  if (ec == asio::error::address_in_use && proto == "TCP" && !someone_listens(address, port)) {
    return RuntimeError(fmt::format("{}: TCP port {} is still held by connections closing down (TIME_WAIT) "
                                    "({}); it frees up within a minute, or use another port (--port 0 takes a "
                                    "free one)",
                                    service, port, where));
  }
  if (ec == asio::error::address_in_use) {
    return RuntimeError(fmt::format("{}: {} port {} is already in use ({}); stop the other program or pick "
                                    "another port (--port 0 takes a free one)",
                                    service, proto, port, where));
  }
  if (ec == asio::error::access_denied) {
    return RuntimeError(fmt::format("{}: no permission to use {} port {} ({}); ports below 1024 need root",
                                    service, proto, port, where));
  }
  return RuntimeError(fmt::format("{}: cannot listen on {} {}: {}", service, proto, where, ec.message()));
}

}  // namespace enchufe::net
