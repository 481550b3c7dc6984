// Slowloris: hundreds of connections that send one byte per second, and
// hundreds that never send anything. With --idle-timeout 2 the silent ones
// are reclaimed (their descriptors too); the trickling ones cost the server
// nothing it cannot afford; normal clients do not notice.

#include "fault_support.hpp"

#include <gtest/gtest.h>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

class Slowloris : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Slowloris, SilentConnectionsAreReclaimedAndTricklersDoNotHurt) {
  const std::string service = GetParam();
  raise_fd_limit();
  // greet has no --idle-timeout: it closes every client itself.
  auto extra = crowd_flags(service);
  if (service != "greet") extra.insert(extra.end(), {"--idle-timeout", "2"});
  auto server = FaultServer::start(service, extra);
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  const int fds_before = server.open_fds();
  MemoryWatch memory(server);

  constexpr std::size_t kSilent = 200;
  constexpr std::size_t kTricklers = 200;
  constexpr int kSeconds = 4;
  const auto started = Clock::now();
  auto silent = open_connections(server.port(), kSilent);
  auto tricklers = open_connections(server.port(), kTricklers);

  // Chat: a space says nothing to the room (a blank line is not a message),
  // so 200 tricklers do not turn into 200 broadcasts a second; echo answers
  // each byte ("Eco: x") after its 20 ms pause.
  const std::string byte = service == "chat" ? " " : "x";
  int bytes_sent = 0;
  for (int second = 0; second < kSeconds; ++second) {
    for (auto& t : tricklers) {
      if (service != "greet") {
        ASSERT_TRUE(t.send_all(byte, 100ms)) << "trickler " << second;
      }
    }
    ++bytes_sent;
    std::this_thread::sleep_until(started + std::chrono::seconds(second + 1));
  }

  // The silent ones were closed by the server: after the idle timeout
  // (greet: after its greeting, as always).
  std::size_t reclaimed = 0;
  std::string example;
  const auto read_deadline = Clock::now() + 3000ms;  // for all of them
  auto left = [&] { return std::max(Duration(1), std::chrono::duration_cast<Duration>(read_deadline - Clock::now())); };
  for (auto& s : silent) {
    const auto r = s.recv_until_eof(left());
    bool ok = r.complete();
    if (service == "greet") ok = ok && r.data == kGreeting;
    if (service == "echo") ok = ok && r.data.empty();
    if (service == "chat") {
      ok = ok && r.data.ends_with("* disconnected: nothing received for too long (idle timeout)\n");
    }
    if (ok) {
      ++reclaimed;
    } else if (example.empty()) {
      example = r.describe();
    }
  }
  EXPECT_EQ(reclaimed, kSilent) << "e.g. " << example << "\n" << server.diagnostics();
  if (service != "greet") {
    EXPECT_GE(server.stderr_count(" idle for 2 s"), kSilent) << server.diagnostics();
  }

  // The tricklers are still connected (their last byte was 1 s ago, the
  // idle timeout is 2 s) and (echo) answered, byte by byte.
  std::size_t alive = 0;
  example.clear();
  for (auto& t : tricklers) {
    const auto r = service == "greet" ? t.recv_until_eof(left()) : t.recv_for(0ms);
    bool ok = r.end == ReadEnd::timeout;  // still open
    if (service == "greet") ok = r.complete() && r.data == kGreeting;
    if (service == "echo") ok = ok && r.data == [&] {
      std::string all;
      for (int i = 0; i < bytes_sent; ++i) all += "Eco: x";
      return all;
    }();
    if (ok) {
      ++alive;
    } else if (example.empty()) {
      example = r.describe();
    }
  }
  EXPECT_EQ(alive, kTricklers) << (service == "greet" ? "greeted and closed" : "still connected") << "; e.g. "
                               << example;
  const int fds_during = server.open_fds();
  tricklers.clear();
  silent.clear();

  // Every descriptor comes back.
  int fds_after = server.open_fds();
  const auto deadline = Clock::now() + 4000ms;
  while (fds_after > fds_before && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    fds_after = server.open_fds();
  }
  report_figure("descriptors", "before " + std::to_string(fds_before) + ", with the tricklers only " +
                                   std::to_string(fds_during) + ", after " + std::to_string(fds_after));
  EXPECT_LE(fds_after, fds_before + 2) << "descriptors leaked\n" << server.diagnostics();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << "the steady client stalled\n" << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Services, Slowloris, ::testing::Values("greet", "echo", "chat"),
                         service_param_name);
