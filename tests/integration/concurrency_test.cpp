// Many concurrent clients of the echo server, every reply checked.

#include "support/echo_load.hpp"
#include "support/enchufe.hpp"
#include "support/net.hpp"
#include "support/threads.hpp"

#include <gtest/gtest.h>

using namespace enchufe::test;

namespace {

void expect_still_serving(Server& server) {
  auto client = TcpClient::connect("127.0.0.1", server.port("echo"));
  ASSERT_TRUE(client.send_all("todavia\n"));
  EXPECT_EQ(client.recv_until("\n", 5000ms).data, "Eco: todavia\n");
}

}  // namespace

TEST(Concurrency, ThousandEchoClientsTimesHundredRoundTrips) {
  const std::size_t fds = raise_fd_limit();
  if (fds < 1200) GTEST_SKIP() << "open-files limit " << fds << " is below the 1,000 clients this needs";
  auto server = Server::start("echo", {"-q"});

  EchoLoadOptions options;
  options.port = server.port("echo");
  options.clients = 1000;
  options.round_trips = 100;
  options.timeout = 90'000ms;
  const auto result = run_echo_load(options);
  RecordProperty("elapsed_ms", static_cast<int>(result.elapsed.count()));
  std::cout << "[ load     ] " << result.summary() << std::endl;
  EXPECT_TRUE(result.all_ok(options)) << result.summary() << "\n" << server.process().diagnostics();

  expect_still_serving(server);
  EXPECT_EQ(server.stop(), (ExitStatus{ExitStatus::Kind::exited, 0})) << server.process().diagnostics();
}

// The same with several event loops in the server, and with the default
// logging on (two log lines per client).
TEST(Concurrency, FourServerThreads) {
  raise_fd_limit();
  auto server = Server::start("echo", {"--threads", "4"});
  EchoLoadOptions options;
  options.port = server.port("echo");
  options.clients = 300;
  options.round_trips = 30;
  options.timeout = 60'000ms;
  const auto result = run_echo_load(options);
  std::cout << "[ load     ] " << result.summary() << std::endl;
  EXPECT_TRUE(result.all_ok(options)) << result.summary() << "\n" << server.process().diagnostics();
  // Each of the four loops took its share: a loop that served ~75 clients
  // went to sleep in epoll_wait many times; an unused one, once or twice.
  const auto loops = loop_threads(server.process().pid());
  ASSERT_EQ(loops.size(), 4u) << server.process().diagnostics();
  std::string figures;
  for (const auto& loop : loops) figures += loop.name + ": " + std::to_string(loop.voluntary_switches) + " waits; ";
  std::cout << "[ loops    ] " << figures << std::endl;
  for (const auto& loop : loops) EXPECT_GE(loop.voluntary_switches, 20) << loop.name << " served nobody: " << figures;
  expect_still_serving(server);
}

// Exactly at --max-connections every client is served (no off-by-one).
TEST(Concurrency, LoadAtTheConnectionLimit) {
  raise_fd_limit();
  auto server = Server::start("echo", {"-q", "--max-connections", "200"});
  EchoLoadOptions options;
  options.port = server.port("echo");
  options.clients = 200;
  options.round_trips = 20;
  options.timeout = 60'000ms;
  const auto result = run_echo_load(options);
  std::cout << "[ load     ] " << result.summary() << std::endl;
  EXPECT_TRUE(result.all_ok(options)) << result.summary() << "\n" << server.process().diagnostics();
}
