#include "stats/http.hpp"

#include "net/errors.hpp"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace enchufe::stats {
namespace {

using ::testing::HasSubstr;

std::optional<HttpResponse> parse(std::string_view raw, bool at_eof, std::string* error_out = nullptr) {
  std::string error;
  auto r = parse_http_response(raw, at_eof, error);
  if (error_out) *error_out = error;
  return r;
}

TEST(ParseHttpResponse, ContentLength) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\nConnection: close\r\n\r\nhello";
  const auto r = parse(raw, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->reason, "OK");
  EXPECT_EQ(r->header("Content-Type"), "text/plain");
  EXPECT_EQ(r->header("CONTENT-LENGTH"), "5");
  EXPECT_EQ(r->body, "hello");
  // Not all there yet: read more.
  std::string error;
  EXPECT_FALSE(parse(raw.substr(0, raw.size() - 1), false, &error));
  EXPECT_EQ(error, "");
  EXPECT_FALSE(parse(raw.substr(0, 20), false, &error));
  EXPECT_EQ(error, "");
  // ...unless the connection ended.
  EXPECT_FALSE(parse(raw.substr(0, raw.size() - 1), true, &error));
  EXPECT_THAT(error, HasSubstr("ended early"));
}

TEST(ParseHttpResponse, Chunked) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
  const auto r = parse(raw, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello, world");
  std::string error;
  EXPECT_FALSE(parse(raw.substr(0, raw.size() - 7), false, &error));
  EXPECT_EQ(error, "");
  EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, &error));
  EXPECT_THAT(error, HasSubstr("bad chunk"));
}

// A chunk size near 2^64 must not wrap a "is all of it here" check and
// reuse bytes already taken (found by fuzz/http_response_fuzz in the
// hand-written parser Beast replaced): it is refused, never complete.
TEST(ParseHttpResponse, HugeChunkSizeIsNeverComplete) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffe\r\n1\r\na\r\n0\r\n\r\n";
  std::string error;
  EXPECT_FALSE(parse(raw, false, &error)) << "the chunk cannot be complete";
  EXPECT_FALSE(parse(raw, true, &error));
  EXPECT_NE(error, "");
}

TEST(ParseHttpResponse, BodyUntilCloseWithoutALength) {
  const std::string raw = "HTTP/1.0 200 OK\r\n\r\nsome text";
  EXPECT_FALSE(parse(raw, false));
  const auto r = parse(raw, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "some text");
}

TEST(ParseHttpResponse, ErrorsSayWhatWasWrong) {
  std::string error;
  EXPECT_FALSE(parse("", true, &error));
  EXPECT_THAT(error, HasSubstr("without answering"));
  EXPECT_FALSE(parse("SSH-2.0-OpenSSH\r\n\r\n", false, &error));
  EXPECT_THAT(error, HasSubstr("not an HTTP answer"));
  EXPECT_FALSE(parse("HTTP/1.1 abc OK\r\n\r\n", false, &error));
  EXPECT_THAT(error, HasSubstr("bad status"));
  EXPECT_FALSE(parse("HTTP/1.1 044 Odd\r\nContent-Length: 0\r\n\r\n", false, &error));  // found by fuzzing
  EXPECT_THAT(error, HasSubstr("status 044"));
  EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, &error));
  EXPECT_THAT(error, HasSubstr("bad Content-Length"));
  const auto r = parse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, &error);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->reason, "Not Found");
}

TEST(UrlOf, BracketsIpv6) {
  EXPECT_EQ(url_of({"127.0.0.1", 9100}), "http://127.0.0.1:9100/metrics");
  EXPECT_EQ(url_of({"::1", 9100}), "http://[::1]:9100/metrics");
}

// ---- fetch against real loopback sockets -----------------------------------

struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  explicit Listener(bool listening) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    if (listening) {
      EXPECT_EQ(::listen(fd, 8), 0);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
};

TEST(Fetch, ReturnsTheBodyOfA200) {
  Listener l(true);
  std::string request;
  std::thread server([&] {
    const int c = ::accept(l.fd, nullptr, nullptr);
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    // Chunked and in two writes, as Go's exporters answer.
    const std::string a = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nup 1";
    const std::string b = "\r\n0\r\n\r\n";
    (void)::write(c, a.data(), a.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (void)::write(c, b.data(), b.size());
    ::close(c);
  });
  const auto body = fetch({"127.0.0.1", l.port, "/metrics", std::chrono::milliseconds(3000)});
  server.join();
  EXPECT_EQ(body, "up 1");
  EXPECT_THAT(request, HasSubstr("GET /metrics HTTP/1.1\r\n"));
  EXPECT_THAT(request, HasSubstr("Host: 127.0.0.1:" + std::to_string(l.port) + "\r\n"));
}

TEST(Fetch, ARefusedConnectionIsAClearError) {
  Listener l(false);  // bound, not listening: connections are refused
  try {
    fetch({"127.0.0.1", l.port, "/metrics", std::chrono::milliseconds(2000)});
    FAIL() << "no exception";
  } catch (const RuntimeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot reach http://127.0.0.1:" + std::to_string(l.port) + "/metrics"));
    EXPECT_THAT(e.what(), HasSubstr("refused"));
  }
}

TEST(Fetch, ASilentServerTimesOut) {
  Listener l(true);  // the kernel accepts; nobody ever answers
  const auto start = std::chrono::steady_clock::now();
  try {
    fetch({"127.0.0.1", l.port, "/metrics", std::chrono::milliseconds(300)});
    FAIL() << "no exception";
  } catch (const RuntimeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("timed out after 0.3 s"));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST(Fetch, AnErrorStatusIsAnError) {
  Listener l(true);
  std::thread server([&] {
    const int c = ::accept(l.fd, nullptr, nullptr);
    char buf[4096];
    (void)::read(c, buf, sizeof buf);
    const std::string r = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n";
    (void)::write(c, r.data(), r.size());
    ::close(c);
  });
  try {
    fetch({"127.0.0.1", l.port, "/metrics", std::chrono::milliseconds(3000)});
    FAIL() << "no exception";
  } catch (const RuntimeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("answered HTTP 404 Not Found"));
  }
  server.join();
}

}  // namespace
}  // namespace enchufe::stats
