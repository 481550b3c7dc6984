// The HTTP listener (--metrics, served by Beast) under attack: garbage,
// oversized headers, requests with a body, and a slowloris of clients that
// trickle their headers. Every bad client gets its status or a close; a
// scraper keeps getting whole answers in time meanwhile; SIGTERM still ends
// the server at once, tricklers and all.

#include "fault_support.hpp"

#include <gtest/gtest.h>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

Server start_with_metrics() {
  return Server::start_args({"serve", "echo", "--host", "127.0.0.1", "--port", "0", "--metrics", "127.0.0.1:0"},
                            {"echo", "metrics"});
}

// One whole GET /metrics; how long it took, or a failure.
Duration scrape(std::uint16_t port) {
  const auto started = Clock::now();
  auto c = TcpClient::connect("127.0.0.1", port);
  EXPECT_TRUE(c.send_all("GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  const auto r = c.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.data.find("enchufe_connections_accepted_total"), std::string::npos) << r;
  return std::chrono::duration_cast<Duration>(Clock::now() - started);
}


}  // namespace

TEST(Http, BadRequestsGetTheirStatusAndScrapesGoOn) {
  auto server = start_with_metrics();
  const auto port = server.port("metrics");
  EXPECT_EQ(http_status_of(port, random_bytes(2000, 7) + "\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(http_status_of(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20'000, 'x') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(http_status_of(port, "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(http_status_of(port, "GET /metrics HTTP/9.9\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  // A client that resets mid-request costs nothing.
  for (int i = 0; i < 20; ++i) {
    auto c = TcpClient::connect("127.0.0.1", port);
    c.send_all("GET /met");
    c.reset();
  }
  EXPECT_LT(scrape(port), 1000ms);
  EXPECT_EQ(server.process().poll_exit(), std::nullopt) << server.process().diagnostics();
}

TEST(Http, TricklersDoNotStallScrapesOrShutdown) {
  raise_fd_limit();
  auto server = start_with_metrics();
  const auto port = server.port("metrics");
  // 60 (under the endpoint's 64 connections) clients, each one header byte
  // a second: none ever completes a request.
  auto tricklers = open_connections(port, 60);
  for (auto& t : tricklers) ASSERT_TRUE(t.send_all("GET /metrics HTTP/1.1\r\n"));
  Duration slowest{0};
  for (int second = 0; second < 3; ++second) {
    for (auto& t : tricklers) t.send_all("X");
    // The 64th connection: tricklers hold 60, so this one is always served.
    slowest = std::max(slowest, scrape(port));
    std::this_thread::sleep_for(1000ms);
  }
  report_figure("scrapes among 60 tricklers", "slowest " + std::to_string(slowest.count()) + " ms");
  EXPECT_LT(slowest, 1000ms);
  // Half-sent requests are not owed an answer: SIGTERM ends them at once.
  expect_quick_clean_exit(server);
  for (auto& t : tricklers) {
    const auto r = t.recv_until_eof(kIo);
    EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r;
  }
}
