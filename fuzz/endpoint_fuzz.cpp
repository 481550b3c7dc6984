// Fuzzes host:port parsing: bad input is a UsageError, never a crash, and
// what is accepted is a well-formed host and port.
#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace enchufe;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto hp = net::parse_host_port(text);
    if (hp.host.empty() || hp.host.find_first_of(" []/") != std::string::npos) std::abort();
    if (net::normalize_host(hp.host) != hp.host) std::abort();
  } catch (const UsageError&) {
  }
  try {
    net::parse_port(text);
  } catch (const UsageError&) {
  }
  return 0;
}
