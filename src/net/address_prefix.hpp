#pragma once
// An address prefix, "192.0.2.0/24" or "2001:db8::/32", or one address: what
// a ban names. IPv4 is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d),
// so one comparison serves both families and a client that reaches a
// dual-stack socket as ::ffff:192.0.2.7 matches "192.0.2.7".

#include "net/asio.hpp"

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enchufe::net {

class AddressPrefix {
 public:
  // "a.b.c.d", "a.b.c.d/N" (N 0-32), an IPv6 address, or one with "/N"
  // (0-128); nothing for anything else.
  static std::optional<AddressPrefix> parse(std::string_view text);
  // One address (all its bits).
  static AddressPrefix of(const asio::ip::address& address);

  bool contains(const asio::ip::address& address) const;
  // As parse() takes it; a whole address has no "/N".
  std::string to_string() const;
  bool operator==(const AddressPrefix&) const = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};  // the bits past `bits_` are zero
  unsigned bits_ = 128;                   // of the IPv6 (or mapped) form
};

}  // namespace enchufe::net
