// SIGTERM/SIGINT with clients connected: exit 0 within 2 s, owed replies
// delivered before the EOF.

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <thread>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;

// Signals the server and checks it exits 0 within 2 s.
void expect_clean_exit_after(Server& server, int signo) {
  ASSERT_TRUE(server.process().send_signal(signo));
  const auto signalled = Clock::now();
  const auto status = server.process().wait_exit(2000ms);
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - signalled);
  ASSERT_TRUE(status) << "still running 2 s after signal " << signo << "\n" << server.process().diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << server.process().diagnostics();
  EXPECT_LE(took, 2000ms);
}

}  // namespace

TEST(Shutdown, SigtermWithClientsConnected) {
  // -v logs every message the server has read: the test waits for that so
  // "had sent a line" means the server has it, not just the kernel.
  auto server = Server::start("echo", {"-v"});
  const auto port = server.port("echo");

  auto idle = TcpClient::connect("127.0.0.1", port);
  auto talker = TcpClient::connect("127.0.0.1", port);
  auto chatty = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(chatty.send_all("primero\n"));
  ASSERT_EQ(chatty.recv_until("\n", kIo).data, "Eco: primero\n");

  // The talker sends a line and does not read its reply before the signal.
  ASSERT_TRUE(talker.send_all("me debes una respuesta\n"));
  ASSERT_TRUE(server.process().wait_stderr_contains("me debes una respuesta", kIo))
      << server.process().diagnostics();
  ASSERT_TRUE(server.process().wait_stderr_contains("#3", kIo)) << "all three clients accepted";

  expect_clean_exit_after(server, SIGTERM);

  const auto t = talker.recv_until_eof(kIo);
  EXPECT_TRUE(t.complete()) << "the reply, then EOF (not a reset): " << t;
  EXPECT_EQ(t.data, "Eco: me debes una respuesta\n");

  const auto i = idle.recv_until_eof(kIo);
  EXPECT_TRUE(i.complete()) << i;
  EXPECT_EQ(i.data, "");

  const auto c = chatty.recv_until_eof(kIo);
  EXPECT_TRUE(c.complete()) << c;
  EXPECT_EQ(c.data, "");
}

TEST(Shutdown, SigintWithClientsConnected) {
  auto server = Server::start("all");
  auto echo = TcpClient::connect("127.0.0.1", server.port("echo"));
  ASSERT_TRUE(echo.send_all("hola\n"));
  ASSERT_EQ(echo.recv_until("\n", kIo).data, "Eco: hola\n");
  expect_clean_exit_after(server, SIGINT);
  const auto r = echo.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "");
}

// Many clients, each with a line the server has read: every one of them gets
// its reply before the EOF.
TEST(Shutdown, EveryOwedReplyIsDeliveredBeforeTheEof) {
  auto server = Server::start("echo", {"-v"});
  const auto port = server.port("echo");
  std::vector<TcpClient> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(TcpClient::connect("127.0.0.1", port));
    ASSERT_TRUE(clients.back().send_all("linea " + std::to_string(i) + "\n"));
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(server.process().wait_stderr_contains("\"linea " + std::to_string(i) + "\"", kIo))
        << server.process().diagnostics();
  }
  expect_clean_exit_after(server, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    const auto r = clients[i].recv_until_eof(kIo);
    EXPECT_TRUE(r.complete()) << "client " << i << ": " << r;
    EXPECT_EQ(r.data, "Eco: linea " + std::to_string(i) + "\n") << "client " << i;
  }
}

// A client that sends a lot and never reads cannot hold the shutdown past 2 s.
TEST(Shutdown, ClientThatNeverReadsDoesNotDelayTheExit) {
  auto server = Server::start("echo");
  auto hog = TcpClient::connect("127.0.0.1", server.port("echo"));
  std::string chunk(1000, 'x');
  chunk += '\n';
  std::string lots;
  for (int i = 0; i < 1000; ++i) lots += chunk;
  // Fill both directions until the server stops reading (back-pressure).
  for (int i = 0; i < 20; ++i) {
    if (!hog.send_all(lots, 200ms)) break;
  }
  auto other = TcpClient::connect("127.0.0.1", server.port("echo"));
  expect_clean_exit_after(server, SIGTERM);
}

TEST(Shutdown, SecondSignalStopsAtOnce) {
  auto server = Server::start("echo");
  auto hog = TcpClient::connect("127.0.0.1", server.port("echo"));
  std::string line(100'000, 'x');
  line += '\n';
  for (int i = 0; i < 20; ++i) {
    if (!hog.send_all(line, 200ms)) break;
  }
  ASSERT_TRUE(server.process().send_signal(SIGTERM));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(server.process().send_signal(SIGTERM));
  const auto status = server.process().wait_exit(1000ms);
  ASSERT_TRUE(status) << server.process().diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << server.process().diagnostics();
}

// An idle server stops within milliseconds, so more signals often land
// while it is already on its way out (an impatient Ctrl-C, a supervisor
// that repeats SIGTERM): none of them may kill it. A storm of signals, one
// every 100 us from the first until the exit, finds any window there is.
TEST(Shutdown, SignalsDuringTheExitDoNotKill) {
  for (int round = 0; round < 10; ++round) {
    auto server = Server::start("echo", {"-q"});
    auto& p = server.process();
    ASSERT_TRUE(p.send_signal(SIGTERM));
    std::optional<ExitStatus> status;
    for (int i = 0; i < 20'000 && !(status = p.poll_exit()); ++i) {
      p.send_signal(i % 2 ? SIGINT : SIGTERM);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (!status) status = p.wait_exit(2000ms);
    ASSERT_TRUE(status) << p.diagnostics();
    ASSERT_TRUE(status->is_exit_code(0)) << "round " << round << ": " << p.diagnostics();
  }
}

TEST(Shutdown, UdpServerWithTrafficExitsZero) {
  auto server = Server::start("udp-echo");
  UdpSocket socket;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(socket.send_to("127.0.0.1", server.port("udp-echo"), "hola"));
  for (int i = 0; i < 10; ++i) ASSERT_EQ(socket.recv(kIo), "Eco UDP: hola");
  expect_clean_exit_after(server, SIGTERM);
}

// Lines already in the server's socket buffers when SIGTERM arrives were
// sent before the signal: each deserves its reply before the EOF, never a
// clean EOF that silently drops it. SIGSTOP holds the server while the lines
// arrive and the signal is queued, so the lines are certainly there first;
// SIGCONT lets it handle both. A few rounds, since the server's threads race.
TEST(Shutdown, LinesSentJustBeforeSigtermAreAnswered) {
  constexpr int kClients = 50;
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    auto server = Server::start("echo", {"-q", "--threads", "2"});
    const auto port = server.port("echo");
    std::vector<TcpClient> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(TcpClient::connect("127.0.0.1", port));
      ASSERT_TRUE(clients.back().send_all("x\n"));
      ASSERT_EQ(clients.back().recv_until("\n", kIo).data, "Eco: x\n");  // accepted and idle
    }
    ASSERT_TRUE(server.process().send_signal(SIGSTOP));
    std::this_thread::sleep_for(50ms);
    for (int i = 0; i < kClients; ++i) ASSERT_TRUE(clients[i].send_all("hola " + std::to_string(i) + "\n"));
    ASSERT_TRUE(server.process().send_signal(SIGTERM));
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(server.process().send_signal(SIGCONT));
    const auto resumed = Clock::now();
    int lost = 0;
    std::string example;
    for (int i = 0; i < kClients; ++i) {
      const auto r = clients[i].recv_until_eof(kIo);
      clients[i].close();  // spares the server its lingering close
      // A reset or a timeout is a loss too: the line was in the server's
      // socket before SIGTERM, so only its reply and then a clean EOF will do.
      if (!r.complete() || r.data != "Eco: hola " + std::to_string(i) + "\n") {
        if (++lost == 1) example = "client " + std::to_string(i) + ": " + r.describe();
      }
    }
    const auto left = std::chrono::duration_cast<Duration>(2000ms - (Clock::now() - resumed));
    const auto status = server.process().wait_exit(std::max(left, Duration(0)));
    ASSERT_TRUE(status) << "still running 2 s after SIGTERM\n" << server.process().diagnostics();
    EXPECT_TRUE(status->is_exit_code(0)) << server.process().diagnostics();
    ASSERT_EQ(lost, 0) << "round " << round + 1 << ": " << lost << " of " << kClients
                       << " clients had a line in the server's socket before SIGTERM and did not get its "
                          "reply followed by a clean EOF; e.g. "
                       << example;
  }
}
