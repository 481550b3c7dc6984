// `enchufe bench`: smoke runs of every mode against the real servers on
// --port 0. Benchmarks are not tests: nothing here asserts a speed, only that
// every reply was right, nothing was lost, and the report says so.

#include "support/bench_report.hpp"
#include "support/enchufe.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace enchufe::test;

namespace {

constexpr auto kRun = 60'000ms;  // generous: CI machines run tests in parallel

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

RunResult bench(std::vector<std::string> args) {
  args.insert(args.begin(), "bench");
  args.insert(args.end(), {"--host", "127.0.0.1", "--json", "--threads", "2"});
  return run_enchufe(args, {.timeout = kRun});
}

class Bench : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { raise_fd_limit(); }
};

}  // namespace

TEST_F(Bench, EchoCheckSeesEveryReplyRight) {
  auto server = Server::start("all");
  const auto r = bench({"echo", "--port", std::to_string(server.port("echo")), "--check", "--duration", "1",
                        "--connections", "20"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
  EXPECT_EQ(field(r.out, "mismatches"), 0) << r;
  EXPECT_EQ(field(r.out, "unanswered"), 0) << r;
  EXPECT_EQ(field(r.out, "connections"), 20) << r;
  EXPECT_GT(field(r.out, "replies").value_or(0), 0) << r;
  EXPECT_EQ(field(r.out, "replies"), field(r.out, "requests")) << r;
  EXPECT_TRUE(contains(r.out, "\"latency_us\":{\"count\":")) << r;
}

TEST_F(Bench, EchoPipelinedCountDoesExactlyThatMany) {
  auto server = Server::start("all");
  const auto r = bench({"echo", "--port", std::to_string(server.port("echo")), "--check", "--count", "5000",
                        "--pipeline", "8", "--connections", "7"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "requests"), 5000) << r;
  EXPECT_EQ(field(r.out, "replies"), 5000) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
}

// The same workload over WebSocket, pipelined: every reply right, each
// connection's deflate offer accepted (and none with --no-deflate).
TEST_F(Bench, EchoOverWebSocketChecksEveryReplyAndDeflate) {
  for (const bool deflate : {true, false}) {
    auto server = deflate ? Server::start("all") : Server::start("all", {"--no-deflate"});
    const auto r = bench({"echo", "--ws", "--deflate", "--port", std::to_string(server.ws_port("echo")), "--check",
                          "--count", "4000", "--pipeline", "4", "--connections", "20"});
    ASSERT_TRUE(r.exited_with(0)) << r;
    EXPECT_TRUE(contains(r.out, "\"protocol\":\"websocket\"")) << r;
    EXPECT_EQ(field(r.out, "replies"), 4000) << r;
    EXPECT_EQ(field(r.out, "errors"), 0) << r;
    EXPECT_EQ(field(r.out, "mismatches"), 0) << r;
    EXPECT_EQ(field(r.out, "unanswered"), 0) << r;
    EXPECT_EQ(field(r.out, "deflate_accepted"), deflate ? 20 : 0) << r;
  }
}

TEST_F(Bench, EchoCheckCatchesAWrongReply) {
  // The server says "Eco: "; expecting "Echo: " must fail every reply.
  auto server = Server::start("all");
  const auto r = bench({"echo", "--port", std::to_string(server.port("echo")), "--check", "--count", "100",
                        "--connections", "2", "--reply-prefix", "Echo: "});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_EQ(field(r.out, "mismatches"), 100) << r;
  EXPECT_TRUE(contains(r.out, "got \\\"Eco: hola")) << r;
}

TEST_F(Bench, EchoWithCrlfRequests) {
  // Redis-style inline commands keep their "\r\n"; the echo server keeps it too.
  auto server = Server::start("all");
  const auto r = bench({"echo", "--port", std::to_string(server.port("echo")), "--check", "--count", "1000",
                        "--pipeline", "4", "--request", "PING {n}\\r\\n"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "replies"), 1000) << r;
}

TEST_F(Bench, EchoPacedKeepsTheRateAndChecks) {
  auto server = Server::start("all");
  const auto r = bench({"echo", "--port", std::to_string(server.port("echo")), "--check", "--rate", "2000",
                        "--count", "1000", "--connections", "10"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "rate"), 2000) << r;
  EXPECT_EQ(field(r.out, "requests"), 1000) << r;
  EXPECT_EQ(field(r.out, "replies"), 1000) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
  // 1,000 requests at 2,000/s take half a second, not less.
  EXPECT_GE(field(r.out, "duration_s").value_or(0), 0.45) << r;
}

// Bulk lines end with a newline, but a sanitizer build on a busy machine can
// pause more than the default --partial-delay (20 ms) inside one of 60 KiB;
// the server would then rightly answer the part it has as a message.
const std::vector<std::string> kPatientWithPartials{"--partial-delay", "2000"};

TEST_F(Bench, BulkCheck) {
  auto server = Server::start("all", kPatientWithPartials);
  const auto r = bench({"bulk", "--port", std::to_string(server.port("echo")), "--check", "--duration", "1",
                        "--size", "60KiB", "--connections", "2", "--pipeline", "4"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
  EXPECT_GT(field(r.out, "bytes_received").value_or(0), 60 * 1024) << r;
  EXPECT_GT(field(r.out, "mb_per_s").value_or(0), 0) << r;
}

TEST_F(Bench, UdpCheckLosesNothingOnLoopback) {
  auto server = Server::start("all");
  const auto r = bench({"udp", "--port", std::to_string(server.port("udp-echo")), "--check", "--duration", "1",
                        "--connections", "4", "--pipeline", "4"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
  EXPECT_EQ(field(r.out, "lost"), 0) << r;
  EXPECT_EQ(field(r.out, "late"), 0) << r;
  EXPECT_GT(field(r.out, "replies").value_or(0), 0) << r;
  EXPECT_EQ(field(r.out, "replies"), field(r.out, "requests")) << r;
}

TEST_F(Bench, UdpCountsLossWhenNobodyAnswers) {
  // A bound UDP port nobody reads: every request times out.
  const auto held = hold_udp_port();
  const auto r = bench({"udp", "--port", std::to_string(held.port), "--count", "5", "--connections", "1",
                        "--timeout", "200ms"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "requests"), 5) << r;
  EXPECT_EQ(field(r.out, "lost"), 5) << r;
  EXPECT_EQ(field(r.out, "replies"), 0) << r;
}

TEST_F(Bench, FanoutDeliversEveryLineInOrder) {
  // 22 clients and a probe from one address, past --max-per-address.
  auto server = Server::start(
      "chat", {"--flood-rate", "1000000", "--flood-burst", "1000000", "--trust-loopback", "--quiet"});
  const std::string port = std::to_string(server.port("chat"));
  // Paced, in the lobby; then closed loop, in a room of its own.
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--rate", "400"}, std::vector<std::string>{"--window", "4", "--room", "smoke"}}) {
    std::vector<std::string> args{"fanout", "--port", port, "--check", "--duration", "1", "--receivers", "20",
                                  "--senders", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = bench(args);
    ASSERT_TRUE(r.exited_with(0)) << r;
    EXPECT_EQ(field(r.out, "errors"), 0) << r;
    EXPECT_EQ(field(r.out, "missing"), 0) << r;
    EXPECT_EQ(field(r.out, "out_of_order"), 0) << r;
    EXPECT_GT(field(r.out, "lines_sent").value_or(0), 0) << r;
    EXPECT_EQ(field(r.out, "deliveries"), field(r.out, "expected_deliveries")) << r;
    EXPECT_EQ(field(r.out, "deliveries"), field(r.out, "lines_sent").value_or(-1) * 20) << r;
  }
}

// --ws: the same load through the chat's web front door, every client over
// A fan-out run over `protocol` that ended well: no error, every line sent
// reached each of the `receivers`, in order.
static void expect_every_line_delivered(const RunResult& r, const std::string& protocol, int receivers) {
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_TRUE(contains(r.out, "\"protocol\":\"" + protocol + "\"")) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
  EXPECT_EQ(field(r.out, "missing"), 0) << r;
  EXPECT_EQ(field(r.out, "out_of_order"), 0) << r;
  EXPECT_GT(field(r.out, "lines_sent").value_or(0), 0) << r;
  EXPECT_EQ(field(r.out, "deliveries"), field(r.out, "lines_sent").value_or(-1) * receivers) << r;
}

// WebSocket (JSON events): every line reaches every receiver, in order, from
// the right nick; the report says which protocol it spoke.
TEST_F(Bench, FanoutOverWebSocket) {
  auto server = Server::start("chat", {"--flood-rate", "1000000", "--flood-burst", "1000000", "--quiet"});
  const std::string port = std::to_string(server.web_port());
  const auto r = bench({"fanout", "--ws", "--port", port, "--check", "--duration", "1", "--receivers", "10",
                        "--senders", "2", "--window", "4", "--room", "smoke"});
  ASSERT_NO_FATAL_FAILURE(expect_every_line_delivered(r, "websocket", 10));
  EXPECT_TRUE(contains(r.out, "\"latency_us\":{\"count\":")) << r;
  EXPECT_FALSE(contains(r.out, "\"latency_us\":{\"count\":0,")) << r;

  // A path with no WebSocket behind it: set-up fails, and says why.
  const auto wrong = bench({"fanout", "--ws", "--ws-path", "/nope", "--port", port, "--duration", "1",
                            "--receivers", "1", "--senders", "1"});
  EXPECT_TRUE(wrong.exited_with(1)) << wrong;
  EXPECT_EQ(field(wrong.out, "clients_ready"), 0) << wrong;
  EXPECT_TRUE(contains(wrong.out, "HTTP 404")) << wrong;
}

// The same load against Redis pub/sub (what bench/compare compares the chat
// with): every PUBLISH reaches every SUBSCRIBEr, counted and in order.
TEST_F(Bench, FanoutSpeaksRedisPubSub) {
  auto redis = RedisServer::start();
  const std::string port = std::to_string(redis.port());
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--rate", "400"}, std::vector<std::string>{"--window", "4", "--room", "smoke"}}) {
    std::vector<std::string> args{"fanout", "--redis", "--port", port, "--check", "--duration", "1",
                                  "--receivers",   "20",  "--senders", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = bench(args);
    ASSERT_NO_FATAL_FAILURE(expect_every_line_delivered(r, "redis", 20));
  }
}

TEST_F(Bench, FanoutWithRedisAgainstTheChatServerFailsClearly) {
  // The chat server does not speak RESP: set-up fails, and the report says so.
  auto server = Server::start("chat", {"--quiet"});
  const auto r = bench({"fanout", "--redis", "--port", std::to_string(server.port("chat")), "--duration", "1",
                        "--receivers", "2", "--senders", "1"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_EQ(field(r.out, "clients_ready"), 0) << r;
  // Said at once from the chat's first line, not after the set-up timeout
  // (hiredis alone would wait for a "\r\n" that never comes).
  EXPECT_NE(r.out.find("not a Redis server: it says"), std::string::npos) << r;
  EXPECT_NE(r.out.find("Welcome to enchufe chat!"), std::string::npos) << r;
}

TEST_F(Bench, FanoutReportsLinesTheFloodControlDropped) {
  // Default flood control: 10 lines/s, bursts of 20. 100 lines/s overflow it.
  auto server = Server::start("chat", {"--quiet"});
  const std::vector<std::string> args{"fanout", "--port", std::to_string(server.port("chat")), "--duration", "1",
                                      "--receivers", "2", "--senders", "1", "--rate", "100", "--room", "flood"};
  const auto r = bench(args);
  ASSERT_TRUE(r.exited_with(0)) << r;  // without --check, a report, not a failure
  EXPECT_GT(field(r.out, "dropped_by_server").value_or(0), 0) << r;
  EXPECT_GT(field(r.out, "missing").value_or(0), 0) << r;
  EXPECT_GE(field(r.out, "flood_warnings").value_or(0), 1) << r;

  auto checked = args;
  checked.push_back("--check");
  EXPECT_TRUE(bench(checked).exited_with(1));
}

TEST_F(Bench, IdleHoldsConnectionsAndMeasuresTheServer) {
  auto server = Server::start("all");
  const auto r = bench({"idle", "--port", std::to_string(server.port("echo")), "--connections", "200", "--duration",
                        "1", "--pid", std::to_string(server.process().pid())});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "opened"), 200) << r;
  EXPECT_EQ(field(r.out, "held"), 200) << r;
  EXPECT_EQ(field(r.out, "closed_by_server"), 0) << r;
  EXPECT_GT(field(r.out, "server_rss_after").value_or(0), 0) << r;
  EXPECT_TRUE(field(r.out, "server_bytes_per_connection")) << r;
}

TEST_F(Bench, IdleSeesTheServerRefuseOverItsLimit) {
  auto server = Server::start("echo", {"--max-connections", "50", "--quiet"});
  const auto r = bench({"idle", "--port", std::to_string(server.port("echo")), "--connections", "60", "--duration",
                        "1"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "opened"), 60) << r;
  EXPECT_EQ(field(r.out, "held"), 50) << r;
  EXPECT_EQ(field(r.out, "closed_by_server"), 10) << r;
  EXPECT_TRUE(contains(r.out, "server full")) << r;
}

TEST_F(Bench, RefusedConnectionIsARuntimeFailure) {
  const auto held = hold_tcp_port("127.0.0.1", false);  // bound, not listening: refused
  const auto r = bench({"echo", "--port", std::to_string(held.port), "--duration", "1"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "cannot connect")) << r;
}

// ---- TLS ----------------------------------------------------------------------

namespace {

// `serve SERVICE --tls-self-signed` on free ports, once its TLS ports are
// up too ("listening: echo tls ...").
Server tls_server(const std::string& service, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"serve", service, "--host", "127.0.0.1", "--port", "0", "--tls-self-signed"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto services = services_of(service, extra);
  for (const std::string tcp : {"greet", "echo", "chat"}) {
    if (service == tcp || service == "all") services.push_back(tcp + " tls");
  }
  return Server::start_args(args, services);
}

std::uint16_t tls_port(const Server& server, std::string_view service) { return server.socket(service, "tls").port; }

}  // namespace

// The same clients over TLS: every reply right, pipelined and in bulk, and
// the report says what the handshake agreed on.
TEST_F(Bench, EchoAndBulkOverTls) {
  auto server = tls_server("echo", {"--quiet", kPatientWithPartials[0], kPatientWithPartials[1]});
  const std::string port = std::to_string(tls_port(server, "echo"));
  const auto r = bench({"echo", "--tls", "--port", port, "--check", "--duration", "1", "--connections", "10",
                        "--pipeline", "16"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_TRUE(contains(r.out, "\"tls\":\"TLSv1.")) << r;
  EXPECT_EQ(field(r.out, "connections"), 10) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
  EXPECT_EQ(field(r.out, "unanswered"), 0) << r;
  EXPECT_GT(field(r.out, "replies").value_or(0), 0) << r;
  EXPECT_EQ(field(r.out, "replies"), field(r.out, "requests")) << r;

  const auto bulk = bench({"bulk", "--tls", "--port", port, "--check", "--duration", "1", "--size", "60KiB",
                           "--connections", "2", "--pipeline", "4"});
  ASSERT_TRUE(bulk.exited_with(0)) << bulk;
  EXPECT_EQ(field(bulk.out, "errors"), 0) << bulk;
  EXPECT_GT(field(bulk.out, "bytes_received").value_or(0), 60 * 1024) << bulk;
}

TEST_F(Bench, FanoutOverTls) {
  auto server = tls_server("chat", {"--flood-rate", "1000000", "--flood-burst", "1000000", "--quiet"});
  const auto r = bench({"fanout", "--tls", "--port", std::to_string(tls_port(server, "chat")), "--check",
                        "--duration", "1", "--receivers", "10", "--senders", "2", "--window", "4", "--room", "smoke"});
  ASSERT_NO_FATAL_FAILURE(expect_every_line_delivered(r, "chat", 10));
  EXPECT_TRUE(contains(r.out, "\"tls\":\"TLSv1.")) << r;
}

// Full handshakes against greet, which greets right after its handshake,
// and against the echo server, which answers only a --request.
TEST_F(Bench, HandshakeCountsHandshakesAndTheServersCpu) {
  auto server = tls_server("all", {"--quiet"});
  const auto r = bench({"handshake", "--port", std::to_string(tls_port(server, "greet")), "--duration", "1",
                        "--connections", "4", "--pid", std::to_string(server.process().pid())});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_GT(field(r.out, "handshakes").value_or(0), 0) << r;
  EXPECT_EQ(field(r.out, "errors"), 0) << r;
  // Each read the greeting, or some of it.
  EXPECT_GE(field(r.out, "bytes_received").value_or(0), field(r.out, "handshakes").value_or(1)) << r;
  EXPECT_GT(field(r.out, "server_cpu_us_per_handshake").value_or(0), 0) << r;
  EXPECT_TRUE(contains(r.out, "\"latency_us\":{\"count\":")) << r;

  const auto echo = bench({"handshake", "--port", std::to_string(tls_port(server, "echo")), "--duration", "1",
                           "--connections", "2", "--request", "hola\\n"});
  ASSERT_TRUE(echo.exited_with(0)) << echo;
  EXPECT_GT(field(echo.out, "handshakes").value_or(0), 0) << echo;
  EXPECT_EQ(field(echo.out, "errors"), 0) << echo;
}

// A plaintext port is no TLS server: every handshake fails, none counts,
// and the run fails. Greet's plaintext greeting is no ServerHello; the echo
// server sees a ClientHello and hangs up.
TEST_F(Bench, HandshakeAgainstAPlaintextPortReportsHandshakeErrors) {
  auto server = tls_server("all", {"--quiet"});
  for (const std::string service : {"greet", "echo"}) {
    const auto r = bench({"handshake", "--port", std::to_string(server.port(service)), "--duration", "1",
                          "--connections", "2", "--timeout", "500ms"});
    EXPECT_TRUE(r.exited_with(1)) << r;
    EXPECT_EQ(field(r.out, "handshakes"), 0) << r;
    EXPECT_GT(field(r.out, "handshake_errors").value_or(0), 0) << r;
    EXPECT_EQ(field(r.out, "errors"), field(r.out, "handshake_errors")) << r;
    EXPECT_TRUE(contains(r.out, "TLS handshake: ")) << r;
  }
}

TEST_F(Bench, UsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"bench"}, {"bench", "bogus"}, {"bench", "echo", "--duration", "0"},
        {"bench", "echo", "--size", "12q"}, {"bench", "echo", "--request", "bad\\q"},
        {"bench", "echo", "--port", "0"}, {"bench", "udp", "--pipeline", "4", "--request", "no number"},
        {"bench", "fanout", "--size", "8KiB"}, {"bench", "echo", "--connections", "0"},
        {"bench", "echo", "--rate", "100", "--pipeline", "4"}, {"bench", "echo", "--count", "0"},
        {"bench", "echo", "--tls", "--ws"}, {"bench", "fanout", "--tls", "--ws"},
        {"bench", "handshake", "--connections", "0"}, {"bench", "handshake", "--timeout", "soon"}}) {
    const auto r = run_enchufe(args);
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_FALSE(r.err.empty()) << r;
  }
}

TEST_F(Bench, EveryModeHasHelpWithExamples) {
  for (const std::string mode : {"echo", "udp", "fanout", "idle", "bulk", "handshake"}) {
    const auto r = run_enchufe({"bench", mode, "--help"});
    EXPECT_TRUE(r.exited_with(0)) << r;
    EXPECT_TRUE(contains(r.out, "Examples:")) << r;
    EXPECT_TRUE(contains(r.out, "enchufe bench " + mode)) << r;
  }
}
