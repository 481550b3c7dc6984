#include "support/metrics.hpp"

#include "support/net.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace enchufe::test {

namespace {
constexpr auto kIo = 5000ms;
}  // namespace

std::string scrape(std::uint16_t port) {
  auto c = TcpClient::connect("127.0.0.1", port);
  EXPECT_TRUE(c.send_all("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  const auto r = c.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  const auto head_end = r.data.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    ADD_FAILURE() << "no HTTP header end: " << r;
    return {};
  }
  const std::string head = r.data.substr(0, head_end);
  std::string body = r.data.substr(head_end + 4);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << head;
  EXPECT_NE((head + "\r\n").find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos)
      << head << "\n(body " << body.size() << " bytes)";
  return body;
}

double metric(const std::string& body, const std::string& series) {
  std::istringstream lines(body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  ADD_FAILURE() << "no series " << series << " in the scrape";
  return std::nan("");
}

std::string scrape_until(std::uint16_t port, const std::string& series, double value, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string body = scrape(port);
  while (metric(body, series) != value && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    body = scrape(port);
  }
  EXPECT_EQ(metric(body, series), value) << series << " never reached " << value;
  return body;
}

}  // namespace enchufe::test
