// --max-connections exceeded, by a crowd at once: every extra client gets
// exactly one refusal line and a clean close (never a reset that destroys
// the line), the clients already in are served throughout, and a slot that
// frees up is given to the next client.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

class MaxConnections : public ::testing::TestWithParam<std::string> {};

// A client the server has certainly accepted (and counts).
TcpClient admitted(const std::string& service, std::uint16_t port, int i) {
  if (service == "chat") return chat_join(port);
  auto c = TcpClient::connect("127.0.0.1", port);
  if (service == "greet") {
    // Held open after its greeting: the server keeps it (and its slot)
    // through its 1 s lingering close.
    const auto r = c.recv_until(kGreeting, kIo);
    EXPECT_TRUE(r.complete()) << r.describe();
  } else {
    const std::string line = "dentro " + std::to_string(i) + "\n";
    EXPECT_TRUE(c.send_all(line));
    const auto r = c.recv_until("\n", kIo);
    EXPECT_EQ(r.data, "Eco: " + line) << r.describe();
  }
  return c;
}

}  // namespace

TEST_P(MaxConnections, ACrowdOfExtraClientsGetsOneLineRefusalsOthersUnaffected) {
  const std::string service = GetParam();
  // The steady client takes slots of its own (chat: two); greet's steady
  // client would be refused itself, so greet runs without one.
  constexpr std::size_t kLimit = 5;
  auto server = FaultServer::start(service, {"--max-connections", std::to_string(kLimit)});
  std::unique_ptr<Steady> steady;
  if (service != "greet") {
    steady = Steady::start(server);
    ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  }
  const std::size_t steady_slots = service == "chat" ? 2 : service == "echo" ? 1 : 0;
  MemoryWatch memory(server);

  std::vector<TcpClient> inside;
  for (std::size_t i = 0; i < kLimit - steady_slots; ++i) inside.push_back(admitted(service, server.port(), int(i)));

  // 100 extra clients at once (greet: fewer and fast, inside the 1 s its
  // clients keep their slots).
  const std::size_t extra_count = service == "greet" ? 30 : 100;
  auto extra = open_connections(server.port(), extra_count);
  const std::string refusal = "error: server full (" + std::to_string(kLimit) + " connections); try again later\n";
  std::size_t refused = 0;
  std::string example;
  const auto deadline = Clock::now() + kIo;
  for (auto& c : extra) {
    const auto r =
        c.recv_until_eof(std::max(Duration(1), std::chrono::duration_cast<Duration>(deadline - Clock::now())));
    if (r.complete() && r.data == refusal) {
      ++refused;
    } else if (example.empty()) {
      example = r.describe();
    }
  }
  EXPECT_EQ(refused, extra_count) << "each extra client: exactly the refusal line, then EOF; e.g. " << example
                                  << "\n" << server.diagnostics();
  // Logged, but not a line each: a crowd refused must not flood the log (a
  // line a second at most, saying how many more were refused meanwhile).
  EXPECT_TRUE(server.wait_stderr_count("(--max-connections)", 1, kIo)) << server.diagnostics();
  EXPECT_LT(server.stderr_count("(--max-connections)"), extra_count / 2)
      << server.stderr_count("(--max-connections)") << " refusals logged\n" << server.diagnostics();
  EXPECT_TRUE(server.wait_stderr_line({service + ": refused 127.0.0.1:", "already " + std::to_string(kLimit)}, kIo))
      << server.diagnostics();

  // One leaves; the next client gets its slot.
  inside.front().close();
  inside.erase(inside.begin());
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    auto c = TcpClient::connect("127.0.0.1", server.port());
    if (service == "greet") {
      served = c.recv_until_eof(kIo).data == kGreeting;
    } else if (service == "echo") {
      c.send_all("nuevo\n");
      served = c.recv_until("\n", kIo).data == "Eco: nuevo\n";
    } else {
      served = c.recv_until("* you are in general now", kIo).complete();
    }
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served) << "no client was admitted after one left\n" << server.diagnostics();
  if (steady) {
    ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  }
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Services, MaxConnections, ::testing::Values("greet", "echo", "chat"), service_param_name);
