// Start-up failures: a port already in use, a host that does not resolve, a
// bad --port. One clear line on stderr, no "listening:" line, and the
// documented exit code (1: runtime failure, 2: usage error), quickly.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

class PortInUse : public ::testing::TestWithParam<std::string> {};
class UnresolvableHost : public ::testing::TestWithParam<std::string> {};
struct BadPortCase {
  std::string service;
  std::string port;
};
void PrintTo(const BadPortCase& c, std::ostream* os) { *os << c.service << " --port '" << c.port << "'"; }
class BadPort : public ::testing::TestWithParam<BadPortCase> {};

std::vector<std::string> nonempty_lines(const std::string& text) {
  auto lines = split_lines(text);
  lines.erase(std::remove(lines.begin(), lines.end(), std::string()), lines.end());
  return lines;
}

void expect_one_clear_line(const RunResult& r, int code, std::string_view must_mention) {
  ASSERT_FALSE(r.timed_out) << r;
  EXPECT_TRUE(r.exited_with(code)) << r;
  EXPECT_EQ(r.out.find("listening:"), std::string::npos) << "nothing may claim to listen: " << r;
  const auto lines = nonempty_lines(r.err);
  ASSERT_FALSE(lines.empty()) << r;
  // The reason, on the first line, naming the program; for usage errors a
  // second line may point to --help, nothing more.
  EXPECT_EQ(lines.front().rfind("enchufe: ", 0), 0u) << r;
  EXPECT_NE(lines.front().find(must_mention), std::string::npos) << "should mention \"" << must_mention << "\": " << r;
  if (code == 1) {
    EXPECT_EQ(lines.size(), 1u) << r;
  } else {
    EXPECT_LE(lines.size(), 2u) << r;
    if (lines.size() == 2) {
      EXPECT_NE(lines[1].find("--help"), std::string::npos) << r;
    }
  }
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r;
  EXPECT_LT(r.elapsed, 3000ms) << r;
}

}  // namespace

TEST_P(PortInUse, OneLineExitOne) {
  const std::string service = GetParam();
  auto held = service == "udp-echo" ? hold_udp_port() : hold_tcp_port();
  const auto r = run_enchufe({"serve", service, "--host", "127.0.0.1", "--port", std::to_string(held.port)});
  expect_one_clear_line(r, 1, "already in use");
  EXPECT_NE(r.err.find(std::to_string(held.port)), std::string::npos) << "names the port: " << r;
}

INSTANTIATE_TEST_SUITE_P(Services, PortInUse, ::testing::Values("greet", "echo", "chat", "udp-echo"),
                         service_param_name);

TEST_P(UnresolvableHost, OneLineExitOne) {
  const auto r = run_enchufe({"serve", GetParam(), "--host", "no-such-host.invalid", "--port", "0"});
  expect_one_clear_line(r, 1, "no-such-host.invalid");
}

INSTANTIATE_TEST_SUITE_P(Services, UnresolvableHost, ::testing::Values("greet", "echo", "chat", "udp-echo"),
                         service_param_name);

TEST_P(BadPort, OneLineExitTwo) {
  const auto& [service, port] = GetParam();
  const auto r = run_enchufe({"serve", service, "--host", "127.0.0.1", "--port", port});
  expect_one_clear_line(r, 2, "port");
}

INSTANTIATE_TEST_SUITE_P(
    Values, BadPort,
    ::testing::Values(BadPortCase{"echo", "70000"}, BadPortCase{"echo", "abc"}, BadPortCase{"echo", "-1"},
                      BadPortCase{"echo", ""}, BadPortCase{"greet", "65536"}, BadPortCase{"chat", "8000x"},
                      BadPortCase{"udp-echo", "99999"}),
    [](const ::testing::TestParamInfo<BadPortCase>& info) {
      std::string name = info.param.service + "_" + std::to_string(info.index);
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });
