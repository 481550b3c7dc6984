// `serve echo --read-buffers N --read-quiet D` (issue 14): busy connections
// read into a buffer their loop lends them, quiet ones give it back and wait
// for readiness again. Whichever way a connection reads, every line gets its
// reply, in order, once; the buffers lent show in the metric
// enchufe_read_buffers_lent and never exceed the limit.

#include "support/enchufe.hpp"
#include "support/metrics.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;
const std::string kLent = "enchufe_read_buffers_lent";

// `serve echo --host 127.0.0.1 --port 0 --metrics 127.0.0.1:0 EXTRA...`.
Server start_echo(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"serve", "echo", "--host", "127.0.0.1", "--port", "0", "--metrics", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Server::start_args(args, {"echo", "metrics"});
}

double lent(Server& server) { return metric(scrape(server.port("metrics")), kLent); }

// The metric once it equals `value`, polled for up to `timeout`; the last
// value seen otherwise.
double lent_within(Server& server, double value, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  double seen = lent(server);
  while (seen != value && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    seen = lent(server);
  }
  return seen;
}

// One line, its reply.
void round_trip(TcpClient& client, const std::string& line) {
  ASSERT_TRUE(client.send_all(line)) << "errno " << client.last_error();
  const auto r = client.recv_until("\n", kIo);
  ASSERT_TRUE(r.complete()) << "no reply to \"" << escape(line) << "\": " << r;
  ASSERT_EQ(r.data, "Eco: " + line);
}

}  // namespace

// A client with input borrows a buffer, gives it back once quiet for a
// spell or two, and borrows again when it speaks again; no reply is lost
// on the way.
TEST(ReadBuffers, BusyThenIdleThenBusyAgain) {
  constexpr auto kQuiet = 100ms;
  auto server = start_echo({"--read-buffers", "4", "--read-quiet", "100ms"});
  EXPECT_EQ(lent(server), 0) << "nothing lent before any client";
  auto client = TcpClient::connect("127.0.0.1", server.port("echo"));
  round_trip(client, "hola\n");
  if (HasFatalFailure()) return;
  const auto replied = Clock::now();
  // It borrows right after the reply goes out; a scrape is far quicker
  // than a spell, so the buffer is still lent.
  EXPECT_EQ(lent_within(server, 1, 50ms), 1) << "a client that just had input holds no buffer";

  // Quiet for a few spells: given back (asked at one to two spells).
  EXPECT_EQ(lent_within(server, 0, 1000ms), 0) << "a client quiet for 1 s still holds its buffer";
  EXPECT_GE(Clock::now() - replied, kQuiet - 10ms) << "given back before a spell of quiet";

  // Busy again: the replies are right, and it borrows again.
  round_trip(client, "otra vez\n");
  round_trip(client, "y otra\r\n");
  if (HasFatalFailure()) return;
  EXPECT_EQ(lent_within(server, 1, 50ms), 1) << "a client busy again did not borrow again";
  // And again through a give-back, with a pipelined burst this time.
  EXPECT_EQ(lent_within(server, 0, 1000ms), 0);
  ASSERT_TRUE(client.send_all("uno\ndos\ntres\n"));
  const std::string expected = "Eco: uno\nEco: dos\nEco: tres\n";
  const auto r = client.recv_exact(expected.size(), kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, expected);
}

// Bursts that arrive around the moment a quiet connection's buffer is asked
// back (its read cancelled, then a readiness wait): every burst gets exactly
// its replies, in order.
TEST(ReadBuffers, BurstsArrivingAsTheBufferGoesBackLoseNothing) {
  auto server = start_echo({"--read-buffers", "2", "--read-quiet", "10ms", "--threads", "1"});
  auto client = TcpClient::connect("127.0.0.1", server.port("echo"));
  const auto started = Clock::now();
  int checks = 0, given_back = 0;
  for (int burst = 0; burst < 60; ++burst) {
    // 8 to 35 ms in steps that are no multiple of the 10 ms spell, so the
    // burst lands while the buffer is kept, as it is asked back (the read
    // cancelled, then a readiness wait), or after it went back.
    std::this_thread::sleep_for(std::chrono::microseconds(8'000 + (burst * 7'919) % 27'000));
    if (burst > 0 && burst % 5 == 0) {
      ++checks;
      if (lent(server) == 0) ++given_back;
    }
    std::string request, expected;
    for (int line = 0; line < 20; ++line) {
      const std::string text = "rafaga " + std::to_string(burst) + " linea " + std::to_string(line) + "\n";
      request += text;
      expected += "Eco: " + text;
    }
    ASSERT_TRUE(client.send_all(request)) << "burst " << burst << ": errno " << client.last_error();
    const auto r = client.recv_exact(expected.size(), 2000ms);
    ASSERT_TRUE(r.complete()) << "burst " << burst << " (after "
                              << std::chrono::duration_cast<Duration>(Clock::now() - started).count()
                              << " ms): " << r;
    ASSERT_EQ(r.data, expected) << "burst " << burst;
  }
  const auto more = client.recv_for(100ms);
  EXPECT_EQ(more.data, "") << "replies nobody asked for";
  EXPECT_EQ(more.end, ReadEnd::timeout) << more;
  EXPECT_LT(Clock::now() - started, 10'000ms) << "60 bursts should take about 2 s";
  // The test went through give-backs: after the longer pauses (2 to 3.5
  // spells) the buffer was back.
  EXPECT_GT(given_back, 0) << "the buffer was never given back between bursts (" << checks << " looks)";
}

// More busy clients than buffers: the ones without a buffer wait for
// readiness; all are served right, and no more than --read-buffers are lent.
TEST(ReadBuffers, MoreBusyClientsThanBuffers) {
  auto server = start_echo({"--read-buffers", "2", "--threads", "1"});
  constexpr int kClients = 8;
  constexpr int kRounds = 200;
  std::vector<TcpClient> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(TcpClient::connect("127.0.0.1", server.port("echo")));
  double most = 0;
  for (int round = 0; round < kRounds; ++round) {
    // All send, then all read: every connection has input in every round.
    for (int c = 0; c < kClients; ++c) {
      const std::string line = "cliente " + std::to_string(c) + " ronda " + std::to_string(round) + "\n";
      ASSERT_TRUE(clients[c].send_all(line)) << "client " << c << " round " << round;
    }
    for (int c = 0; c < kClients; ++c) {
      const std::string line = "cliente " + std::to_string(c) + " ronda " + std::to_string(round) + "\n";
      const auto r = clients[c].recv_until("\n", kIo);
      ASSERT_TRUE(r.complete()) << "client " << c << " round " << round << ": " << r;
      ASSERT_EQ(r.data, "Eco: " + line) << "client " << c << " round " << round;
    }
    if (round % 25 == 10) {
      const double now = lent(server);
      EXPECT_LE(now, 2) << "round " << round << ": more buffers lent than --read-buffers 2";
      most = std::max(most, now);
    }
  }
  EXPECT_EQ(most, 2) << "eight busy clients and two buffers, yet they were not both lent";
  for (int c = 0; c < kClients; ++c) {
    const auto more = clients[c].recv_for(c == 0 ? 100ms : 1ms);
    EXPECT_EQ(more.data, "") << "client " << c << " got more than its replies";
  }
}

// --read-buffers 0: no buffer is ever lent; every read waits for readiness
// and goes into the loop's shared buffer.
TEST(ReadBuffers, NoneStillServes) {
  auto server = start_echo({"--read-buffers", "0", "--read-quiet", "10ms"});
  auto client = TcpClient::connect("127.0.0.1", server.port("echo"));
  for (int i = 0; i < 50; ++i) {
    round_trip(client, "mensaje " + std::to_string(i) + "\n");
    if (HasFatalFailure()) return;
    if (i % 10 == 0) {
      EXPECT_EQ(lent(server), 0) << "a buffer lent with --read-buffers 0";
    }
  }
  std::string request, expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string line = "linea " + std::to_string(i) + "\n";
    request += line;
    expected += "Eco: " + line;
  }
  ASSERT_TRUE(client.send_all(request));
  const auto r = client.recv_exact(expected.size(), kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_TRUE(r.data == expected) << "pipelined replies differ";
  EXPECT_EQ(lent(server), 0);
}

TEST(ReadBuffers, BadQuietSpellsAreUsageErrors) {
  for (const std::string typed : {"5ms", "9ms", "soon", "0"}) {
    const auto r =
        run_enchufe({"serve", "echo", "--host", "127.0.0.1", "--port", "0", "--read-quiet", typed}, {.timeout = 3000ms});
    EXPECT_TRUE(r.exited_with(2)) << "--read-quiet " << typed << ": " << r;
    EXPECT_NE(r.err.find("--read-quiet"), std::string::npos) << "the message should name the flag: " << r;
    EXPECT_EQ(r.out.find("listening:"), std::string::npos) << "it served anyway: " << r;
  }
}

TEST(ReadBuffers, BadBufferCountsAreUsageErrors) {
  for (const std::string typed : {"-1", "lots", "2000000"}) {
    const auto r =
        run_enchufe({"serve", "echo", "--host", "127.0.0.1", "--port", "0", "--read-buffers", typed}, {.timeout = 3000ms});
    EXPECT_TRUE(r.exited_with(2)) << "--read-buffers " << typed << ": " << r;
    EXPECT_NE(r.err.find("--read-buffers"), std::string::npos) << "the message should name the flag: " << r;
  }
}

// The smallest spell is allowed.
TEST(ReadBuffers, TenMillisecondsIsTheShortestQuietSpell) {
  auto server = start_echo({"--read-quiet", "10ms"});
  auto client = TcpClient::connect("127.0.0.1", server.port("echo"));
  round_trip(client, "hola\n");
}

// A client that sends and never reads its replies pauses the server's
// reading (back-pressure): a paused reader gives its lent buffer back, or
// it would pin it as long as the client stays (no read to cancel for the
// sweep's request).
TEST(ReadBuffers, AClientThatDoesNotReadGivesItsBufferBack) {
  auto server = start_echo({"--read-buffers", "2", "--read-quiet", "20ms", "--threads", "1"});
  auto client = TcpClient::connect("127.0.0.1", server.port("echo"));
  round_trip(client, "hola\n");
  if (HasFatalFailure()) return;
  ASSERT_EQ(lent_within(server, 1, 50ms), 1);
  // Megabytes of requests, no reads: every buffer on the way fills and the
  // server stops reading this client.
  std::string request;
  for (int i = 0; i < 20'000; ++i) request.append(999, 'x').push_back('\n');
  EXPECT_FALSE(client.send_all(request, 1000ms)) << "the server never pushed back";
  EXPECT_EQ(lent_within(server, 0, 1000ms), 0)
      << "a paused connection kept its buffer for 50 spells of --read-quiet 20ms";
  client.reset();
}
