// Clients that reset their connection (SO_LINGER 0, then close): halfway
// through a line, and while the server is still writing replies to them.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <csignal>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

class ResetMidMessage : public ::testing::TestWithParam<std::string> {};
class ResetWhileServerWrites : public ::testing::TestWithParam<std::string> {};

}  // namespace

// 100 clients send half a line (no newline) and reset before the server's
// partial-message pause (20 ms) is over. Each close is logged with the reset
// as its reason (greet never reads: it logs its own reason, "done").
TEST_P(ResetMidMessage, ServerSurvivesAndLogsEveryReset) {
  const std::string service = GetParam();
  auto server = FaultServer::start(service, crowd_flags(service));
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  constexpr std::size_t kClients = 100;
  auto clients = open_connections(server.port(), kClients);
  std::vector<std::uint16_t> ports;
  for (auto& c : clients) {
    ports.push_back(c.local_port());
    ASSERT_TRUE(c.send_all("half a li"));
  }
  std::this_thread::sleep_for(5ms);
  for (auto& c : clients) c.reset();

  const std::string reason = service == "greet" ? ": done" : ": connection reset by client";
  const auto closes = server.tally_closes(ports, reason, kIo);
  EXPECT_TRUE(closes.all()) << closes.describe() << "\n" << server.diagnostics();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << "the steady client stalled\n" << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

// Clients send lines without reading until the server stops reading them
// (its replies back up), then reset: the server is mid-write to each. Every
// close is logged as a reset, and the replies queued for them are dropped.
TEST_P(ResetWhileServerWrites, ServerSurvivesAndLogsEveryReset) {
  const std::string service = GetParam();
  // Chat: lift the flood limit, so the writer is what this case exercises.
  std::vector<std::string> extra;
  if (service == "chat") extra = {"--flood-rate", "1000000", "--flood-burst", "1000000"};
  auto server = FaultServer::start(service, extra);
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  constexpr std::size_t kClients = 10;
  std::vector<TcpClient> clients;
  std::vector<std::uint16_t> ports;
  std::size_t stuck = 0;
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.push_back(service == "chat" ? chat_join(server.port()) : TcpClient::connect("127.0.0.1", server.port()));
    ports.push_back(clients.back().local_port());
    if (service == "echo") {
      // Until the socket stays full for 300 ms: the server has stopped
      // reading us, with 256 KiB of replies or more queued.
      std::string lines;
      for (int k = 0; k < 10'000; ++k) lines += std::string(99, 'w') + "\n";
      for (int round = 0; round < 20; ++round) {
        if (!clients.back().send_all(lines, 300ms)) {
          ++stuck;
          break;
        }
      }
    } else {
      // 1,000 "/help": about 570 KB of replies, under --max-output (1 MiB),
      // most of it queued by the server since nobody reads.
      std::string lines;
      for (int k = 0; k < 1000; ++k) lines += "/help\n";
      ASSERT_TRUE(clients.back().send_all(lines, kIo));
    }
  }
  if (service == "echo") {
    EXPECT_EQ(stuck, kClients) << "every client should have filled the pipe";
  }
  std::this_thread::sleep_for(200ms);  // the server writes what it can
  for (auto& c : clients) c.reset();

  const auto closes = server.tally_closes(ports, ": connection reset by client", kIo);
  EXPECT_TRUE(closes.all()) << closes.describe() << "\n" << server.diagnostics();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << "the steady client stalled\n" << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 32 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Services, ResetMidMessage, ::testing::Values("greet", "echo", "chat"), service_param_name);
INSTANTIATE_TEST_SUITE_P(Services, ResetWhileServerWrites, ::testing::Values("echo", "chat"), service_param_name);

// A client that connects and resets before the server has accepted it (the
// server is held with SIGSTOP meanwhile, so that certainly happens) must
// still be logged with its own address: the operator needs to know who it
// was. Every close is logged with its reason either way.
TEST(AnonymousResets, ClientResetBeforeAcceptIsLoggedWithItsAddress) {
  auto server = FaultServer::start("echo");
  constexpr std::size_t kClients = 5;
  std::vector<std::uint16_t> ports;
  ASSERT_TRUE(server.process().send_signal(SIGSTOP));
  for (std::size_t i = 0; i < kClients; ++i) {
    auto c = TcpClient::connect("127.0.0.1", server.port());  // the kernel completes the handshake
    ports.push_back(c.local_port());
    ASSERT_TRUE(c.send_all("half a li"));
    c.reset();
  }
  ASSERT_TRUE(server.process().send_signal(SIGCONT));

  const auto closes = server.tally_closes(ports, ": connection reset by client", kIo);
  EXPECT_TRUE(closes.all()) << closes.describe() << "\n" << server.diagnostics();
  EXPECT_EQ(closes.anonymous, 0u) << "clients reset before accept are logged as \"0.0.0.0:0\", not by their "
                                     "address (127.0.0.1:PORT):\n"
                                  << closes.describe() << "\n" << server.diagnostics();
  auto c = TcpClient::connect("127.0.0.1", server.port());
  ASSERT_TRUE(c.send_all("sigo\n"));
  EXPECT_EQ(c.recv_until("\n", kIo).data, "Eco: sigo\n");
  EXPECT_TRUE(server.alive());
}
