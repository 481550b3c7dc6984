// AddressPrefix: what a ban names. IPv4 lives in the IPv4-mapped IPv6 space,
// so "192.0.2.0/24" must catch a client that a dual-stack socket reports as
// ::ffff:192.0.2.7, and must not catch native IPv6; prefixes that end inside
// a byte must cut at the right bit; and anything that is not an address is
// refused rather than read as some other prefix (a ban wider than meant).

#include "net/address_prefix.hpp"

#include <gtest/gtest.h>

namespace enchufe::net {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

AddressPrefix prefix(const char* text) {
  const auto parsed = AddressPrefix::parse(text);
  if (!parsed) throw std::invalid_argument(std::string("not a prefix: ") + text);
  return *parsed;
}

TEST(AddressPrefix, AnIpv4AddressWithoutLengthIsThatAddressOnly) {
  const auto p = prefix("192.0.2.7");
  EXPECT_TRUE(p.contains(ip("192.0.2.7")));
  EXPECT_FALSE(p.contains(ip("192.0.2.6")));
  EXPECT_FALSE(p.contains(ip("192.0.2.8")));
  EXPECT_EQ(p.to_string(), "192.0.2.7");
  EXPECT_EQ(p, AddressPrefix::of(ip("192.0.2.7")));
}

TEST(AddressPrefix, AnIpv4PrefixCoversItsRangeOnly) {
  const auto p = prefix("192.0.2.0/24");
  EXPECT_TRUE(p.contains(ip("192.0.2.0")));
  EXPECT_TRUE(p.contains(ip("192.0.2.255")));
  EXPECT_FALSE(p.contains(ip("192.0.3.0")));
  EXPECT_FALSE(p.contains(ip("192.0.1.255")));
  EXPECT_EQ(p.to_string(), "192.0.2.0/24");
}

TEST(AddressPrefix, AnIpv6PrefixCoversItsRangeOnly) {
  const auto p = prefix("2001:db8::/32");
  EXPECT_TRUE(p.contains(ip("2001:db8::1")));
  EXPECT_TRUE(p.contains(ip("2001:db8:ffff:ffff::1")));
  EXPECT_FALSE(p.contains(ip("2001:db9::")));
  EXPECT_FALSE(p.contains(ip("192.0.2.7")));
  EXPECT_EQ(p.to_string(), "2001:db8::/32");
}

TEST(AddressPrefix, AnIpv6AddressWithoutLengthIsThatAddressOnly) {
  const auto p = prefix("2001:db8::7");
  EXPECT_TRUE(p.contains(ip("2001:db8::7")));
  EXPECT_FALSE(p.contains(ip("2001:db8::8")));
  EXPECT_EQ(p.to_string(), "2001:db8::7");
}

TEST(AddressPrefix, AnIpv4PrefixCatchesTheSameAddressesMappedIntoIpv6) {
  // What a dual-stack socket reports for an IPv4 client.
  const auto p = prefix("192.0.2.0/24");
  EXPECT_TRUE(p.contains(ip("::ffff:192.0.2.7")));
  EXPECT_FALSE(p.contains(ip("::ffff:192.0.3.7")));
}

TEST(AddressPrefix, AMappedPrefixCatchesPlainIpv4AndReadsAsIpv4) {
  const auto one = prefix("::ffff:192.0.2.7");
  EXPECT_TRUE(one.contains(ip("192.0.2.7")));
  EXPECT_EQ(one.to_string(), "192.0.2.7");
  const auto range = prefix("::ffff:10.0.0.0/104");  // 96 + 8 bits: 10/8
  EXPECT_TRUE(range.contains(ip("10.200.3.4")));
  EXPECT_FALSE(range.contains(ip("11.0.0.0")));
  // One ban, however it was typed: a second /ban replaces it, /unban finds it.
  EXPECT_EQ(range, prefix("10.0.0.0/8"));
  EXPECT_EQ(range.to_string(), "10.0.0.0/8");
}

TEST(AddressPrefix, AnIpv4LengthOffAByteBoundaryCutsAtThatBit) {
  const auto p = prefix("10.16.0.0/20");  // 10.16.0.0 - 10.16.15.255
  EXPECT_TRUE(p.contains(ip("10.16.15.255")));
  EXPECT_FALSE(p.contains(ip("10.16.16.0")));
  EXPECT_FALSE(p.contains(ip("10.17.0.0")));
}

TEST(AddressPrefix, AnIpv6LengthOffAByteBoundaryCutsAtThatBit) {
  // /57: three groups and the top 9 bits of the fourth, so :100: to :17f:.
  const auto p = prefix("2001:db8:0:100::/57");
  EXPECT_TRUE(p.contains(ip("2001:db8:0:17f:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(p.contains(ip("2001:db8:0:180::")));
  EXPECT_FALSE(p.contains(ip("2001:db8:0:ff::")));
}

TEST(AddressPrefix, HostBitsPastTheLengthAreDropped) {
  // "10.1.2.3/8" is how people write "the network 10.1.2.3 is in".
  EXPECT_EQ(prefix("10.1.2.3/8").to_string(), "10.0.0.0/8");
  EXPECT_EQ(prefix("10.1.2.3/8"), prefix("10.0.0.0/8"));
  EXPECT_EQ(prefix("10.16.31.1/20").to_string(), "10.16.16.0/20");
  EXPECT_EQ(prefix("2001:db8:0:1ff::1/57").to_string(), "2001:db8:0:180::/57");
}

TEST(AddressPrefix, AFullLengthIsTheWholeAddressAndIsShownWithoutOne) {
  EXPECT_EQ(prefix("192.0.2.7/32"), prefix("192.0.2.7"));
  EXPECT_EQ(prefix("192.0.2.7/32").to_string(), "192.0.2.7");
  EXPECT_EQ(prefix("::1/128").to_string(), "::1");
}

TEST(AddressPrefix, Ipv6SlashZeroCoversEveryAddress) {
  const auto p = prefix("::/0");
  EXPECT_TRUE(p.contains(ip("2001:db8::1")));
  EXPECT_TRUE(p.contains(ip("::1")));
  EXPECT_TRUE(p.contains(ip("192.0.2.7")));
  EXPECT_EQ(p.to_string(), "::/0");
}

TEST(AddressPrefix, Ipv4SlashZeroCoversIpv4OnlyNotNativeIpv6) {
  // It becomes /96 of the mapped space: "ban all of IPv4" must not ban IPv6.
  const auto p = prefix("0.0.0.0/0");
  EXPECT_TRUE(p.contains(ip("1.2.3.4")));
  EXPECT_TRUE(p.contains(ip("255.255.255.255")));
  EXPECT_TRUE(p.contains(ip("::ffff:1.2.3.4")));
  EXPECT_FALSE(p.contains(ip("2001:db8::1")));
  EXPECT_FALSE(p.contains(ip("::1")));
  EXPECT_EQ(p.to_string(), "0.0.0.0/0");
}

TEST(AddressPrefix, RefusesWhatIsNotAnAddressOrALength) {
  for (const char* bad : {"", "1.2.3.4/33", "::1/129", "1.2.3.4/", "1.2.3.4/x", "1.2.3", "ana", "1.2.3.4/-1",
                          "1.2.3.4/+8", "1.2.3.4/8/8", "1.2.3.4/ 8", "/8", "1.2.3.4/99999999999999999999",
                          "2001:db8::/32x", "256.0.0.1"}) {
    EXPECT_FALSE(AddressPrefix::parse(bad).has_value()) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace enchufe::net
