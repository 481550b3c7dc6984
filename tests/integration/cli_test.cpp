// The command line: exit codes, usage errors, start-up failures, --help.

#include "support/enchufe.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace enchufe::test;

namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST(Cli, NoArgumentsIsAUsageError) {
  const auto r = run_enchufe({});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_FALSE(r.err.empty()) << r;
}

TEST(Cli, UnknownSubcommandIsAUsageError) {
  const auto r = run_enchufe({"bogus"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_FALSE(r.err.empty()) << r;
}

TEST(Cli, ServeWithoutServiceIsAUsageError) {
  const auto r = run_enchufe({"serve"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_FALSE(r.err.empty()) << r;
}

TEST(Cli, UnknownOptionIsAUsageErrorNamingIt) {
  const auto r = run_enchufe({"serve", "echo", "--port", "0", "--bogus-option"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_TRUE(contains(r.err, "--bogus-option")) << r;
}

TEST(Cli, PortOutOfRangeIsAUsageError) {
  const std::vector<std::vector<std::string>> commands = {
      {"serve", "echo", "--port", "70000"},
      {"serve", "greet", "--port", "70000"},
      {"serve", "udp-echo", "--port", "70000"},
      {"serve", "all", "--greet-port", "0", "--echo-port", "70000", "--udp-port", "0"},
      {"serve", "all", "--greet-port", "0", "--echo-port", "0", "--udp-port", "70000"},
      {"connect", "127.0.0.1", "70000"},
      {"connect", "127.0.0.1:70000"},
  };
  for (const auto& args : commands) {
    const auto r = run_enchufe(args);
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_TRUE(contains(r.err, "70000")) << "the message should name the bad port\n" << r;
  }
}

// A usage error is a usage error whatever the state of the machine: the bad
// port must be reported (exit 2) before anything is bound, not hidden behind
// a failure to bind another port first (exit 1), and no "listening:" line
// may announce a server that is about to exit.
TEST(Cli, BadPortIsReportedBeforeAnyBind) {
  const auto held = hold_tcp_port("127.0.0.1", /*listen=*/true);
  const auto r = run_enchufe({"serve", "all", "--host", "127.0.0.1", "--greet-port", std::to_string(held.port),
                              "--echo-port", "70000", "--udp-port", "0"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_TRUE(contains(r.err, "70000")) << "the message should name the bad port\n" << r;

  const auto free_greet = run_enchufe(
      {"serve", "all", "--host", "127.0.0.1", "--greet-port", "0", "--echo-port", "0", "--udp-port", "70000"});
  EXPECT_TRUE(free_greet.exited_with(2)) << free_greet;
  EXPECT_EQ(free_greet.out, "") << "nothing may be announced as listening\n" << free_greet;
}

TEST(Cli, NonNumericPortIsAUsageError) {
  const auto r = run_enchufe({"serve", "echo", "--port", "seis"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_TRUE(contains(r.err, "seis")) << r;
}

TEST(Cli, ServeAllPortTakesOnlyZero) {
  const auto r = run_enchufe({"serve", "all", "--port", "5000"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_TRUE(contains(r.err, "--port")) << r;
  EXPECT_EQ(r.out.find("listening:"), std::string::npos) << r;
}

TEST(Cli, ConnectUsageErrors) {
  const std::vector<std::vector<std::string>> commands = {
      {"connect"},                                  // no host
      {"connect", "127.0.0.1"},                     // no port
      {"connect", "127.0.0.1", "0"},                // port 0
      {"connect", "::1:6000"},                      // IPv6 without brackets
      {"connect", "[::1:6000"},                     // missing ]
      {"connect", "--raw", "--crlf", "127.0.0.1", "6000"},  // exclusive flags
      {"connect", "--udp", "--timeout", "0", "127.0.0.1", "6000"},  // timeout out of range
  };
  for (const auto& args : commands) {
    const auto r = run_enchufe(args);
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_FALSE(r.err.empty()) << r;
    EXPECT_TRUE(r.out.empty()) << r;
  }
}

// A port in use is a runtime failure (1), explained in one line that names
// the port, with nothing else around it.
TEST(Cli, TcpPortInUseExitsOneWithOneLineNamingThePort) {
  const auto held = hold_tcp_port("127.0.0.1", /*listen=*/true);
  const std::string port = std::to_string(held.port);
  for (const std::string service : {"echo", "greet"}) {
    const auto r = run_enchufe({"serve", service, "--host", "127.0.0.1", "--port", port});
    EXPECT_TRUE(r.exited_with(1)) << r;
    const auto lines = split_lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << "expected exactly one line on stderr\n" << r;
    EXPECT_TRUE(contains(lines[0], port)) << r;
    EXPECT_EQ(r.out.find("listening:"), std::string::npos) << r;
    EXPECT_LT(r.elapsed, 5000ms) << r;
  }
}

TEST(Cli, UdpPortInUseExitsOneWithOneLineNamingThePort) {
  const auto held = hold_udp_port("127.0.0.1");
  const std::string port = std::to_string(held.port);
  const auto r = run_enchufe({"serve", "udp-echo", "--host", "127.0.0.1", "--port", port});
  EXPECT_TRUE(r.exited_with(1)) << r;
  const auto lines = split_lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << "expected exactly one line on stderr\n" << r;
  EXPECT_TRUE(contains(lines[0], port)) << r;
}

TEST(Cli, ServeAllWithOnePortInUseExitsOne) {
  const auto held = hold_tcp_port("127.0.0.1", /*listen=*/true);
  const std::string port = std::to_string(held.port);
  const auto r = run_enchufe({"serve", "all", "--host", "127.0.0.1", "--greet-port", "0", "--echo-port", port,
                              "--udp-port", "0"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  const auto lines = split_lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << "expected exactly one line on stderr\n" << r;
  EXPECT_TRUE(contains(lines[0], port)) << r;
}

TEST(Cli, HelpOnEveryCommandExitsZeroWithExamples) {
  const std::vector<std::vector<std::string>> commands = {
      {},
      {"serve"},
      {"serve", "greet"},
      {"serve", "echo"},
      {"serve", "udp-echo"},
      {"serve", "all"},
      {"connect"},
      {"chat-export"},
      {"chat-admin"},
  };
  for (auto args : commands) {
    for (const std::string flag : {"--help", "-h"}) {
      auto with_flag = args;
      with_flag.push_back(flag);
      const auto r = run_enchufe(with_flag);
      EXPECT_TRUE(r.exited_with(0)) << r;
      EXPECT_TRUE(contains(r.out, "Examples")) << r;
    }
  }
}

// chat-admin --cluster: an account made in the cluster's Redis (as while
// its nodes run: they hear of it) is listed from there, once only.
TEST(Cli, ChatAdminClusterMakesAndListsAccountsInRedis) {
  auto redis = RedisServer::start();
  auto r = run_enchufe({"chat-admin", "--cluster", redis.url(), "add-account", "ana"}, {.input = "correct horse\n"});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, redis.url() + ": account ana made\n") << r;
  r = run_enchufe({"chat-admin", "--cluster", redis.url(), "add-account", "ANA"}, {.input = "another horse\n"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "has an account already")) << r;
  r = run_enchufe({"chat-admin", "--cluster", redis.url(), "accounts"});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "ana\n") << r;
  r = run_enchufe({"chat-admin", "--cluster", redis.url(), "audit"});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_TRUE(contains(r.out, "chat-admin\tregister\tana")) << r;
}

// A Redis not there is a runtime failure naming it: an empty list would
// read as "no accounts". --cluster and --db together is a usage error.
TEST(Cli, ChatAdminClusterUnreachableExitsOneNamingIt) {
  const auto closed = hold_tcp_port("127.0.0.1", /*listen=*/false);
  const std::string url = "redis://127.0.0.1:" + std::to_string(closed.port);
  for (const std::string what : {"accounts", "bans", "audit"}) {
    const auto r = run_enchufe({"chat-admin", "--cluster", url, what});
    EXPECT_TRUE(r.exited_with(1)) << r;
    EXPECT_TRUE(contains(r.err, url)) << r;
    EXPECT_TRUE(r.out.empty()) << r;
  }
  auto r = run_enchufe({"chat-admin", "--cluster", url, "add-account", "ana"}, {.input = "correct horse\n"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, url)) << r;
  r = run_enchufe({"chat-admin", "--cluster", url, "--db", "/tmp/x.db", "accounts"});
  EXPECT_TRUE(r.exited_with(2)) << r;
}
