#include "net/endpoint.hpp"

#include "net/errors.hpp"

#include "net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace enchufe::net {

std::uint16_t parse_port(std::string_view text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) {
    throw UsageError(fmt::format("bad port '{}': expected a number from 0 to 65535", text));
  }
  return static_cast<std::uint16_t>(value);
}

std::string normalize_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) throw UsageError("empty host: give a name or an address, e.g. localhost or 127.0.0.1");
  const bool bad = std::any_of(host.begin(), host.end(), [](unsigned char c) {
    return c <= ' ' || c == '[' || c == ']' || c == '/' || c == 0x7f;
  });
  if (bad) throw UsageError(fmt::format("bad host '{}': not a host name or IP address", host));
  return std::string(host);
}

HostPort parse_host_port(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      throw UsageError(fmt::format("bad address '{}': missing ']' after the IPv6 address", text));
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      throw UsageError(fmt::format("bad address '{}': expected [IPv6]:PORT", text));
    }
    return {normalize_host(text.substr(0, close + 1)), parse_port(text.substr(close + 2))};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw UsageError(fmt::format("bad address '{}': expected HOST:PORT (or HOST PORT)", text));
  }
  if (text.find(':') != colon) {
    throw UsageError(fmt::format("bad address '{}': write IPv6 addresses in brackets, e.g. [::1]:6000", text));
  }
  return {normalize_host(text.substr(0, colon)), parse_port(text.substr(colon + 1))};
}

HostPort parse_server_address(std::string_view target, std::string_view port) {
  HostPort hp = port.empty() ? parse_host_port(target) : HostPort{normalize_host(target), parse_port(port)};
  if (hp.port == 0) throw UsageError("port 0 is not a port a server can listen on");
  return hp;
}

std::vector<asio::ip::address> resolve(std::string_view host, bool passive) {
  error_code ec;
  std::vector<asio::ip::address> out;
  // A literal address needs no resolver (and no DNS round trip).
  if (auto literal = asio::ip::make_address(std::string(host), ec); !ec) {
    out.push_back(literal);
    return out;
  }
  asio::io_context ctx;
  asio::ip::tcp::resolver resolver(ctx);
  // No AI_ADDRCONFIG: it hides ::1 on hosts without a global IPv6 address,
  // yet "localhost" should mean both loopbacks wherever both exist.
  const auto flags = passive ? asio::ip::resolver_base::passive : asio::ip::resolver_base::flags{};
  const auto results = resolver.resolve(std::string(host), "", flags, ec);
  if (ec) throw RuntimeError(fmt::format("cannot resolve '{}': {}", host, ec.message()));
  for (const auto& entry : results) {
    const auto address = entry.endpoint().address();
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  }
  if (out.empty()) throw RuntimeError(fmt::format("cannot resolve '{}': no addresses", host));
  return out;
}

std::string to_string(const asio::ip::address& address, std::uint16_t port) {
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), port);
  return fmt::format("{}:{}", address.to_string(), port);
}

}  // namespace enchufe::net
