#include "net/listen.hpp"

namespace enchufe::net {

bool address_unavailable(const asio::error_code& ec) {
  return ec == asio::error::address_family_not_supported || ec == std::errc::address_not_available;
}

RuntimeError bind_error(std::string_view service, std::string_view proto, const asio::ip::address& address,
                        std::uint16_t port, const asio::error_code& ec) {
  const std::string where = to_string(address, port);
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
