#include "net/address_prefix.hpp"

#include <fmt/format.h>

#include <charconv>

namespace enchufe::net {

namespace {

// The IPv6 form: IPv4 and IPv4-mapped addresses alike as ::ffff:a.b.c.d.
std::array<std::uint8_t, 16> v6_bytes(const asio::ip::address& address) {
  if (address.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes();
  return address.to_v6().to_bytes();
}

bool is_mapped(const std::array<std::uint8_t, 16>& bytes) {
  return asio::ip::address_v6(bytes).is_v4_mapped();
}

// Keeps the first `bits` bits.
void mask(std::array<std::uint8_t, 16>& bytes, unsigned bits) {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned kept = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
    bytes[i] &= static_cast<std::uint8_t>(0xff00u >> kept);
  }
}

}  // namespace

std::optional<AddressPrefix> AddressPrefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (ec || host.empty()) return std::nullopt;
  AddressPrefix prefix = of(address);
  if (slash == std::string_view::npos) return prefix;
  const std::string_view digits = text.substr(slash + 1);
  unsigned bits = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
  const unsigned most = address.is_v4() ? 32 : 128;
  if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size() || bits > most) {
    return std::nullopt;
  }
  prefix.bits_ = address.is_v4() ? bits + 96 : bits;
  mask(prefix.bytes_, prefix.bits_);
  return prefix;
}

AddressPrefix AddressPrefix::of(const asio::ip::address& address) {
  AddressPrefix prefix;
  prefix.bytes_ = v6_bytes(address);
  return prefix;
}

bool AddressPrefix::contains(const asio::ip::address& address) const {
  auto bytes = v6_bytes(address);
  mask(bytes, bits_);
  return bytes == bytes_;
}

std::string AddressPrefix::to_string() const {
  if (is_mapped(bytes_) && bits_ >= 96) {
    const auto v4 = asio::ip::make_address_v4(asio::ip::v4_mapped, asio::ip::address_v6(bytes_));
    return bits_ == 128 ? v4.to_string() : fmt::format("{}/{}", v4.to_string(), bits_ - 96);
  }
  const std::string v6 = asio::ip::address_v6(bytes_).to_string();
  return bits_ == 128 ? v6 : fmt::format("{}/{}", v6, bits_);
}

}  // namespace enchufe::net
