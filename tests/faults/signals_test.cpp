// Signals at busy moments. SIGPIPE (sent by hand, on top of the EPIPEs that
// resets cause) is ignored. SIGTERM and SIGINT while clients load the
// server, one hogs it without reading and others have lines the server has
// not answered yet: no crash, every owed reply is delivered before the EOF,
// exit code 0 within 2 s.

#include "fault_support.hpp"
#include "support/echo_load.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

constexpr auto kShutdownBound = 2000ms;

class Sigpipe : public ::testing::TestWithParam<std::string> {};

struct ShutdownCase {
  std::string service;
  int signo;
};
// For test names and messages (CTest shows GetParam()).
void PrintTo(const ShutdownCase& c, std::ostream* os) {
  *os << c.service << (c.signo == SIGTERM ? " SIGTERM" : " SIGINT");
}
class ShutdownWhileBusy : public ::testing::TestWithParam<ShutdownCase> {};

std::string case_name(const ::testing::TestParamInfo<ShutdownCase>& info) {
  return info.param.service + (info.param.signo == SIGTERM ? "_SIGTERM" : "_SIGINT");
}

// Waits for the exit after the server was resumed (or signalled); checks
// "exit code 0 within 2 s" and returns how long it took.
Duration expect_clean_exit(FaultServer& server, Clock::time_point since) {
  const auto status = server.process().wait_exit(kShutdownBound + 1000ms);
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - since);
  EXPECT_TRUE(status) << "still running " << took.count() << " ms after the signal\n" << server.diagnostics();
  if (status) {
    EXPECT_TRUE(status->is_exit_code(0)) << server.diagnostics();
  }
  EXPECT_LE(took, kShutdownBound) << server.diagnostics();
  report_figure("shutdown", "exited " + std::to_string(took.count()) + " ms after the signal");
  return took;
}

}  // namespace

// ---- SIGPIPE ----------------------------------------------------------------------

TEST_P(Sigpipe, IsIgnoredWhileServing) {
  const std::string service = GetParam();
  auto server = FaultServer::start(service);
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(server.process().send_signal(SIGPIPE));
    // A reset client too: its replies would raise a real SIGPIPE without
    // MSG_NOSIGNAL or SIG_IGN.
    if (service != "udp-echo") {
      auto c = TcpClient::connect("127.0.0.1", server.port());
      c.send_all("x\n");
      c.reset();
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  EXPECT_EQ(server.process().poll_exit(), std::nullopt) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Services, Sigpipe, ::testing::Values("greet", "echo", "chat", "udp-echo"),
                         service_param_name);

// ---- SIGTERM / SIGINT ------------------------------------------------------------------

TEST_P(ShutdownWhileBusy, OwedRepliesFlushedExitZeroWithinTwoSeconds) {
  const auto [service, signo] = GetParam();
  auto extra = crowd_flags(service);
  if (service == "chat") extra.insert(extra.end(), {"--flood-rate", "1000000", "--flood-burst", "1000000"});
  auto server = FaultServer::start(service, extra);
  const auto port = server.port();

  if (service == "greet") {
    // 200 connections in flight: accepted, greeted, lingering, or still in
    // the listen backlog when the signal comes. Each gets the whole greeting
    // or nothing (refused once the listener is closed), never part of it.
    auto clients = open_connections(port, 200);
    // The first greeting arrives before the signal: the server was serving,
    // so "nobody greeted" cannot pass for a clean shutdown.
    const auto first = clients.front().recv_exact(kGreeting.size(), kIo);
    ASSERT_EQ(first.data, kGreeting) << first << "\n" << server.diagnostics();
    ASSERT_TRUE(server.process().send_signal(signo));
    const auto signalled = Clock::now();
    std::size_t greeted = 1, nothing = 0;
    std::string example;
    for (auto& c : clients) {
      const auto r = c.recv_until_eof(kIo);
      if (&c == &clients.front()) {
        EXPECT_EQ(r.data, "") << "more after the greeting: " << r;
      } else if (r.data == kGreeting) {
        ++greeted;
      } else if (r.data.empty()) {
        ++nothing;
      } else if (example.empty()) {
        example = r.describe();
      }
      c.close();
    }
    EXPECT_EQ(greeted + nothing, clients.size()) << "a partial greeting: " << example;
    report_figure("greet at shutdown", std::to_string(greeted) + " greeted, " + std::to_string(nothing) +
                                           " closed without a greeting");
    expect_clean_exit(server, signalled);
    EXPECT_NE(server.process().stderr_text().find("shutting down"), std::string::npos) << server.diagnostics();
    return;
  }

  // Busy: a load runs (echo: 50 clients doing round trips; chat: a talker
  // saying a line every few ms to a room of readers), a hog never reads.
  std::atomic<bool> stop_load{false};
  std::thread load;
  std::optional<TcpClient> talker;
  std::vector<TcpClient> audience;
  if (service == "echo") {
    load = std::thread([port] {
      EchoLoadOptions o;
      o.port = port;
      o.clients = 50;
      o.round_trips = 1'000'000;  // until the server goes away
      o.timeout = 6000ms;
      run_echo_load(o);
    });
  } else {
    for (int i = 0; i < 10; ++i) audience.push_back(chat_join(port, "oyente" + std::to_string(i)));
    talker = chat_join(port, "talker");
    load = std::thread([&talker, &stop_load] {
      for (int i = 0; i < 100'000 && !stop_load.load(); ++i) {
        if (!talker->send_all("charla " + std::to_string(i) + "\n", 200ms)) break;
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  auto hog = service == "chat" ? chat_join(port, "hog") : TcpClient::connect("127.0.0.1", port);
  if (service == "echo") {
    for (int i = 0; i < 20; ++i) {
      if (!hog.send_all(std::string(100'000, 'h') + "\n", 200ms)) break;
    }
  } else {
    std::string helps;
    for (int i = 0; i < 500; ++i) helps += "/help\n";  // ~280 KB owed, unread
    hog.send_all(helps, 1000ms);
  }

  // Clients with a line the server has not read yet: SIGSTOP holds the
  // server while they arrive and the signal is queued, so they were
  // certainly sent before the signal.
  constexpr int kOwed = 20;
  std::vector<TcpClient> owed;
  for (int i = 0; i < kOwed; ++i) {
    owed.push_back(service == "chat" ? chat_join(port, "debo" + std::to_string(i))
                                     : TcpClient::connect("127.0.0.1", port));
  }
  auto partial = TcpClient::connect("127.0.0.1", port);
  if (service == "echo") {
    ASSERT_TRUE(partial.send_all("x\n"));
    ASSERT_EQ(partial.recv_until("\n", kIo).data, "Eco: x\n");
    for (auto& c : owed) {
      ASSERT_TRUE(c.send_all("x\n"));
      ASSERT_EQ(c.recv_until("\n", kIo).data, "Eco: x\n");
    }
  }
  std::this_thread::sleep_for(200ms);  // busy for a while
  ASSERT_TRUE(server.process().send_signal(SIGSTOP));
  std::this_thread::sleep_for(20ms);
  for (int i = 0; i < kOwed; ++i) {
    ASSERT_TRUE(owed[i].send_all(service == "echo" ? "debo " + std::to_string(i) + "\n" : std::string("/who\n")));
  }
  // The tutorial's client: bytes without a newline, answered at the close.
  if (service == "echo") {
    ASSERT_TRUE(partial.send_all("medio"));
  }
  ASSERT_TRUE(server.process().send_signal(signo));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(server.process().send_signal(SIGCONT));
  const auto resumed = Clock::now();

  std::size_t delivered = 0;
  std::string example;
  for (int i = 0; i < kOwed; ++i) {
    const auto r = owed[i].recv_until_eof(kIo);
    bool ok = r.complete();
    if (service == "echo") {
      ok = ok && r.data == "Eco: debo " + std::to_string(i) + "\n";
    } else {
      // Its /who answer, then the goodbye, then EOF.
      const auto who = r.data.find(" in general: ");
      const auto bye = r.data.find("* disconnected: server shutting down\n");
      ok = ok && who != std::string::npos && bye != std::string::npos && who < bye &&
           r.data.ends_with("* disconnected: server shutting down\n");
    }
    if (ok) {
      ++delivered;
    } else if (example.empty()) {
      example = "client " + std::to_string(i) + ": " + r.describe();
    }
  }
  EXPECT_EQ(delivered, static_cast<std::size_t>(kOwed))
      << "replies owed at the signal must arrive before the EOF; e.g. " << example << "\n" << server.diagnostics();
  if (service == "echo") {
    const auto r = partial.recv_until_eof(kIo);
    EXPECT_TRUE(r.complete()) << r.describe();
    EXPECT_EQ(r.data, "Eco: medio") << "bytes without a newline are answered at the close";
  }
  expect_clean_exit(server, resumed);
  stop_load = true;
  load.join();
  const std::string name = signo == SIGTERM ? "SIGTERM" : "SIGINT";
  EXPECT_NE(server.process().stderr_text().find("received " + name + ": shutting down"), std::string::npos)
      << server.diagnostics();
  EXPECT_EQ(server.process().stderr_text().find("exception"), std::string::npos) << server.diagnostics();
}

INSTANTIATE_TEST_SUITE_P(Services, ShutdownWhileBusy,
                         ::testing::Values(ShutdownCase{"greet", SIGTERM}, ShutdownCase{"greet", SIGINT},
                                           ShutdownCase{"echo", SIGTERM}, ShutdownCase{"echo", SIGINT},
                                           ShutdownCase{"chat", SIGTERM}, ShutdownCase{"chat", SIGINT}),
                         case_name);

// udp-echo with a flood in flight: SIGTERM still exits 0 within 2 s.
TEST(ShutdownWhileBusyUdp, SigtermDuringAFloodExitsZeroWithinTwoSeconds) {
  auto server = FaultServer::start("udp-echo");
  UdpSocket flood;
  for (int i = 0; i < 20'000; ++i) flood.send_to("127.0.0.1", server.port(), "rafaga " + std::to_string(i));
  ASSERT_TRUE(server.process().send_signal(SIGTERM));
  const auto signalled = Clock::now();
  for (int i = 0; i < 20'000; ++i) {
    if (!flood.send_to("127.0.0.1", server.port(), "mas " + std::to_string(i))) break;
  }
  expect_clean_exit(server, signalled);
}
