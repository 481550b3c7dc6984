// --max-connections: one client too many gets a one-line refusal, and the
// slot is reused once a client leaves.

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <thread>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;

// A connected client that has had one round trip, so the server has
// certainly accepted it (and counts it).
TcpClient served_client(std::uint16_t port, const std::string& name) {
  auto client = TcpClient::connect("127.0.0.1", port);
  EXPECT_TRUE(client.send_all(name + "\n"));
  const auto r = client.recv_until("\n", kIo);
  EXPECT_TRUE(r.complete()) << name << ": " << r;
  EXPECT_EQ(r.data, "Eco: " + name + "\n");
  return client;
}

void expect_refused(TcpClient& client) {
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << "a refused client should read one line then EOF: " << r;
  EXPECT_EQ(r.data.rfind("error: server full", 0), 0u) << r;
  EXPECT_EQ(std::count(r.data.begin(), r.data.end(), '\n'), 1) << "exactly one line: " << r;
  EXPECT_EQ(r.data.back(), '\n') << r;
}

}  // namespace

TEST(MaxConnections, OneTooManyIsRefusedWithOneLineThenServedAfterOneLeaves) {
  auto server = Server::start("echo", {"--max-connections", "2"});
  const auto port = server.port("echo");
  auto a = served_client(port, "a");
  auto b = served_client(port, "b");

  auto c = TcpClient::connect("127.0.0.1", port);
  expect_refused(c);

  // The first two are still served.
  ASSERT_TRUE(a.send_all("a otra vez\n"));
  EXPECT_EQ(a.recv_until("\n", kIo).data, "Eco: a otra vez\n");

  // One leaves: its slot frees up (once the server has noticed, hence the
  // retries; a refusal in between is fine).
  ASSERT_TRUE(b.send_all("salir\n"));
  ASSERT_TRUE(b.recv_until_eof(kIo).complete());
  b.close();

  const auto deadline = Clock::now() + 5000ms;
  std::optional<TcpClient> d;
  std::string last;
  while (!d && Clock::now() < deadline) {
    auto candidate = TcpClient::connect("127.0.0.1", port);
    // A refused candidate may reject the send: then just try again.
    candidate.send_all("d\n");
    const auto r = candidate.recv_until("\n", kIo);
    last = r.describe();
    if (r.complete() && r.data == "Eco: d\n") {
      d.emplace(std::move(candidate));
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  ASSERT_TRUE(d) << "no new client was served after one of two left; last: " << last;

  // a and d fill it again.
  auto e = TcpClient::connect("127.0.0.1", port);
  expect_refused(e);
}

TEST(MaxConnections, RefusalIsNotDestroyedByInputTheClientSent) {
  auto server = Server::start("echo", {"--max-connections", "1"});
  const auto port = server.port("echo");
  auto a = served_client(port, "a");
  for (int i = 0; i < 5; ++i) {
    auto extra = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(extra.send_all("hola\nque tal\n"));
    expect_refused(extra);
  }
  ASSERT_TRUE(a.send_all("sigo\n"));
  EXPECT_EQ(a.recv_until("\n", kIo).data, "Eco: sigo\n");
}

TEST(MaxConnections, RefusedClientsDoNotTakeSlots) {
  auto server = Server::start("echo", {"--max-connections", "1"});
  const auto port = server.port("echo");
  {
    auto a = served_client(port, "a");
    for (int i = 0; i < 20; ++i) {
      auto extra = TcpClient::connect("127.0.0.1", port);
      expect_refused(extra);
    }
  }
  // a has gone: after a moment, one client is served again.
  const auto deadline = Clock::now() + 5000ms;
  bool served = false;
  while (!served && Clock::now() < deadline) {
    auto b = TcpClient::connect("127.0.0.1", port);
    b.send_all("b\n");
    served = b.recv_until("\n", kIo).data == "Eco: b\n";
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

// The limit is per server: a full echo server does not stop `serve all`'s
// greeting server.
TEST(MaxConnections, ServeAllCountsEachServerSeparately) {
  auto server = Server::start("all", {"--max-connections", "1"});
  auto a = served_client(server.port("echo"), "a");
  auto refused = TcpClient::connect("127.0.0.1", server.port("echo"));
  expect_refused(refused);
  auto greet = TcpClient::connect("127.0.0.1", server.port("greet"));
  const auto r = greet.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Hola, cliente. Bienvenido al servidor enchufe!");
}
