// `enchufe serve chat`: one client cannot make the others wait or drown
// them. A client that does not read is cut once it owes --max-output; a
// client that floods is throttled, then cut; a silent one times out.

#include "chat/chat_client.hpp"

#include <charconv>
#include <csignal>
#include <iostream>
#include <map>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

class ChatFairness : public ChatTest {};

// "[t] <f> f 12" -> 12, or -1.
int flood_index(const std::string& line, const std::string& nick) {
  const std::string prefix = "[t] <" + nick + "> " + nick + " ";
  if (!line.starts_with(prefix)) return -1;
  int n = -1;
  std::from_chars(line.data() + prefix.size(), line.data() + line.size(), n);
  return n;
}

}  // namespace

// ---- slow readers -----------------------------------------------------------------

TEST_F(ChatFairness, ClientThatNeverReadsIsCutAndTheOthersGetEverything) {
  // Four talkers send 320 lines of 4 KB each, paced (see below); flood limits
  // are raised so that this takes about a second, not two minutes. The
  // kernel's buffers on loopback take 3-4 MB for a client that does not read
  // before the server's own queue (--max-output, 64 KB here) starts to fill,
  // so the non-reader is sent 5 MB.
  start({"--max-output", "65536", "--flood-rate", "100000", "--flood-burst", "100000", "--history", "0"});
  // A client with a small receive buffer logs in, then never reads again.
  auto& slow = login("slow", std::make_unique<ChatClient>(connect_with_small_receive_buffer(port(), 4096)));

  constexpr std::size_t kTalkers = 4;
  constexpr int kLines = 320;
  const std::string padding(3990, 'p');
  Crowd crowd(port());
  std::vector<std::map<std::size_t, int>> next(kTalkers);  // [receiver][sender] -> next line index
  std::vector<int> received(kTalkers), named(kTalkers), slow_left(kTalkers);
  std::vector<std::string> problems;
  int sent_before_cut = -1;  // rounds sent when the first talker heard of the cut
  int round = 0;
  crowd.on_line([&](std::size_t i, std::string_view raw) {
    const std::string line = normalized(raw);
    if (line.starts_with("* You are guest-")) {
      crowd.send(i, "t" + std::to_string(i) + "\n");
    } else if (line == "* you are t" + std::to_string(i) + " now") {
      named[i] = 1;
    } else if (line == "[t] * slow left (too slow)") {
      ++slow_left[i];
      if (sent_before_cut < 0) sent_before_cut = round;
    } else if (line.starts_with("[t] <t")) {
      const std::size_t sender = line[6] - '0';
      const std::string expected =
          "[t] <t" + std::to_string(sender) + "> " + std::to_string(next[i][sender]) + " " + padding;
      if (line != expected && problems.size() < 10) problems.push_back(std::to_string(i) + ": " + line.substr(0, 40));
      ++next[i][sender];
      ++received[i];
    } else if (line.starts_with("error") && problems.size() < 10) {
      problems.push_back(std::to_string(i) + ": " + line);
    }
  });
  for (std::size_t i = 0; i < kTalkers; ++i) crowd.add();
  ASSERT_TRUE(crowd.pump([&] { return std::count(named.begin(), named.end(), 1) == kTalkers; }, 5000ms));

  // One line per talker per round, in lockstep: a round is sent once every
  // talker has the previous one, so what reaches a reader at once stays far
  // below --max-output (see ReadersAreNotCutByOneBurstWithinTheLimits for
  // why that matters).
  const auto t0 = Clock::now();
  for (round = 0; round < kLines; ++round) {
    for (std::size_t i = 0; i < kTalkers; ++i) crowd.send(i, std::to_string(round) + " " + padding + "\n");
    const int by_now = static_cast<int>(kTalkers - 1) * (round + 1);
    if (!crowd.pump([&] { return std::all_of(received.begin(), received.end(), [&](int n) { return n >= by_now; }); },
                    2000ms)) {
      break;
    }
  }
  const int expected = static_cast<int>((kTalkers - 1) * kLines);
  const bool all = crowd.pump(
      [&] {
        return std::all_of(received.begin(), received.end(), [&](int n) { return n == expected; }) &&
               std::all_of(slow_left.begin(), slow_left.end(), [](int n) { return n == 1; });
      },
      10'000ms);
  const auto elapsed = std::chrono::duration_cast<Duration>(Clock::now() - t0);
  std::cout << "[ chat     ] " << kTalkers << " talkers x " << kLines << " lines of 4 KB; the non-reader was cut after "
            << sent_before_cut << " rounds (" << sent_before_cut * kTalkers * 4 << " KB); the others got everything in "
            << elapsed.count() << " ms" << std::endl;
  EXPECT_TRUE(all) << ::testing::PrintToString(received) << " lines received (of " << expected << " each); "
                   << ::testing::PrintToString(slow_left) << " 'slow left (too slow)' notices\n"
                   << server().process().diagnostics();
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  EXPECT_LT(elapsed, 8000ms) << "the others must not wait for the slow client";
  for (std::size_t i = 0; i < kTalkers; ++i) EXPECT_FALSE(crowd.is_closed(i)) << "talker " << i << " was cut";

  // The slow client finds its connection closed once it reads, without the
  // rest of what was said.
  std::string rest;
  EXPECT_TRUE(slow.closed_within(5000ms, &rest));
  EXPECT_LT(rest.size(), kTalkers * kLines * (padding.size() + 10)) << "it was not sent everything";
  forget(slow);
  // The server is fine.
  crowd.pump([] { return false; }, 50ms);
  auto& late = login("late");
  ASSERT_TRUE(late.send("/who"));
  EXPECT_EQ(late.next(), "* 5 in general: late, t0, t1, t2, t3");
}

// Three clients that read everything they are sent, and one that sends 15
// lines of 4,000 bytes at once: within the flood burst (20) and --max-line
// (4096), 60 KB, more than --max-output (32 KB here). The readers are not
// slow: their sockets can take all of it at once, so nobody should be cut.
// (One thread makes the outcome the same on every run.)
TEST_F(ChatFairness, ReadersAreNotCutByOneBurstWithinTheLimits) {
  start({"--max-output", "32768", "--threads", "1"});
  auto& r0 = login("r0");
  auto& r1 = login("r1");
  auto& r2 = login("r2");
  auto& t = login("t");
  std::string burst;
  for (int k = 0; k < 15; ++k) burst += std::to_string(k) + " " + std::string(4000, 'x') + "\n";
  ASSERT_TRUE(t.send_raw(burst));
  for (auto* r : {&r0, &r1, &r2}) {
    for (int k = 0; k < 15; ++k) {
      const std::string line = r->next();
      ASSERT_EQ(line.substr(0, 20), ("[t] <t> " + std::to_string(k) + " " + std::string(4000, 'x')).substr(0, 20))
          << r->nick << " line " << k;
    }
  }
  EXPECT_EQ(t.drain(), "") << "no one left";
}

// A client that reads, just slowly, is not cut while it owes less than the limit.
TEST_F(ChatFairness, SlowButReadingClientIsNotCut) {
  start({"--max-output", "65536", "--flood-rate", "100000", "--flood-burst", "100000"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  for (int round = 0; round < 10; ++round) {
    std::string lines;
    for (int k = 0; k < 20; ++k) lines += std::to_string(round * 20 + k) + " " + std::string(200, 'x') + "\n";
    ASSERT_TRUE(ana.send_raw(lines));  // ~4 KB: far below the limit
    std::this_thread::sleep_for(20ms);
  }
  for (int k = 0; k < 200; ++k) {
    ASSERT_EQ(bob.next(), "[t] <ana> " + std::to_string(k) + " " + std::string(200, 'x'));
  }
  expect_all_quiet();
}

// ---- flooding ---------------------------------------------------------------------

TEST_F(ChatFairness, FloodingClientIsThrottledThenDisconnected) {
  start();  // default limits: 10 lines/s, bursts of 20, 20 dropped lines in a row disconnect
  auto& w = login("w");
  auto& f = login("f");
  std::string burst;
  for (int i = 0; i < 60; ++i) burst += "f " + std::to_string(i) + "\n";
  ASSERT_TRUE(f.send_raw(burst));

  // The watcher: the first lines (the burst allowance), in order, then the notice.
  int delivered = 0;
  for (;;) {
    const std::string line = w.next();
    if (flood_index(line, "f") == delivered) {
      ++delivered;
      continue;
    }
    EXPECT_EQ(line, "[t] * f left (flooding)");
    break;
  }
  EXPECT_GE(delivered, 19) << "the burst allowance (20, one used by the nickname)";
  EXPECT_LE(delivered, 21);
  // The flooder: one warning, then the reason, then the close.
  EXPECT_EQ(f.next(), "error: slow down: at most 10 lines per second (bursts of 20); lines are being dropped");
  EXPECT_EQ(f.next(), "* disconnected: flooding");
  std::string rest;
  EXPECT_TRUE(f.closed_within(kIo, &rest));
  EXPECT_EQ(escape(rest), "");
  forget(f);
  ASSERT_TRUE(w.send("/who"));
  EXPECT_EQ(w.next(), "* 1 in general: w");
}

TEST_F(ChatFairness, ShortBurstIsThrottledButTheClientStays) {
  start({"--flood-rate", "5", "--flood-burst", "8"});
  auto& w = login("w");
  auto& f = login("f");
  std::this_thread::sleep_for(300ms);  // the nickname's token is back
  std::string burst;
  for (int i = 0; i < 15; ++i) burst += "f " + std::to_string(i) + "\n";
  ASSERT_TRUE(f.send_raw(burst));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(w.next(), "[t] <f> f " + std::to_string(i));
  EXPECT_EQ(f.next(), "error: slow down: at most 5 lines per second (bursts of 8); lines are being dropped");
  EXPECT_EQ(escape(f.drain()), "") << "one warning per run of dropped lines";
  EXPECT_EQ(escape(w.drain(5ms)), "") << "lines over the limit are dropped";
  // After a pause the client talks again.
  std::this_thread::sleep_for(600ms);
  ASSERT_TRUE(f.send("otra vez"));
  EXPECT_EQ(w.next(), "[t] <f> otra vez");
  // Commands count too: a fresh run of drops warns again.
  std::string commands;
  for (int i = 0; i < 12; ++i) commands += "/who\n";
  ASSERT_TRUE(f.send_raw(commands));
  std::vector<std::string> got;
  for (;;) {
    const std::string line = f.next(500ms);
    if (line.starts_with("<timeout>")) break;
    got.push_back(line);
  }
  const auto warnings = std::count_if(got.begin(), got.end(), [](const std::string& l) { return l.starts_with("error: slow down"); });
  const auto answers = std::count(got.begin(), got.end(), std::string("* 2 in general: f, w"));
  EXPECT_EQ(warnings, 1) << ::testing::PrintToString(got);
  EXPECT_GE(answers, 2);
  EXPECT_LE(answers, 8);
  expect_all_quiet();
}

// ---- idle clients -----------------------------------------------------------------

TEST_F(ChatFairness, SilentClientTimesOut) {
  start({"--idle-timeout", "2"});
  auto& a = login("a");
  std::this_thread::sleep_for(1000ms);
  auto& b = login("b");
  const auto t0 = Clock::now();
  EXPECT_EQ(a.next(2500ms), "* disconnected: nothing received for too long (idle timeout)");
  EXPECT_TRUE(a.closed_within(kIo));
  forget(a);
  EXPECT_EQ(b.next(2500ms), "[t] * a left (timeout)");
  EXPECT_LT(Clock::now() - t0, 2000ms) << "a was silent 2 s, b only about 1 s";
  // b speaking keeps it in.
  ASSERT_TRUE(b.send("/who"));
  EXPECT_EQ(b.next(), "* 1 in general: b");
}

// ---- the server's own limits ------------------------------------------------------

TEST_F(ChatFairness, ShutdownSaysGoodbyeToEveryone) {
  start();
  auto& a = login("a");
  auto& b = login("b");
  ASSERT_TRUE(server().process().send_signal(SIGTERM));
  for (auto* c : {&a, &b}) {
    std::vector<std::string> before;
    EXPECT_TRUE(c->wait_for("* disconnected: server shutting down", kIo, &before))
        << c->nick << ": " << ::testing::PrintToString(before);
    EXPECT_TRUE(c->closed_within(kIo)) << c->nick;
  }
  const auto status = server().process().wait_exit(5000ms);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->is_exit_code(0)) << *status;
}

TEST_F(ChatFairness, MaxConnectionsRefusesTheNextClientWithALine) {
  start({"--max-connections", "2"});
  auto& a = login("a");
  auto& b = login("b");
  auto third = TcpClient::connect("127.0.0.1", port());
  const auto r = third.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "error: server full (2 connections); try again later\n");
  ASSERT_TRUE(a.send("hola"));
  EXPECT_EQ(b.next(), "[t] <a> hola");
  expect_all_quiet();
}
