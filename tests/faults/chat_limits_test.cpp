// Chat-only faults: a client flooding the room, and a member that does not
// read while others talk (owing more than --max-output). Each is cut off
// with a reason, logged; the others never wait for it. And the other side
// of --max-output: a member that does read is never cut by it.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

// Counts, in what `client` receives within `window`, the lines containing
// `needle`.
std::size_t count_heard(TcpClient& client, std::string_view needle, Duration window) {
  const auto r = client.recv_for(window);
  std::size_t n = 0;
  for (auto at = r.data.find(needle); at != std::string::npos; at = r.data.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

// 200 lines at once, with the default limits (10 a second, bursts of 20):
// the room hears the burst, the flooder is warned once, then disconnected
// after 20 dropped lines in a row.
TEST(ChatLimits, FlooderIsWarnedThenDisconnected) {
  auto server = FaultServer::start("chat");
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  auto watcher = chat_join(server.port(), "watcher");
  auto flooder = chat_join(server.port(), "flooder");
  const auto port = flooder.local_port();
  MemoryWatch memory(server);

  std::string lines;
  for (int i = 0; i < 200; ++i) lines += "inundo " + std::to_string(i) + "\n";
  ASSERT_TRUE(flooder.send_all(lines));
  const auto r = flooder.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r.describe();
  const std::string warning = "error: slow down: at most 10 lines per second (bursts of 20); lines are being dropped\n";
  const auto first = r.data.find(warning);
  EXPECT_NE(first, std::string::npos) << r.describe();
  EXPECT_EQ(r.data.find(warning, first + 1), std::string::npos) << "warned once: " << r.describe();
  EXPECT_NE(r.data.find("* disconnected: flooding\n"), std::string::npos) << r.describe();

  // The room heard the burst, not the flood.
  const auto heard = count_heard(watcher, "<flooder> inundo ", 500ms);
  report_figure("flood", "200 lines sent at once, " + std::to_string(heard) + " reached the room");
  // The burst of 20 less the nickname line, which took one token.
  EXPECT_GE(heard, 19u);
  EXPECT_LE(heard, 25u);

  const auto closed = server.wait_closed_line(port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": flooding"), std::string::npos) << *closed;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

namespace {

// Reads every line of `talker`'s ("<talker> linea N") that reaches `reader`
// while `send` runs in a thread; returns how many arrived in order. The
// other lines (notices, ...) are appended to `rest`.
std::size_t hear_talker(TcpClient& reader, const std::function<void()>& send, std::size_t lines,
                        std::string& rest) {
  std::thread sender(send);
  std::size_t heard = 0;
  const auto deadline = Clock::now() + 15'000ms;
  std::string pending;
  while (heard < lines && Clock::now() < deadline) {
    const auto r = reader.recv_some(500ms);
    pending += r.data;
    std::size_t from = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', from)) {
      const auto line = std::string_view(pending).substr(from, nl - from);
      if (line.find("<talker> linea " + std::to_string(heard) + " ") != std::string_view::npos) {
        ++heard;
      } else {
        rest.append(line).append("\n");
      }
      from = nl + 1;
    }
    pending.erase(0, from);
    if (r.end == ReadEnd::eof || r.end == ReadEnd::error) break;
  }
  sender.join();
  rest += pending;
  return heard;
}

}  // namespace

// A member that reads nothing while a talker sends 8 MB to the room (paced
// like a fast script, 32 KB every 8 ms: 4 MB/s, which the reading members,
// who check every line, keep up with even under ThreadSanitizer): once it
// owes more than --max-output (1 MiB, the default) it is disconnected as
// too slow; the reading members get every line, in order, without waiting
// for it.
TEST(ChatLimits, MemberThatDoesNotReadIsCutOverMaxOutput) {
  auto server = FaultServer::start("chat", {"--flood-rate", "1000000", "--flood-burst", "1000000"});
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  auto reader = chat_join(server.port(), "reader");
  auto slow = chat_join(server.port(), "lento");
  const auto slow_port = slow.local_port();
  auto talker = chat_join(server.port(), "talker");
  MemoryWatch memory(server);

  constexpr std::size_t kLines = 2000;
  std::string lines;
  for (std::size_t i = 0; i < kLines; ++i) lines += "linea " + std::to_string(i) + " " + std::string(4000, 't') + "\n";
  std::string rest;
  const auto heard = hear_talker(
      reader,
      [&] {
        for (std::size_t at = 0; at < lines.size(); at += 32 * 1024) {
          if (!talker.send_all(std::string_view(lines).substr(at, 32 * 1024), kIo)) break;
          std::this_thread::sleep_for(8ms);
        }
      },
      kLines, rest);
  EXPECT_EQ(heard, kLines) << server.diagnostics();

  const auto cut =
      server.wait_stderr_line({"127.0.0.1:" + std::to_string(slow_port), "over --max-output; disconnecting"}, kIo);
  ASSERT_TRUE(cut) << server.diagnostics();
  report_figure("slow member", *cut);
  const auto closed = server.wait_closed_line(slow_port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": too slow"), std::string::npos) << *closed;
  // Nobody else was.
  EXPECT_EQ(server.stderr_count("over --max-output"), 1u) << server.diagnostics();
  // The room hears why it left.
  if (rest.find("lento left (too slow)") == std::string::npos) {
    const auto left = reader.recv_until("lento left (too slow)\n", kIo);
    EXPECT_TRUE(left.complete()) << left.describe();
  }
  // The slow member finds its connection closed once it looks.
  const auto r = slow.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << "closed, not left hanging: " << r.describe();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 32 * 1024);
}

// --max-output is for members that do not read. A member reading as fast
// as it can must not be cut because one burst to the room (here 1 MB sent
// at once, with --max-output 64 KiB) is larger than the limit: the server
// should try to write before judging it too slow. Whether the server's
// first write comes in time is a race, so up to 5 rounds, each on a fresh
// server, and the first cut fails the test.
TEST(ChatLimits, ReadingMemberIsNotCutByABurstLargerThanMaxOutput) {
  constexpr int kRounds = 5;
  constexpr std::size_t kLines = 1000;
  std::string lines;
  for (std::size_t i = 0; i < kLines; ++i) lines += "linea " + std::to_string(i) + " " + std::string(1000, 'r') + "\n";
  for (int round = 1; round <= kRounds; ++round) {
    auto server = FaultServer::start(
        "chat", {"--max-output", "65536", "--flood-rate", "1000000", "--flood-burst", "1000000"});
    auto reader = chat_join(server.port(), "reader");
    const auto reader_port = reader.local_port();
    auto talker = chat_join(server.port(), "talker");
    MemoryWatch memory(server);
    std::string rest;
    const auto heard = hear_talker(reader, [&] { talker.send_all(lines, kIo); }, kLines, rest);
    const auto cut = server.wait_stderr_line({"127.0.0.1:" + std::to_string(reader_port), "over --max-output"}, 200ms);
    report_figure("reader during a 1 MB burst",
                  "round " + std::to_string(round) + ": heard " + std::to_string(heard) + " of " +
                      std::to_string(kLines) + " lines; " + (cut ? "cut: " + *cut : std::string("not cut")));
    ASSERT_FALSE(cut) << "round " << round << ": a member that reads everything was disconnected as too slow: the "
                         "server queued more than --max-output for it before it had tried to write any of it\n"
                      << server.diagnostics();
    EXPECT_EQ(heard, kLines);
    EXPECT_TRUE(server.alive()) << server.diagnostics();
    memory.check(16 * 1024);
  }
}
