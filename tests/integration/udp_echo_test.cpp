// `enchufe serve udp-echo`: the tutorial's Example 4.

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;

class UdpEcho : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& extra = {}) { server_.emplace(Server::start("udp-echo", extra)); }
  std::uint16_t port() {
    if (!server_) start();
    return server_->port("udp-echo");
  }
  std::optional<Server> server_;
  UdpSocket socket_;
};

}  // namespace

TEST_F(UdpEcho, RepliesWithPrefix) {
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), "hola"));
  EXPECT_EQ(socket_.recv(kIo), "Eco UDP: hola");
}

TEST_F(UdpEcho, DatagramBytesAreKeptAsIs) {
  using namespace std::string_literals;
  const std::string datagram = "línea uno\nlínea dos\r\n\x00\x01 fin"s;
  ASSERT_EQ(datagram.size(), 29u);
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), datagram));
  EXPECT_EQ(socket_.recv(kIo), "Eco UDP: " + datagram);
}

TEST_F(UdpEcho, EmptyDatagramGetsJustThePrefix) {
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), ""));
  EXPECT_EQ(socket_.recv(kIo), "Eco UDP: ");
}

TEST_F(UdpEcho, QuitWordGetsNoReplyAndTheServerKeepsServing) {
  for (const std::string quit : {"salir", "SALIR", " salir \n"}) {
    ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), quit));
    EXPECT_EQ(socket_.recv(300ms), std::nullopt) << "\"" << escape(quit) << "\" must get no reply";
    ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), "sigues ahi?"));
    EXPECT_EQ(socket_.recv(kIo), "Eco UDP: sigues ahi?");
  }
  EXPECT_TRUE(server_->process().running());
}

TEST_F(UdpEcho, LargeDatagramIsEchoedWhole) {
  std::string datagram(60'000, '\0');
  for (std::size_t i = 0; i < datagram.size(); ++i) datagram[i] = static_cast<char>('A' + i % 58);
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), datagram)) << "errno " << socket_.last_error();
  const auto reply = socket_.recv(kIo);
  ASSERT_TRUE(reply) << "no reply to a 60,000-byte datagram";
  EXPECT_EQ(reply->size(), 60'009u);
  EXPECT_TRUE(*reply == "Eco UDP: " + datagram) << "the reply differs from prefix + datagram";
}

// The largest IPv4 datagram: prefix plus it cannot fit in one reply, which is
// then cut to the largest datagram rather than dropped.
TEST_F(UdpEcho, LargestDatagramReplyIsCutToTheLimit) {
  const std::string datagram(65'507, 'x');
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), datagram)) << "errno " << socket_.last_error();
  const auto reply = socket_.recv(kIo);
  ASSERT_TRUE(reply) << "no reply to a 65,507-byte datagram";
  EXPECT_EQ(reply->size(), 65'507u);
  EXPECT_EQ(reply->substr(0, 9), "Eco UDP: ");
}

TEST_F(UdpEcho, CustomPrefixAndQuitWord) {
  start({"--prefix", "Echo: ", "--quit-word", "quit"});
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), "salir"));
  EXPECT_EQ(socket_.recv(kIo), "Echo: salir");
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), "QUIT"));
  EXPECT_EQ(socket_.recv(300ms), std::nullopt);
  ASSERT_TRUE(socket_.send_to("127.0.0.1", port(), "hola"));
  EXPECT_EQ(socket_.recv(kIo), "Echo: hola");
}

TEST_F(UdpEcho, EachClientGetsItsOwnReplies) {
  std::vector<UdpSocket> clients(10);
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      ASSERT_TRUE(clients[i].send_to("127.0.0.1", port(), "cliente " + std::to_string(i)));
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      EXPECT_EQ(clients[i].recv(kIo), "Eco UDP: cliente " + std::to_string(i));
    }
  }
}

TEST_F(UdpEcho, Ipv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  ServerOptions options;
  options.host = "::1";
  server_.emplace(Server::start("udp-echo", {}, options));
  EXPECT_EQ(server_->host("udp-echo"), "::1");
  UdpSocket v6("::1");
  ASSERT_TRUE(v6.send_to("::1", server_->port("udp-echo"), "hola"));
  EXPECT_EQ(v6.recv(kIo), "Eco UDP: hola");
}
