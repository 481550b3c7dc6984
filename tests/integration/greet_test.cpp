// `enchufe serve greet`: the tutorial's Example 1.

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;
const std::string kGreeting = "Hola, cliente. Bienvenido al servidor enchufe!";

}  // namespace

TEST(Greet, SendsTheGreetingBytesThenCloses) {
  auto server = Server::start("greet");
  auto client = TcpClient::connect("127.0.0.1", server.port("greet"));
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, kGreeting) << "exactly the greeting, no newline, then EOF";
}

TEST(Greet, CustomMessage) {
  const std::string message = "¡Buenos días, ñandú! \tline one\nline two";
  auto server = Server::start("greet", {"--message", message});
  auto client = TcpClient::connect("127.0.0.1", server.port("greet"));
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, message);
}

TEST(Greet, ServesClientAfterClient) {
  auto server = Server::start("greet");
  for (int i = 0; i < 10; ++i) {
    auto client = TcpClient::connect("127.0.0.1", server.port("greet"));
    const auto r = client.recv_until_eof(kIo);
    ASSERT_TRUE(r.complete()) << "client " << i << ": " << r;
    EXPECT_EQ(r.data, kGreeting);
  }
  EXPECT_TRUE(server.process().running()) << "without --once the server keeps serving";
}

TEST(Greet, ServesSimultaneousClients) {
  auto server = Server::start("greet");
  std::vector<TcpClient> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(TcpClient::connect("127.0.0.1", server.port("greet")));
  for (auto& client : clients) {
    const auto r = client.recv_until_eof(kIo);
    ASSERT_TRUE(r.complete()) << r;
    EXPECT_EQ(r.data, kGreeting);
  }
}

// The greeting server never reads; input the client sends anyway must not
// turn the close into a reset that destroys the greeting.
TEST(Greet, ClientThatTalksStillGetsTheGreeting) {
  auto server = Server::start("greet");
  auto client = TcpClient::connect("127.0.0.1", server.port("greet"));
  ASSERT_TRUE(client.send_all("hola\nhola otra vez\n"));
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, kGreeting);
}

TEST(Greet, OnceExitsZeroAfterOneClient) {
  auto server = Server::start("greet", {"--once"});
  auto client = TcpClient::connect("127.0.0.1", server.port("greet"));
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, kGreeting);
  const auto status = server.process().wait_exit(3000ms);
  ASSERT_TRUE(status) << "--once: still running 3 s after its client\n" << server.process().diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << server.process().diagnostics();
}

TEST(Greet, OnceWaitsForItsClient) {
  auto server = Server::start("greet", {"--once"});
  EXPECT_FALSE(server.process().wait_exit(500ms)) << "--once must wait for a client";
  auto client = TcpClient::connect("127.0.0.1", server.port("greet"));
  EXPECT_EQ(client.recv_until_eof(kIo).data, kGreeting);
  EXPECT_EQ(server.process().wait_exit(3000ms), (ExitStatus{ExitStatus::Kind::exited, 0}));
}
