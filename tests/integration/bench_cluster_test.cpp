// `bench fanout --targets`: the clients spread over the nodes of a chat
// cluster (serve chat --cluster on a real redis-server), so that every line
// crosses from its sender's node to the others through Redis.

#include "support/bench_report.hpp"
#include "support/enchufe.hpp"
#include "support/metrics.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace enchufe::test;

namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// A chat node on a free port, with its metrics; on `redis` unless empty.
Server chat_node(const std::string& redis_url) {
  std::vector<std::string> args{"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--no-web", "--quiet",
                                "--threads", "1", "--history-db", "none", "--flood-rate", "1000000",
                                "--flood-burst", "1000000", "--metrics", "127.0.0.1:0"};
  if (!redis_url.empty()) args.insert(args.end(), {"--cluster", redis_url});
  return Server::start_args(args, {"chat", "metrics"});
}

std::string address(const Server& node) { return "127.0.0.1:" + std::to_string(node.port("chat")); }

}  // namespace

// Paced, then closed loop (whose window is acknowledged by a witness that
// may sit on the other node): every line reaches all 20 receivers, in
// order, from the right nick, and each node served half of the clients.
TEST(BenchCluster, FanoutAcrossTwoNodesDeliversEveryLine) {
  if (!std::filesystem::exists("/usr/bin/redis-server")) GTEST_SKIP() << "no /usr/bin/redis-server";
  auto redis = RedisServer::start();
  auto a = chat_node(redis.url());
  auto b = chat_node(redis.url());
  const std::string targets = address(a) + "," + address(b);
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--rate", "400"}, std::vector<std::string>{"--window", "4"}}) {
    std::vector<std::string> args{"bench", "fanout", "--targets", targets, "--check", "--duration", "1",
                                  "--receivers", "20", "--senders", "2", "--json", "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_enchufe(args, {.timeout = 30'000ms});
    ASSERT_TRUE(r.exited_with(0)) << r;
    EXPECT_EQ(field(r.out, "targets"), 2) << r;
    EXPECT_EQ(text_field(r.out, "target"), targets) << r;
    EXPECT_EQ(field(r.out, "errors"), 0) << r;
    EXPECT_EQ(field(r.out, "missing"), 0) << r;
    EXPECT_EQ(field(r.out, "out_of_order"), 0) << r;
    EXPECT_GT(field(r.out, "lines_sent").value_or(0), 0) << r;
    EXPECT_EQ(field(r.out, "deliveries"), field(r.out, "lines_sent").value_or(-1) * 20) << r;
  }
  // Round-robin: 10 receivers and a sender on each node, in each run (and
  // the bench's probe of the node). With every line at every receiver
  // (above), each sender's lines crossed to the other node.
  for (Server* node : {&a, &b}) {
    EXPECT_GE(metric(scrape(node->port("metrics")), "enchufe_connections_accepted_total{service=\"chat\"}"), 22);
  }
}

TEST(BenchCluster, BadTargetsAreUsageErrors) {
  auto node = chat_node("");
  const std::string twice = address(node) + "," + address(node);
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--targets", "127.0.0.1"}, {"--targets", "127.0.0.1:0"},
        {"--targets", "127.0.0.1:65536"}, {"--targets", "127.0.0.1:8000,nowhere"},
        {"--targets", "127.0.0.1:8000", "--port", "8000"}, {"--targets", "127.0.0.1:8000", "--host", "::1"},
        {"--targets", "127.0.0.1:8000", "--redis"}, {"--targets", "127.0.0.1:8000,127.0.0.1:8001", "-r", "1"},
        {"--targets", twice}}) {
    std::vector<std::string> args{"bench", "fanout", "--duration", "1"};
    args.insert(args.end(), bad.begin(), bad.end());
    const auto r = run_enchufe(args);
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_TRUE(contains(r.err, "--targets")) << r;
  }
}
