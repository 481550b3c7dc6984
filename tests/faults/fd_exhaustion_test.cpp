// File descriptors exhausted: the server runs with RLIMIT_NOFILE 64 (soft
// and hard, so it cannot raise it) and clients connect until accept fails
// with EMFILE. The clients it already has keep being served, accepting
// backs off instead of spinning (CPU time measured from /proc/PID/stat over
// a 2 s episode), and resumes once descriptors free up.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

constexpr unsigned kNofile = 64;
constexpr double kMaxCpuWhileStarved = 0.3;  // seconds of CPU over the 2 s episode
constexpr auto kEpisode = 2000ms;

class FdExhaustion : public ::testing::TestWithParam<std::string> {};

// Proof that the server has accepted and serves `c` (echo: a round trip;
// chat: its welcome).
bool served(const std::string& service, TcpClient& c, const std::string& tag, Duration timeout) {
  if (service == "echo") {
    const auto r = c.recv_until("\n", timeout);
    return r.complete() && r.data == "Eco: " + tag + "\n";
  }
  const auto r = c.recv_until("* you are in general now", timeout);
  return r.complete();
}

double measure_cpu_over_episode(FaultServer& server, Steady* steady) {
  const double before = server.cpu_seconds();
  const std::size_t rounds_before = steady ? steady->rounds() : 0;
  std::this_thread::sleep_for(kEpisode);
  const double used = server.cpu_seconds() - before;
  char text[200];
  std::snprintf(text, sizeof text,
                "%.3f s of CPU (utime+stime) over %lld ms with accept failing; %zu steady rounds served meanwhile",
                used, static_cast<long long>(kEpisode.count()), steady ? steady->rounds() - rounds_before : 0);
  report_figure("cpu while starved", text);
  return used;
}

}  // namespace

TEST_P(FdExhaustion, ExistingClientsServedNoSpinAcceptResumes) {
  const std::string service = GetParam();
  raise_fd_limit();
  auto server = FaultServer::start(service, crowd_flags(service), {.nofile = kNofile});
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);
  report_figure("descriptors at start", std::to_string(server.open_fds()) + " of " + std::to_string(kNofile));

  // Connect one at a time, each proven served, until one is not: accept
  // has failed for lack of descriptors.
  std::vector<TcpClient> held;
  std::vector<std::pair<TcpClient, std::string>> waiting;  // connected, not yet accepted
  for (int i = 0; i < 200 && waiting.empty(); ++i) {
    auto c = TcpClient::connect("127.0.0.1", server.port());
    const std::string tag = "n" + std::to_string(i);
    if (service == "echo") {
      ASSERT_TRUE(c.send_all(tag + "\n"));
    }
    if (served(service, c, tag, 1000ms)) {
      held.push_back(std::move(c));
    } else {
      waiting.emplace_back(std::move(c), tag);
    }
  }
  ASSERT_FALSE(waiting.empty()) << "accept never failed with " << held.size() << " clients\n" << server.diagnostics();
  const auto starved = server.wait_stderr_line({service + ": cannot accept: Too many open files"}, kIo);
  ASSERT_TRUE(starved) << server.diagnostics();
  report_figure("clients accepted before EMFILE", std::to_string(held.size()));
  // A few more wait in the listen backlog.
  for (int i = 0; i < 5; ++i) {
    waiting.emplace_back(TcpClient::connect("127.0.0.1", server.port()), "w" + std::to_string(i));
    if (service == "echo") {
      ASSERT_TRUE(waiting.back().first.send_all(waiting.back().second + "\n"));
    }
  }

  // The clients it has are still served, and it does not spin.
  const double cpu = measure_cpu_over_episode(server, steady.get());
  EXPECT_LT(cpu, kMaxCpuWhileStarved) << "the server spins while accept fails\n" << server.diagnostics();
  for (std::size_t i = 0; i < held.size(); i += 7) {
    const std::string tag = "again" + std::to_string(i);
    ASSERT_TRUE(held[i].send_all(service == "echo" ? tag + "\n" : "/who\n"));
    const auto r = held[i].recv_until(service == "echo" ? "\n" : " in general: ", kIo);
    EXPECT_TRUE(r.complete()) << "held client " << i << ": " << r.describe();
    if (service == "echo") {
      EXPECT_EQ(r.data, "Eco: " + tag + "\n");
    }
  }
  // Warned once, not once per retry.
  EXPECT_EQ(server.stderr_count("cannot accept"), 1u) << server.diagnostics();

  // Free 20 descriptors: accepting resumes and every waiting client is served.
  for (int i = 0; i < 20; ++i) {
    held.front().close();
    held.erase(held.begin());
  }
  EXPECT_TRUE(server.wait_stderr_line({service + ": accepting again"}, kIo)) << server.diagnostics();
  for (auto& [c, tag] : waiting) {
    EXPECT_TRUE(served(service, c, tag, kIo)) << "waiting client " << tag << " was never served\n"
                                               << server.diagnostics();
  }
  auto late = TcpClient::connect("127.0.0.1", server.port());
  if (service == "echo") {
    ASSERT_TRUE(late.send_all("late\n"));
  }
  EXPECT_TRUE(served(service, late, "late", kIo)) << server.diagnostics();

  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Services, FdExhaustion, ::testing::Values("echo", "chat"),
                         service_param_name);

// greet holds each client only for the greeting and its 1 s lingering
// close, so 150 clients at once exhaust 64 descriptors for a while: every
// one of them is still greeted, and the wait does not spin.
TEST(FdExhaustionGreet, EveryClientIsGreetedOnceDescriptorsFreeUp) {
  raise_fd_limit();
  auto server = FaultServer::start("greet", {}, {.nofile = kNofile});
  MemoryWatch memory(server);

  constexpr std::size_t kClients = 150;
  auto clients = open_connections(server.port(), kClients);
  ASSERT_TRUE(server.wait_stderr_line({"greet: cannot accept: Too many open files"}, kIo)) << server.diagnostics();
  const double cpu = measure_cpu_over_episode(server, nullptr);
  EXPECT_LT(cpu, kMaxCpuWhileStarved) << server.diagnostics();

  std::size_t greeted = 0;
  std::string example;
  for (auto& c : clients) {
    const auto r = c.recv_until_eof(kIo);
    if (r.complete() && r.data == kGreeting) {
      ++greeted;
    } else if (example.empty()) {
      example = r.describe();
    }
    c.close();
  }
  EXPECT_EQ(greeted, kClients) << "e.g. " << example << "\n" << server.diagnostics();
  EXPECT_TRUE(server.wait_stderr_line({"greet: accepting again"}, kIo)) << server.diagnostics();
  expect_server_healthy(server, nullptr, memory, 16 * 1024);
}
