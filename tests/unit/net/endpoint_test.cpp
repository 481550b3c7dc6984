#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include <gtest/gtest.h>

namespace enchufe::net {
namespace {

TEST(ParsePort, AcceptsTheWholeRange) {
  EXPECT_EQ(parse_port("0"), 0);
  EXPECT_EQ(parse_port("5000"), 5000);
  EXPECT_EQ(parse_port("65535"), 65535);
}

TEST(ParsePort, RejectsWhatIsNotAPort) {
  for (const char* bad : {"", "-1", "65536", "70000", "abc", "12a", " 80", "80 ", "+80", "1e3"}) {
    EXPECT_THROW(parse_port(bad), UsageError) << bad;
  }
}

TEST(ParsePort, MessageNamesTheBadText) {
  try {
    parse_port("70000");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'70000'"), std::string::npos) << e.what();
  }
}

TEST(ParseHostPort, Ipv4AndNames) {
  EXPECT_EQ(parse_host_port("127.0.0.1:6000"), (HostPort{"127.0.0.1", 6000}));
  EXPECT_EQ(parse_host_port("localhost:5000"), (HostPort{"localhost", 5000}));
  EXPECT_EQ(parse_host_port("example.org:0"), (HostPort{"example.org", 0}));
}

TEST(ParseHostPort, BracketedIpv6) {
  EXPECT_EQ(parse_host_port("[::1]:7000"), (HostPort{"::1", 7000}));
  EXPECT_EQ(parse_host_port("[fe80::1%lo]:80"), (HostPort{"fe80::1%lo", 80}));
}

TEST(ParseHostPort, RejectsAmbiguousOrBrokenInput) {
  for (const char* bad : {"localhost", "::1:7000", "[::1]", "[::1]7000", "[::1:7000", ":6000", "host:", "host:port",
                          "a b:80", "[]:80"}) {
    EXPECT_THROW(parse_host_port(bad), UsageError) << bad;
  }
}

TEST(ParseServerAddress, TogetherOrApartButNeverPortZero) {
  EXPECT_EQ(parse_server_address("localhost:6000", ""), (HostPort{"localhost", 6000}));
  EXPECT_EQ(parse_server_address("[::1]", "7000"), (HostPort{"::1", 7000}));
  EXPECT_EQ(parse_server_address("127.0.0.1", "5000"), (HostPort{"127.0.0.1", 5000}));
  EXPECT_THROW(parse_server_address("localhost", ""), UsageError);
  EXPECT_THROW(parse_server_address("localhost", "0"), UsageError);
  EXPECT_THROW(parse_server_address("localhost:0", ""), UsageError);
}

TEST(NormalizeHost, StripsBracketsAndRejectsGarbage) {
  EXPECT_EQ(normalize_host("[::1]"), "::1");
  EXPECT_EQ(normalize_host("0.0.0.0"), "0.0.0.0");
  EXPECT_THROW(normalize_host(""), UsageError);
  EXPECT_THROW(normalize_host("two words"), UsageError);
  EXPECT_THROW(normalize_host("a/b"), UsageError);
}

TEST(Resolve, LiteralsNeedNoResolver) {
  const auto v4 = resolve("127.0.0.1", true);
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_TRUE(v4[0].is_v4());
  const auto v6 = resolve("::1", false);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_TRUE(v6[0].is_v6());
}

TEST(Resolve, LocalhostIsLoopbackWithoutDuplicates) {
  const auto addresses = resolve("localhost", true);
  ASSERT_FALSE(addresses.empty());
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    EXPECT_TRUE(addresses[i].is_loopback()) << addresses[i].to_string();
    for (std::size_t j = i + 1; j < addresses.size(); ++j) EXPECT_NE(addresses[i], addresses[j]);
  }
}

TEST(Resolve, UnknownNameIsARuntimeError) {
  // .invalid is reserved (RFC 2606): it never resolves.
  EXPECT_THROW(resolve("no-such-host.invalid", false), RuntimeError);
}

TEST(ToString, BracketsIpv6Only) {
  EXPECT_EQ(to_string(asio::ip::make_address("127.0.0.1"), 5000), "127.0.0.1:5000");
  EXPECT_EQ(to_string(asio::ip::make_address("::1"), 5000), "[::1]:5000");
  EXPECT_EQ(to_string(asio::ip::tcp::endpoint(asio::ip::make_address("::1"), 1)), "[::1]:1");
}

}  // namespace
}  // namespace enchufe::net
