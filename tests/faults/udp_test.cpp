// udp-echo under hostile datagrams: empty ones, the largest IPv4 allows
// (65,507 bytes), binary garbage, and a burst of 100,000. No crash, no
// growth, and the server keeps answering a well-behaved client.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {
constexpr std::string_view kPrefix = "Eco UDP: ";
constexpr std::size_t kMaxV4 = 65'507;
}  // namespace

TEST(Udp, EmptyLargestAndGarbageDatagramsAreAnsweredExactly) {
  auto server = FaultServer::start("udp-echo");
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);
  UdpSocket socket;
  const auto port = server.port();

  // Empty: a reply of just the prefix.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(socket.send_to("127.0.0.1", port, ""));
    const auto r = socket.recv(kIo);
    ASSERT_TRUE(r) << "no reply to an empty datagram\n" << server.diagnostics();
    EXPECT_EQ(*r, kPrefix);
  }

  // Binary garbage, NULs, invalid UTF-8: byte for byte after the prefix.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const std::string d = random_bytes(static_cast<std::size_t>(seed * 997), seed);
    ASSERT_TRUE(socket.send_to("127.0.0.1", port, d));
    const auto r = socket.recv(kIo);
    ASSERT_TRUE(r) << "no reply to garbage datagram " << seed;
    EXPECT_TRUE(*r == std::string(kPrefix) + d) << "garbage datagram " << seed << " came back changed";
  }
  const std::string nul("\0a\0\xff\xfe\x1b[2J", 9);
  ASSERT_TRUE(socket.send_to("127.0.0.1", port, nul));
  EXPECT_EQ(socket.recv(kIo), std::string(kPrefix) + nul);

  // Largest that fits with the prefix: whole.
  const std::string fits = random_bytes(kMaxV4 - kPrefix.size(), 99);
  ASSERT_TRUE(socket.send_to("127.0.0.1", port, fits));
  auto r = socket.recv(kIo);
  ASSERT_TRUE(r) << server.diagnostics();
  EXPECT_EQ(r->size(), kMaxV4);
  EXPECT_TRUE(*r == std::string(kPrefix) + fits);
  // The largest IPv4 datagram: the reply is cut to 65,507 bytes, and logged.
  const std::string largest = random_bytes(kMaxV4, 100);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(socket.send_to("127.0.0.1", port, largest)) << std::strerror(socket.last_error());
    r = socket.recv(kIo);
    ASSERT_TRUE(r) << "no reply to a 65,507-byte datagram\n" << server.diagnostics();
    EXPECT_EQ(r->size(), kMaxV4);
    EXPECT_TRUE(*r == std::string(kPrefix) + largest.substr(0, kMaxV4 - kPrefix.size()));
  }
  EXPECT_TRUE(server.wait_stderr_line({"udp-echo: reply to 127.0.0.1:", "cut to 65507 bytes"}, kIo))
      << server.diagnostics();

  // "salir" gets no reply and does not stop the server.
  ASSERT_TRUE(socket.send_to("127.0.0.1", port, "salir"));
  EXPECT_EQ(socket.recv(300ms), std::nullopt);
  EXPECT_TRUE(server.wait_stderr_line({"the server keeps running"}, kIo)) << server.diagnostics();

  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// 100,000 datagrams as fast as one socket can send them, nobody reading the
// replies: the kernel drops what does not fit, the server neither crashes
// nor grows, and it answers the steady client again right after.
TEST(Udp, BurstOfHundredThousandDatagrams) {
  auto server = FaultServer::start("udp-echo");
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);
  const double cpu_before = server.cpu_seconds();

  UdpSocket burst;
  const auto started = Clock::now();
  std::size_t sent = 0;
  for (int i = 0; i < 100'000; ++i) {
    if (burst.send_to("127.0.0.1", server.port(), "rafaga " + std::to_string(i))) ++sent;
  }
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - started);
  // Count the replies that made it (informative: UDP may drop).
  std::size_t replies = 0;
  while (burst.recv(100ms)) ++replies;
  report_figure("udp burst", std::to_string(sent) + " datagrams sent in " + std::to_string(took.count()) + " ms, " +
                                 std::to_string(replies) + " replies received, server CPU " +
                                 std::to_string(server.cpu_seconds() - cpu_before) + " s");
  EXPECT_EQ(sent, 100'000u);
  EXPECT_GT(replies, 0u);

  // Answering again at once (the steady client's retries cover losses
  // during the burst; afterwards none should be needed).
  ASSERT_TRUE(steady->wait_rounds(20, kIo)) << server.diagnostics();
  UdpSocket after;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(after.send_to("127.0.0.1", server.port(), "despues " + std::to_string(i)));
    EXPECT_EQ(after.recv(kIo), "Eco UDP: despues " + std::to_string(i));
  }
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// `serve all` on one thread: the UDP socket and the TCP connections share
// one loop. A UDP flood from three senders must not starve the TCP echo
// client on that loop: the UDP reader takes turns after every full batch.
TEST(Udp, FloodDoesNotStarveTcpClientsOnTheSameLoop) {
  auto server = Server::start("all", {"--threads", "1", "-q"});
  const auto udp_port = server.port("udp-echo");
  auto echo = TcpClient::connect("127.0.0.1", server.port("echo"));

  std::atomic<bool> stop{false};
  std::atomic<std::size_t> flooded{0}, answered{0}, wrong{0};
  std::vector<std::thread> flooders;
  for (int t = 0; t < 3; ++t) {
    flooders.emplace_back([&] {
      UdpSocket socket;
      // Replies are taken now and then: a flood the server silently stopped
      // answering must not pass for one it answered.
      auto take_replies = [&] {
        while (auto reply = socket.recv(0ms)) (*reply == "Eco UDP: inundacion" ? answered : wrong).fetch_add(1);
      };
      const auto until = Clock::now() + 3000ms;  // bounded even if the main thread fails early
      for (std::size_t sent = 0; !stop.load() && Clock::now() < until; ++sent) {
        if (socket.send_to("127.0.0.1", udp_port, "inundacion")) flooded.fetch_add(1);
        if (sent % 64 == 0) take_replies();
      }
      std::this_thread::sleep_for(50ms);  // the last replies
      take_replies();
    });
  }
  std::this_thread::sleep_for(100ms);  // the flood is on

  Duration slowest{0};
  for (int i = 0; i < 50; ++i) {
    const std::string line = "tcp " + std::to_string(i) + "\n";
    const auto sent = Clock::now();
    ASSERT_TRUE(echo.send_all(line));
    const auto r = echo.recv_until("\n", kIo);
    slowest = std::max(slowest, std::chrono::duration_cast<Duration>(Clock::now() - sent));
    ASSERT_EQ(r.data, "Eco: " + line) << r << "\n" << server.process().diagnostics();
  }
  // The flood goes on until it is a flood (a slow sanitizer build sends
  // fewer datagrams a second), within the flooders' own 3 s bound.
  for (const auto until = Clock::now() + 2500ms; flooded.load() < 2000 && Clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  for (auto& t : flooders) t.join();
  report_figure("udp flood vs tcp", std::to_string(flooded.load()) + " datagrams flooded, " +
                                        std::to_string(answered.load()) + " answered; slowest of 50 TCP round "
                                        "trips meanwhile " + std::to_string(slowest.count()) + " ms");
  EXPECT_GT(flooded.load(), 1000u);
  // The kernel drops what the flooders' buffers cannot hold, so not every
  // datagram is answered; but the server kept answering UDP throughout.
  EXPECT_GT(answered.load(), 100u) << "the UDP flood was not answered\n" << server.process().diagnostics();
  EXPECT_EQ(wrong.load(), 0u) << "replies other than \"Eco UDP: inundacion\"";
  // Both services still answer after the flood.
  UdpSocket probe;
  ASSERT_TRUE(probe.send_to("127.0.0.1", udp_port, "sigues ahi"));
  EXPECT_EQ(probe.recv(kIo), std::optional<std::string>("Eco UDP: sigues ahi")) << server.process().diagnostics();
  ASSERT_TRUE(echo.send_all("al final\n"));
  EXPECT_EQ(echo.recv_until("\n", kIo).data, "Eco: al final\n") << server.process().diagnostics();
  // Generous for a loaded CI machine; a starved loop would not answer at all.
  EXPECT_LT(slowest, 1000ms);
}
