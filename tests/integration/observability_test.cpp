// Seeing inside the servers: --trace narrates the tutorial's numbered steps,
// --metrics counts exactly what clients did (checked against known work,
// while clients run, and by promtool), --log-format json writes one valid
// object per line, and `enchufe stats` shows it all.
//
// The checks here are black-box: metrics are read from the HTTP text with a
// line lookup and JSON with a small parser of the test's own, not with the
// code under test.

#include "support/echo_load.hpp"
#include "support/enchufe.hpp"
#include "support/metrics.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>
#include <variant>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;

// ---- servers with a metrics endpoint ------------------------------------------

// `enchufe serve SERVICE --host 127.0.0.1 --port 0 --metrics 127.0.0.1:0 EXTRA...`,
// waiting for the listening lines of `services` and of the metrics endpoint.
Server start_with_metrics(const std::string& service, const std::vector<std::string>& services,
                          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"serve", service, "--host", "127.0.0.1", "--port", "0", "--metrics", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto wanted = services;
  wanted.push_back("metrics");
  return Server::start_args(args, wanted);
}

std::string of(const std::string& family, const std::string& service) {
  return family + "{service=\"" + service + "\"}";
}
std::string error_of(const std::string& service, const std::string& kind) {
  return "enchufe_errors_total{service=\"" + service + "\",kind=\"" + kind + "\"}";
}

// ---- trace ----------------------------------------------------------------------

// Each needle is found in `text` after the previous one.
void expect_in_order(const std::string& text, const std::vector<std::string>& needles) {
  std::size_t at = 0;
  for (const auto& needle : needles) {
    const auto found = text.find(needle, at);
    ASSERT_NE(found, std::string::npos) << "missing, or out of order: \"" << escape(needle) << "\"\nin:\n" << text;
    at = found + needle.size();
  }
}

std::string p(std::uint16_t port) { return std::to_string(port); }

// ---- a small JSON parser (enough to check the log lines) ------------------------

struct Json;
using JsonObject = std::map<std::string, Json>;
struct Json {
  std::variant<std::nullptr_t, bool, double, std::string, JsonObject, std::vector<Json>> value;
  bool is_string() const { return std::holds_alternative<std::string>(value); }
  bool is_number() const { return std::holds_alternative<double>(value); }
  const std::string& str() const { return std::get<std::string>(value); }
  double num() const { return std::get<double>(value); }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}
  // The whole text must be one value (surrounding spaces allowed).
  std::optional<Json> parse_document() {
    auto v = parse_value();
    skip_spaces();
    if (!v || i_ != s_.size()) return fail("trailing bytes or bad value");
    return v;
  }
  const std::string& error() const { return error_; }

 private:
  std::optional<Json> fail(std::string what) {
    if (error_.empty()) error_ = what + " at byte " + std::to_string(i_);
    return std::nullopt;
  }
  void skip_spaces() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool take(char c) {
    skip_spaces();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::optional<Json> parse_value() {
    skip_spaces();
    if (i_ >= s_.size()) return fail("unexpected end");
    const char c = s_[i_];
    if (c == '{') return parse_object();
    if (c == '[') return parse_array();
    if (c == '"') {
      auto str = parse_string();
      if (!str) return std::nullopt;
      return Json{*str};
    }
    for (const auto& [word, value] : {std::pair<std::string_view, Json>{"true", Json{true}},
                                      {"false", Json{false}}, {"null", Json{nullptr}}}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return value;
      }
    }
    return parse_number();
  }
  std::optional<Json> parse_number() {
    static const std::regex number(R"(^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(s_.begin() + static_cast<long>(i_), s_.end(), m, number) || m.length(0) == 0) {
      return fail("bad value");
    }
    const std::string text(s_.substr(i_, static_cast<std::size_t>(m.length(0))));
    i_ += text.size();
    return Json{std::strtod(text.c_str(), nullptr)};
  }
  std::optional<std::string> parse_string() {
    if (!take('"')) {
      fail("expected a string");
      return std::nullopt;
    }
    std::string out;
    while (i_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return out;
      if (c < 0x20) {
        fail("raw control byte in a string");
        return std::nullopt;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i_ >= s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (i_ + 4 > s_.size()) break;
          const std::string hex(s_.substr(i_, 4));
          if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
            fail("bad \\u escape");
            return std::nullopt;
          }
          i_ += 4;
          const auto code = std::strtoul(hex.c_str(), nullptr, 16);
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else {
            out += '?';  // not needed for these logs
          }
          break;
        }
        default:
          fail(std::string("bad escape \\") + e);
          return std::nullopt;
      }
    }
    fail("unterminated string");
    return std::nullopt;
  }
  std::optional<Json> parse_object() {
    take('{');
    JsonObject object;
    if (take('}')) return Json{object};
    do {
      skip_spaces();
      auto key = parse_string();
      if (!key) return std::nullopt;
      if (!take(':')) return fail("expected ':'");
      auto v = parse_value();
      if (!v) return std::nullopt;
      if (!object.emplace(*key, *v).second) return fail("duplicate key " + *key);
    } while (take(','));
    if (!take('}')) return fail("expected ',' or '}'");
    return Json{object};
  }
  std::optional<Json> parse_array() {
    take('[');
    std::vector<Json> items;
    if (take(']')) return Json{items};
    do {
      auto v = parse_value();
      if (!v) return std::nullopt;
      items.push_back(*v);
    } while (take(','));
    if (!take(']')) return fail("expected ',' or ']'");
    return Json{items};
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

// promtool, if installed (Debian: apt-get install prometheus).
std::optional<std::string> find_promtool() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

}  // namespace

// ==== --trace ======================================================================

TEST(Trace, EchoNarratesEveryStepOfOneSessionInOrder) {
  auto server = Server::start("echo", {"--trace"});
  const auto port = server.port("echo");
  auto c = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(c.send_all("Hola servidor\n"));
  EXPECT_EQ(c.recv_until("\n", kIo).data, "Eco: Hola servidor\n");
  ASSERT_TRUE(c.send_all("salir\n"));
  ASSERT_TRUE(c.recv_until_eof(kIo).complete());
  const auto client_port = c.local_port();
  c.close();  // ends the server's lingering close at once
  ASSERT_TRUE(server.process().wait_stderr_contains("echo #1: closed", kIo)) << server.process().stderr_text();
  expect_in_order(server.process().stderr_text(),
                  {"echo: [1 socket] a TCP socket (AF_INET)", "echo: [2 bind] tied to 127.0.0.1:" + p(port),
                   "echo: [3 listen] listening", "echo: [4 accept] 127.0.0.1:" + p(client_port) + " connected",
                   "echo #1: connected", "echo #1: [5 recv] 14 bytes: \"Hola servidor\\n\"",
                   "echo #1: [5 send] 19 bytes: \"Eco: Hola servidor\\n\"", "echo #1: [5 recv] 6 bytes: \"salir\\n\"",
                   "echo #1: [6 shutdown] our side is done sending (FIN)",
                   "echo #1: [6 close] socket closed; we closed first, so this side keeps the connection in TIME_WAIT",
                   "echo #1: closed"});
}

TEST(Trace, EchoClientClosingFirstIsNarratedAsAFin) {
  auto server = Server::start("echo", {"--trace"});
  auto c = TcpClient::connect("127.0.0.1", server.port("echo"));
  ASSERT_TRUE(c.send_all("hola\n"));
  EXPECT_EQ(c.recv_until("\n", kIo).data, "Eco: hola\n");
  c.shutdown_write();
  ASSERT_TRUE(c.recv_until_eof(kIo).complete());
  ASSERT_TRUE(server.process().wait_stderr_contains("[6 close]", kIo)) << server.process().stderr_text();
  const auto err = server.process().stderr_text();
  expect_in_order(err, {"echo #1: [5 recv] 5 bytes: \"hola\\n\"", "echo #1: [5 send] 10 bytes: \"Eco: hola\\n\"",
                        "echo #1: [5 recv] 0 bytes: the client closed its side (FIN)",
                        "echo #1: [6 close] socket closed; the client closed first, so TIME_WAIT is on its side"});
  EXPECT_EQ(err.find("[6 shutdown]"), std::string::npos) << "the client closed first: no shutdown of ours\n" << err;
}

TEST(Trace, GreetSendsThenClosesFirst) {
  auto server = Server::start("greet", {"--trace"});
  const auto port = server.port("greet");
  auto c = TcpClient::connect("127.0.0.1", port);
  const auto r = c.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  const auto client_port = c.local_port();
  c.close();
  ASSERT_TRUE(server.process().wait_stderr_contains("[6 close]", kIo)) << server.process().stderr_text();
  const auto err = server.process().stderr_text();
  expect_in_order(err, {"greet: [1 socket]", "greet: [2 bind] tied to 127.0.0.1:" + p(port), "greet: [3 listen]",
                        "greet: [4 accept] 127.0.0.1:" + p(client_port) + " connected",
                        "greet #1: [5 send] " + std::to_string(r.data.size()) + " bytes: \"" + r.data + "\"",
                        "greet #1: [6 shutdown]", "greet #1: [6 close] socket closed; we closed first"});
  EXPECT_EQ(err.find("[5 recv]"), std::string::npos) << "greet reads nothing but the client's close\n" << err;
}

TEST(Trace, UdpEchoHasNoListenNorAcceptJustDatagrams) {
  auto server = Server::start("udp-echo", {"--trace"});
  const auto port = server.port("udp-echo");
  UdpSocket u;
  ASSERT_TRUE(u.send_to("127.0.0.1", port, "hola"));
  EXPECT_EQ(u.recv(kIo), "Eco UDP: hola");
  ASSERT_TRUE(server.process().wait_stderr_contains("[sendto]", kIo)) << server.process().stderr_text();
  const auto err = server.process().stderr_text();
  const std::string me = "127.0.0.1:" + p(u.local_port());
  expect_in_order(err, {"udp-echo: [1 socket] a UDP socket (AF_INET)",
                        "udp-echo: [2 bind] tied to 127.0.0.1:" + p(port) + "; UDP needs no listen() or accept()",
                        "udp-echo: [recvfrom] 4 bytes from " + me + ": \"hola\"",
                        "udp-echo: [sendto] 13 bytes to " + me});
  EXPECT_EQ(err.find("[3 listen]"), std::string::npos) << err;
  EXPECT_EQ(err.find("[4 accept]"), std::string::npos) << err;
}

TEST(Trace, ChatSessionFromWelcomeToQuit) {
  auto server = Server::start("chat", {"--trace"});
  const auto port = server.port("chat");
  auto c = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(c.send_all("ana\n"));
  ASSERT_TRUE(c.recv_until("you are ana now\n", kIo).complete());
  ASSERT_TRUE(c.send_all("/quit\n"));
  ASSERT_TRUE(c.recv_until_eof(kIo).complete());
  const auto client_port = c.local_port();
  c.close();
  ASSERT_TRUE(server.process().wait_stderr_contains("[6 close]", kIo)) << server.process().stderr_text();
  expect_in_order(server.process().stderr_text(),
                  {"chat: [1 socket]", "chat: [2 bind] tied to 127.0.0.1:" + p(port), "chat: [3 listen]",
                   "chat: [4 accept] 127.0.0.1:" + p(client_port) + " connected",
                   "chat #1: [5 send]",  // the welcome
                   "chat #1: [5 recv] 4 bytes: \"ana\\n\"", "chat #1: [5 send]",  // "* you are ana now"
                   "chat #1: [5 recv] 6 bytes: \"/quit\\n\"", "chat #1: [6 shutdown]",
                   "chat #1: [6 close] socket closed; we closed first"});
}

TEST(Trace, AllServicesTogetherNumberTheirOwnSteps) {
  auto server = Server::start_args({"serve", "all", "--host", "127.0.0.1", "--port", "0", "--trace"},
                                   {"greet", "echo", "udp-echo", "chat"});
  // Logged once everything is bound, after the steps.
  ASSERT_TRUE(server.process().wait_stderr_contains("serving with", kIo)) << server.process().stderr_text();
  const auto err = server.process().stderr_text();
  for (const std::string s : {"greet", "echo", "chat"}) {
    expect_in_order(err, {s + ": [1 socket]", s + ": [2 bind] tied to 127.0.0.1:" + p(server.port(s)),
                          s + ": [3 listen]"});
  }
  expect_in_order(err, {"udp-echo: [1 socket]", "udp-echo: [2 bind] tied to 127.0.0.1:" + p(server.port("udp-echo"))});
}

TEST(Trace, WithoutTheFlagNothingIsNarrated) {
  auto server = Server::start("echo");
  auto c = TcpClient::connect("127.0.0.1", server.port("echo"));
  ASSERT_TRUE(c.send_all("hola\nsalir\n"));
  ASSERT_TRUE(c.recv_until_eof(kIo).complete());
  c.close();
  ASSERT_TRUE(server.process().wait_stderr_contains("closed", kIo));
  const auto err = server.process().stderr_text();
  for (const char* step : {"[1 socket]", "[2 bind]", "[3 listen]", "[4 accept]", "[5 recv]", "[5 send]", "[6 close]"}) {
    EXPECT_EQ(err.find(step), std::string::npos) << step << " in\n" << err;
  }
}

TEST(Trace, TheTcpClientNarratesItsSteps) {
  auto server = Server::start("echo");
  const auto port = server.port("echo");
  const auto r = run_enchufe({"connect", "--trace", "127.0.0.1", p(port)}, {.input = "Hola servidor\nsalir\n"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: Hola servidor\n");
  expect_in_order(r.err, {"[1 socket] a TCP socket (AF_INET)", "[2 connect] to 127.0.0.1:" + p(port),
                          "[2 connect] connected from 127.0.0.1:", "[3 send] 14 bytes: \"Hola servidor\\n\"",
                          "[3 recv] 19 bytes: \"Eco: Hola servidor\\n\"",
                          "[3 recv] 0 bytes: the server closed its side (FIN)", "[4 close] socket closed"});
  expect_in_order(r.err, {"[3 send] 14 bytes", "[3 send] 6 bytes: \"salir\\n\"", "[4 close]"});
}

TEST(Trace, TheTcpClientNarratesAFailedConnect) {
  const auto held = hold_tcp_port("127.0.0.1", false);  // bound, not listening: refused
  const auto r = run_enchufe({"connect", "--trace", "127.0.0.1", p(held.port)});
  EXPECT_TRUE(r.exited_with(1)) << r;
  expect_in_order(r.err, {"[1 socket]", "[2 connect] to 127.0.0.1:" + p(held.port), "[2 connect] failed:"});
}

TEST(Trace, TheUdpClientNarratesItsDatagrams) {
  auto server = Server::start("udp-echo");
  const auto port = server.port("udp-echo");
  const auto r = run_enchufe({"connect", "--udp", "--trace", "127.0.0.1", p(port)}, {.input = "hola\n"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco UDP: hola\n");
  expect_in_order(r.err, {"[1 socket] a UDP socket", "[sendto] 4 bytes to 127.0.0.1:" + p(port),
                          "[recvfrom] 13 bytes: \"Eco UDP: hola\""});
}

// ==== --metrics ======================================================================

TEST(Metrics, CountersEqualWhatTheClientsDid) {
  auto server = start_with_metrics("all", {"greet", "echo", "udp-echo", "chat"},
                                   {"--max-connections", "5", "--max-line", "100", "--threads", "2"});
  const auto mp = server.port("metrics");
  const auto echo_port = server.port("echo");

  // Before anything: zeros.
  {
    const auto body = scrape(mp);
    for (const std::string s : {"greet", "echo", "chat", "udp-echo"}) {
      EXPECT_EQ(metric(body, of("enchufe_connections_accepted_total", s)), 0) << s;
      EXPECT_EQ(metric(body, of("enchufe_messages_received_total", s)), 0) << s;
    }
  }

  // greet: two clients, a greeting each.
  std::size_t greet_bytes = 0;
  for (int i = 0; i < 2; ++i) {
    auto g = TcpClient::connect("127.0.0.1", server.port("greet"));
    const auto r = g.recv_until_eof(kIo);
    ASSERT_TRUE(r.complete()) << r;
    greet_bytes += r.data.size();
  }

  // echo: 5 clients at once (the limit) x 10 lines; a 6th is refused.
  std::size_t echo_in = 0, echo_out = 0;
  std::vector<TcpClient> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(TcpClient::connect("127.0.0.1", echo_port));
  for (int round = 0; round < 10; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const std::string line = "cliente " + std::to_string(i) + " línea " + std::to_string(round) + "\n";
      ASSERT_TRUE(clients[i].send_all(line));
      const auto r = clients[i].recv_until("\n", kIo);
      ASSERT_EQ(r.data, "Eco: " + line) << r;
      echo_in += line.size();
      echo_out += r.data.size();
    }
  }
  {
    auto refused = TcpClient::connect("127.0.0.1", echo_port);
    const auto r = refused.recv_until_eof(kIo);
    ASSERT_TRUE(r.complete()) << r;
    ASSERT_EQ(r.data.rfind("error: server full", 0), 0u) << r;
  }
  for (auto& c : clients) {
    ASSERT_TRUE(c.send_all("salir\n"));
    ASSERT_TRUE(c.recv_until_eof(kIo).complete());
    echo_in += 6;
  }
  clients.clear();
  // Slots are free once the server has closed all five.
  scrape_until(mp, of("enchufe_connections_closed_total", "echo"), 5);

  // One line over --max-line: an error line and a close.
  {
    auto c = TcpClient::connect("127.0.0.1", echo_port);
    const std::string long_line = std::string(150, 'x') + "\n";
    ASSERT_TRUE(c.send_all(long_line));
    const auto r = c.recv_until_eof(kIo);
    ASSERT_TRUE(r.complete()) << r;
    ASSERT_EQ(r.data.rfind("error: line too long", 0), 0u) << r;
    echo_in += long_line.size();
    echo_out += r.data.size();
  }
  // One client that resets the connection after a round trip.
  {
    auto c = TcpClient::connect("127.0.0.1", echo_port);
    ASSERT_TRUE(c.send_all("adios\n"));
    const auto r = c.recv_until("\n", kIo);
    ASSERT_EQ(r.data, "Eco: adios\n") << r;
    echo_in += 6;
    echo_out += r.data.size();
    c.reset();
  }

  // udp-echo: three datagrams.
  UdpSocket u;
  std::size_t udp_in = 0, udp_out = 0;
  for (const std::string d : {"uno", "dos", "tres"}) {
    ASSERT_TRUE(u.send_to("127.0.0.1", server.port("udp-echo"), d));
    const auto reply = u.recv(kIo);
    ASSERT_EQ(reply, "Eco UDP: " + d);
    udp_in += d.size();
    udp_out += reply->size();
  }

  scrape_until(mp, of("enchufe_connections_closed_total", "greet"), 2);
  const auto body = scrape_until(mp, of("enchufe_connections_closed_total", "echo"), 7);

  EXPECT_EQ(metric(body, of("enchufe_connections_accepted_total", "greet")), 2);
  EXPECT_EQ(metric(body, of("enchufe_connections_active", "greet")), 0);
  EXPECT_EQ(metric(body, of("enchufe_messages_received_total", "greet")), 0);
  EXPECT_EQ(metric(body, of("enchufe_messages_sent_total", "greet")), 2);
  EXPECT_EQ(metric(body, of("enchufe_bytes_received_total", "greet")), 0);
  EXPECT_EQ(metric(body, of("enchufe_bytes_sent_total", "greet")), greet_bytes);

  EXPECT_EQ(metric(body, of("enchufe_connections_accepted_total", "echo")), 7);
  EXPECT_EQ(metric(body, of("enchufe_connections_refused_total", "echo")), 1);
  EXPECT_EQ(metric(body, of("enchufe_connections_closed_total", "echo")), 7);
  EXPECT_EQ(metric(body, of("enchufe_connections_active", "echo")), 0);
  // 50 lines, 5 "salir", "adios"; the over-long line is refused, not a message.
  EXPECT_EQ(metric(body, of("enchufe_messages_received_total", "echo")), 56);
  // 50 echoes, the error line, "Eco: adios".
  EXPECT_EQ(metric(body, of("enchufe_messages_sent_total", "echo")), 52);
  EXPECT_EQ(metric(body, of("enchufe_bytes_received_total", "echo")), echo_in);
  EXPECT_EQ(metric(body, of("enchufe_bytes_sent_total", "echo")), echo_out);
  EXPECT_EQ(metric(body, error_of("echo", "too_long")), 1);
  EXPECT_EQ(metric(body, error_of("echo", "reset")), 1);
  for (const std::string kind : {"timeout", "flood", "slow_consumer", "other"}) {
    EXPECT_EQ(metric(body, error_of("echo", kind)), 0) << kind;
  }
  // Every read that owed a reply is timed once it is written: one per reply here.
  EXPECT_EQ(metric(body, of("enchufe_reply_latency_seconds_count", "echo")), 52);
  EXPECT_EQ(metric(body, "enchufe_reply_latency_seconds_bucket{service=\"echo\",le=\"+Inf\"}"), 52);
  EXPECT_GT(metric(body, of("enchufe_reply_latency_seconds_sum", "echo")), 0);
  EXPECT_LT(metric(body, of("enchufe_reply_latency_seconds_sum", "echo")), 52 * 1.0);

  EXPECT_EQ(metric(body, of("enchufe_udp_datagrams_received_total", "udp-echo")), 3);
  EXPECT_EQ(metric(body, of("enchufe_udp_datagrams_sent_total", "udp-echo")), 3);
  EXPECT_EQ(metric(body, of("enchufe_udp_datagrams_dropped_total", "udp-echo")), 0);
  EXPECT_EQ(metric(body, of("enchufe_messages_received_total", "udp-echo")), 3);
  EXPECT_EQ(metric(body, of("enchufe_messages_sent_total", "udp-echo")), 3);
  EXPECT_EQ(metric(body, of("enchufe_bytes_received_total", "udp-echo")), udp_in);
  EXPECT_EQ(metric(body, of("enchufe_bytes_sent_total", "udp-echo")), udp_out);
  EXPECT_EQ(metric(body, of("enchufe_connections_accepted_total", "udp-echo")), 0);

  // Nobody used the chat.
  EXPECT_EQ(metric(body, of("enchufe_connections_accepted_total", "chat")), 0);
  EXPECT_EQ(metric(body, "enchufe_chat_rooms"), 0);
  EXPECT_GT(metric(body, "enchufe_uptime_seconds"), 0);

  // The shutdown summary agrees.
  server.stop();
  EXPECT_NE(server.process().stderr_text().find("echo: served 7 connections and 56 messages; " +
                                                std::to_string(echo_in) + " bytes in, " + std::to_string(echo_out) +
                                                " bytes out"),
            std::string::npos)
      << server.process().stderr_text();
}

TEST(Metrics, ChatRoomsAndMembersAreGauges) {
  auto server = start_with_metrics("chat", {"chat"});
  const auto mp = server.port("metrics");
  auto ana = TcpClient::connect("127.0.0.1", server.port("chat"));
  ASSERT_TRUE(ana.send_all("ana\n"));
  ASSERT_TRUE(ana.recv_until("you are ana now\n", kIo).complete());
  auto luis = TcpClient::connect("127.0.0.1", server.port("chat"));
  ASSERT_TRUE(luis.send_all("luis\n"));
  ASSERT_TRUE(luis.recv_until("you are luis now\n", kIo).complete());
  ASSERT_TRUE(luis.send_all("/join dev\n"));
  ASSERT_TRUE(luis.recv_until("dev", kIo).complete());

  auto body = scrape_until(mp, "enchufe_chat_room_members{room=\"dev\"}", 1);
  EXPECT_EQ(metric(body, "enchufe_chat_rooms"), 2);
  EXPECT_EQ(metric(body, "enchufe_chat_room_members{room=\"general\"}"), 1);
  EXPECT_EQ(metric(body, of("enchufe_connections_active", "chat")), 2);

  ASSERT_TRUE(luis.send_all("/quit\n"));
  ASSERT_TRUE(luis.recv_until_eof(kIo).complete());
  body = scrape_until(mp, "enchufe_chat_rooms", 1);
  EXPECT_EQ(body.find("room=\"dev\""), std::string::npos) << "an empty room is gone:\n" << body;
}

TEST(Metrics, ChatHistoryLinesAreCountedOnceWritten) {
  auto server = start_with_metrics("chat", {"chat"}, {"--history-window", "10ms"});
  const auto mp = server.port("metrics");
  auto bob = TcpClient::connect("127.0.0.1", server.port("chat"));
  ASSERT_TRUE(bob.send_all("/ids on\n"));
  ASSERT_TRUE(bob.recv_until("* ids on:", kIo).complete());
  auto ana = TcpClient::connect("127.0.0.1", server.port("chat"));
  ASSERT_TRUE(ana.send_all("ana\nuno\ndos\n/msg guest-1 privado, no se guarda\ntres\n"));
  const auto seen = bob.recv_until("<ana> tres\n", kIo);
  ASSERT_TRUE(seen.complete()) << seen;
  // Every room line has an id and is stored: the last id is how many.
  const auto last = seen.data.rfind("\n#");
  ASSERT_NE(last, std::string::npos) << seen;
  const double lines = std::stod(seen.data.substr(last + 2));
  EXPECT_EQ(lines, 6) << "guest-1 (bob) joined, guest-2 joined, is now known as ana, uno, dos, tres:\n" << seen;
  const auto body = scrape_until(mp, "enchufe_chat_history_stored_total", lines);
  EXPECT_EQ(metric(body, "enchufe_chat_history_not_stored_total"), 0);
  EXPECT_EQ(metric(body, "enchufe_chat_history_waiting"), 0);
  EXPECT_EQ(metric(body, "enchufe_chat_history_failing"), 0);
  EXPECT_NE(body.find("# TYPE enchufe_chat_history_stored_total counter\n"), std::string::npos) << body;
}

TEST(Metrics, ScrapesWhileClientsRunAreConsistentAndEndExact) {
  auto server = start_with_metrics("echo", {"echo"}, {"--threads", "2"});
  const auto mp = server.port("metrics");
  EchoLoadOptions o;
  o.port = server.port("echo");
  o.clients = 40;
  o.round_trips = 500;
  std::atomic<bool> done{false};
  EchoLoadResult result;
  std::thread load([&] {
    result = run_echo_load(o);
    done = true;
  });

  std::map<std::string, double> last;
  const std::vector<std::string> counters = {
      of("enchufe_connections_accepted_total", "echo"), of("enchufe_connections_closed_total", "echo"),
      of("enchufe_messages_received_total", "echo"),    of("enchufe_messages_sent_total", "echo"),
      of("enchufe_bytes_received_total", "echo"),       of("enchufe_bytes_sent_total", "echo"),
      of("enchufe_reply_latency_seconds_count", "echo")};
  int scrapes = 0, scrapes_mid_load = 0;
  while (!done) {
    const auto body = scrape(mp);
    ++scrapes;
    for (const auto& c : counters) {
      const double v = metric(body, c);
      EXPECT_GE(v, last[c]) << c << " went down between scrapes";
      last[c] = v;
    }
    const double accepted = metric(body, counters[0]), closed = metric(body, counters[1]);
    const double active = metric(body, of("enchufe_connections_active", "echo"));
    EXPECT_LE(closed, accepted);
    EXPECT_GE(active, 0);
    EXPECT_LE(active, static_cast<double>(o.clients)) << "active connections beyond the clients there are";
    // The histogram is cumulative and ends at _count.
    double previous_bucket = 0;
    std::istringstream lines(body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("enchufe_reply_latency_seconds_bucket{service=\"echo\"", 0) != 0) continue;
      const double v = std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
      EXPECT_GE(v, previous_bucket) << line;
      previous_bucket = v;
    }
    EXPECT_EQ(previous_bucket, metric(body, counters[6]));
    const double messages = metric(body, counters[2]);
    if (messages > 0 && messages < static_cast<double>(o.clients * o.round_trips)) ++scrapes_mid_load;
    std::this_thread::sleep_for(5ms);
  }
  load.join();
  ASSERT_TRUE(result.all_ok(o)) << result.summary();
  EXPECT_GE(scrapes_mid_load, 1) << "no scrape landed while the clients ran (" << scrapes << " scrapes)";

  const auto total = static_cast<double>(o.clients * o.round_trips);
  const auto body = scrape_until(mp, of("enchufe_connections_closed_total", "echo"), static_cast<double>(o.clients));
  EXPECT_EQ(metric(body, of("enchufe_connections_accepted_total", "echo")), o.clients);
  EXPECT_EQ(metric(body, of("enchufe_connections_active", "echo")), 0);
  EXPECT_EQ(metric(body, of("enchufe_messages_received_total", "echo")), total + o.clients);  // + the quit words
  EXPECT_EQ(metric(body, of("enchufe_messages_sent_total", "echo")), total);
  EXPECT_EQ(metric(body, of("enchufe_reply_latency_seconds_count", "echo")), total);
  double bytes_in = 0, bytes_out = 0;
  for (std::size_t c = 0; c < o.clients; ++c) {
    for (std::size_t r = 0; r < o.round_trips; ++r) {
      const auto line = echo_load_line(c, r);
      bytes_in += static_cast<double>(line.size());
      bytes_out += static_cast<double>(line.size() + o.prefix.size());
    }
    bytes_in += static_cast<double>(o.quit_word.size() + 1);
  }
  EXPECT_EQ(metric(body, of("enchufe_bytes_received_total", "echo")), bytes_in);
  EXPECT_EQ(metric(body, of("enchufe_bytes_sent_total", "echo")), bytes_out);
  for (const std::string kind : {"reset", "timeout", "too_long", "flood", "slow_consumer", "other"}) {
    EXPECT_EQ(metric(body, error_of("echo", kind)), 0) << kind;
  }
}

TEST(Metrics, ActiveConnectionsStaySaneUnderChurn) {
  // Connections accepted on one loop and closed on another, scraped
  // continuously: enchufe_connections_active (accepted minus closed, read
  // loop by loop) must never go negative or wrap around.
  auto server = start_with_metrics("greet", {"greet"}, {"--threads", "2"});
  const auto mp = server.port("metrics");
  const auto port = server.port("greet");
  constexpr int kChurners = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::vector<std::thread> churn;
  for (int i = 0; i < kChurners; ++i) {
    churn.emplace_back([&] {
      while (!stop) {
        auto c = TcpClient::try_connect("127.0.0.1", port, kIo);
        if (c && c->recv_until_eof(kIo).complete()) ++served;
      }
    });
  }
  double worst = 0, least = 0;
  const auto deadline = Clock::now() + 1500ms;
  int scrapes = 0;
  while (Clock::now() < deadline) {
    const auto body = scrape(mp);
    ++scrapes;
    const double active = metric(body, of("enchufe_connections_active", "greet"));
    worst = std::max(worst, active);
    least = std::min(least, active);
  }
  stop = true;
  for (auto& t : churn) t.join();
  EXPECT_GT(served.load(), 10);
  EXPECT_GE(least, 0);
  // Each client's connection lingers briefly on the server after it has read
  // everything, so a few more than kChurners may be open; a wrap-around
  // would show as about 1.8e19.
  EXPECT_LE(worst, 10 * kChurners) << "enchufe_connections_active reached " << worst << " (" << scrapes
                                   << " scrapes, " << served.load() << " connections)";
}

TEST(Metrics, UnknownPathsAndMethodsGetHttpErrors) {
  auto server = start_with_metrics("echo", {"echo"});
  const auto mp = server.port("metrics");
  const auto ask = [&](const std::string& request) {
    auto c = TcpClient::connect("127.0.0.1", mp);
    EXPECT_TRUE(c.send_all(request));
    return c.recv_until_eof(kIo).data;
  };
  EXPECT_EQ(ask("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  const auto post = ask("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos) << post;
  const auto head = ask("HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << "HEAD has no body";
  // HTTP/1.0 closes after the answer by default.
  EXPECT_EQ(ask("GET /metrics?x=1 HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  // A request that is not HTTP gets 400 and a close.
  EXPECT_EQ(ask("hola\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  // Headers past 8 KiB: 431, the connection closed.
  EXPECT_EQ(ask("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(9000, 'x') + "\r\n\r\n")
                .rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0),
            0u);
}

// HTTP/1.1 keeps the connection for the next scrape, as Prometheus expects:
// two requests sent at once get two answers on the same connection.
TEST(Metrics, KeepAliveAnswersPipelinedRequests) {
  auto server = start_with_metrics("echo", {"echo"});
  auto c = TcpClient::connect("127.0.0.1", server.port("metrics"));
  ASSERT_TRUE(c.send_all("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nGET /nothing HTTP/1.1\r\nHost: a\r\n\r\n"));
  const auto first = c.recv_until("HTTP/1.1 404 Not Found\r\n", kIo);
  ASSERT_TRUE(first.complete()) << first;
  EXPECT_EQ(first.data.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << first;
  const auto open = c.recv_for(300ms);
  EXPECT_EQ(open.end, ReadEnd::timeout) << "still open after the second answer: " << open;
}

TEST(Metrics, PromtoolAcceptsTheExposition) {
  const auto promtool = find_promtool();
  // scripts/setup.sh installs it, so in CI a missing promtool is a broken
  // set-up, not a reason to skip.
  if (!promtool && std::getenv("CI") != nullptr) FAIL() << "promtool is not installed: scripts/setup.sh must install prometheus";
  if (!promtool) GTEST_SKIP() << "promtool is not installed (Debian: apt-get install prometheus)";
  auto server = start_with_metrics("all", {"greet", "echo", "udp-echo", "chat"});
  // Some of everything, so every family has samples (chat rooms included).
  auto ana = TcpClient::connect("127.0.0.1", server.port("chat"));
  ASSERT_TRUE(ana.send_all("ana\n"));
  ASSERT_TRUE(ana.recv_until("you are ana now\n", kIo).complete());
  auto e = TcpClient::connect("127.0.0.1", server.port("echo"));
  ASSERT_TRUE(e.send_all("hola\n"));
  ASSERT_TRUE(e.recv_until("\n", kIo).complete());
  UdpSocket u;
  ASSERT_TRUE(u.send_to("127.0.0.1", server.port("udp-echo"), "hola"));
  ASSERT_TRUE(u.recv(kIo));
  const auto body = scrape(server.port("metrics"));
  ASSERT_NE(body.find("enchufe_chat_room_members{room=\"general\"} 1"), std::string::npos) << body;

  Process check(*promtool, {"check", "metrics"});
  ASSERT_TRUE(check.write_stdin(body));
  check.close_stdin();
  const auto status = check.wait_exit(30'000ms);
  ASSERT_TRUE(status) << "promtool did not finish";
  EXPECT_TRUE(status->is_exit_code(0)) << *status << "\nstdout: " << check.stdout_text()
                                       << "\nstderr: " << check.stderr_text() << "\nscrape:\n" << body;
  EXPECT_EQ(check.stderr_text(), "") << "lint problems reported";
}

// ==== --log-format json ===============================================================

TEST(JsonLog, EveryStderrLineIsAnObjectWithTheSchema) {
  auto server = start_with_metrics("all", {"greet", "echo", "udp-echo", "chat"},
                                   {"--log-format", "json", "--verbose", "--trace", "--max-connections", "1",
                                    "--max-line", "100"});
  // Connected, messages with bytes that need escaping, a refusal, a too-long
  // line, a reset, UDP, chat, a scrape; then a shutdown for the summary.
  {
    auto c = TcpClient::connect("127.0.0.1", server.port("echo"));
    ASSERT_TRUE(c.send_all("comillas \" barra \\ tab \t control \x01 \x7f ñ ¿qué?\n"));
    ASSERT_TRUE(c.recv_until("\n", kIo).complete());
    auto refused = TcpClient::connect("127.0.0.1", server.port("echo"));
    ASSERT_TRUE(refused.recv_until_eof(kIo).complete());
    c.reset();
  }
  scrape_until(server.port("metrics"), of("enchufe_connections_closed_total", "echo"), 1);
  {
    auto c = TcpClient::connect("127.0.0.1", server.port("echo"));
    ASSERT_TRUE(c.send_all(std::string(200, 'x') + "\n"));
    ASSERT_TRUE(c.recv_until_eof(kIo).complete());
  }
  UdpSocket u;
  ASSERT_TRUE(u.send_to("127.0.0.1", server.port("udp-echo"), "hola\r\n"));
  ASSERT_TRUE(u.recv(kIo));
  {
    auto c = TcpClient::connect("127.0.0.1", server.port("chat"));
    ASSERT_TRUE(c.send_all("ana\nhola \"todos\"\n/quit\n"));
    ASSERT_TRUE(c.recv_until_eof(kIo).complete());
  }
  {
    auto g = TcpClient::connect("127.0.0.1", server.port("greet"));
    ASSERT_TRUE(g.recv_until_eof(kIo).complete());
  }
  scrape_until(server.port("metrics"), of("enchufe_connections_closed_total", "greet"), 1);
  ASSERT_TRUE(server.stop());

  const auto lines = split_lines(server.process().stderr_text());
  ASSERT_GT(lines.size(), 20u);
  static const std::regex iso_utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");
  std::map<std::string, int> events;
  for (const auto& line : lines) {
    SCOPED_TRACE(line);
    JsonParser parser(line);
    const auto doc = parser.parse_document();
    ASSERT_TRUE(doc) << parser.error();
    ASSERT_TRUE(std::holds_alternative<JsonObject>(doc->value)) << "not an object";
    const auto& o = std::get<JsonObject>(doc->value);
    const auto string_field = [&](const std::string& name) -> std::string {
      const auto it = o.find(name);
      if (it == o.end() || !it->second.is_string()) {
        ADD_FAILURE() << "no string \"" << name << "\"";
        return {};
      }
      return it->second.str();
    };
    EXPECT_TRUE(std::regex_match(string_field("time"), iso_utc)) << string_field("time");
    const auto level = string_field("level");
    EXPECT_TRUE(level == "error" || level == "warning" || level == "info" || level == "debug") << level;
    const auto event = string_field("event");
    EXPECT_FALSE(event.empty());
    string_field("message");
    ++events[event];
    // Connection events name the service, the connection and the peer.
    const bool about_a_connection =
        o.count("connection") != 0 || event == "connected" || event == "closed" || event == "received";
    if (about_a_connection) {
      string_field("service");
      string_field("peer");
      ASSERT_TRUE(o.count("connection") && o.at("connection").is_number()) << "no numeric \"connection\"";
      const double id = o.at("connection").num();
      EXPECT_GE(id, 1);
      EXPECT_EQ(id, std::floor(id));
    }
    if (event == "refused") {
      string_field("service");
      string_field("peer");
    }
    if (o.count("service")) {
      const auto s = string_field("service");
      EXPECT_TRUE(s == "greet" || s == "echo" || s == "chat" || s == "udp-echo" || s == "metrics" ||
                  s == "chat-web" || s == "echo-ws" || s == "greet-ws")
          << s;
    }
  }
  for (const char* e : {"connected", "closed", "trace", "refused", "received", "summary", "note"}) {
    EXPECT_GT(events[e], 0) << "no \"" << e << "\" event in the log";
  }
  // Escaping survived the round trip: the odd line is in a message.
  const auto err = server.process().stderr_text();
  EXPECT_NE(err.find(R"(comillas \\\" barra \\\\ tab \\t control \\x01 \\x7f ñ ¿qué?)"), std::string::npos) << err;
}

// ==== enchufe stats ======================================================================

TEST(Stats, PlainOutputShowsServicesRatesAndTotals) {
  auto server = start_with_metrics("all", {"greet", "echo", "udp-echo", "chat"});
  const auto mp = server.port("metrics");
  // Known work: 3 echo clients x 4 lines; 2 datagrams; a chat member who stays.
  std::size_t echo_in = 0, echo_out = 0;
  for (int i = 0; i < 3; ++i) {
    auto c = TcpClient::connect("127.0.0.1", server.port("echo"));
    for (int j = 0; j < 4; ++j) {
      const std::string line = "linea " + std::to_string(j) + "\n";
      ASSERT_TRUE(c.send_all(line));
      ASSERT_EQ(c.recv_until("\n", kIo).data, "Eco: " + line);
      echo_in += line.size();
      echo_out += line.size() + 5;
    }
    ASSERT_TRUE(c.send_all("salir\n"));
    ASSERT_TRUE(c.recv_until_eof(kIo).complete());
    echo_in += 6;
  }
  UdpSocket u;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(u.send_to("127.0.0.1", server.port("udp-echo"), "hola"));
    ASSERT_TRUE(u.recv(kIo));
  }
  auto ana = TcpClient::connect("127.0.0.1", server.port("chat"));
  ASSERT_TRUE(ana.send_all("ana\n"));
  ASSERT_TRUE(ana.recv_until("you are ana now\n", kIo).complete());
  scrape_until(mp, of("enchufe_connections_closed_total", "echo"), 3);

  const auto r = run_enchufe({"stats", "127.0.0.1:" + p(mp), "--count", "2", "--interval", "0.3"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no terminal codes into a pipe";
  EXPECT_GE(r.elapsed, 250ms);
  const auto lines = split_lines(r.out);

  // Two blocks: the first averages since the start, the second the interval.
  const auto count_of = [&](const std::string& prefix) {
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  };
  EXPECT_EQ(count_of("enchufe stats: http://127.0.0.1:" + p(mp) + "/metrics at "), 2) << r.out;
  EXPECT_EQ(count_of("per second: averages since the server started"), 1) << r.out;
  EXPECT_EQ(count_of("per second over the last 0."), 1) << r.out;
  EXPECT_EQ(count_of("service "), 2) << r.out;
  EXPECT_EQ(count_of("totals "), 2) << r.out;
  EXPECT_EQ(count_of("chat: 1 room; members: general 1"), 2) << r.out;

  // Rows split into words; the last block's are checked.
  std::map<std::string, std::vector<std::string>> rate_rows, total_rows;
  std::map<std::string, std::vector<std::string>>* table = nullptr;
  for (const auto& line : lines) {
    std::istringstream words(line);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    if (w.empty()) {
      table = nullptr;
    } else if (w[0] == "service") {
      table = &rate_rows;
    } else if (w[0] == "totals") {
      table = &total_rows;
    } else if (table) {
      (*table)[w[0]] = w;
    }
  }
  for (const std::string s : {"greet", "echo", "chat", "udp-echo"}) {
    ASSERT_TRUE(rate_rows.count(s)) << s << " has no rate row\n" << r.out;
    ASSERT_TRUE(total_rows.count(s)) << s << " has no totals row\n" << r.out;
    EXPECT_EQ(rate_rows[s].size(), 10u) << r.out;
    EXPECT_EQ(total_rows[s].size(), 8u) << r.out;
  }
  // totals: accepted refused msgs-in msgs-out bytes-in bytes-out errors
  EXPECT_EQ(total_rows["echo"], (std::vector<std::string>{"echo", "3", "0", "15", "12", std::to_string(echo_in),
                                                          std::to_string(echo_out), "0"}))
      << r.out;
  EXPECT_EQ(total_rows["udp-echo"], (std::vector<std::string>{"udp-echo", "-", "-", "2", "2", "8", "26", "0"}))
      << r.out;
  EXPECT_EQ(total_rows["chat"][1], "1") << r.out;
  EXPECT_EQ(total_rows["greet"][1], "0") << r.out;
  // rates: conn/s active msg-in/s msg-out/s B-in/s B-out/s errors p50 p99;
  // nothing happened during the interval, and ana is still connected.
  EXPECT_EQ(rate_rows["echo"], (std::vector<std::string>{"echo", "0", "0", "0", "0", "0", "0", "0", "-", "-"}))
      << r.out;
  EXPECT_EQ(rate_rows["chat"][2], "1") << r.out;
  EXPECT_EQ(rate_rows["udp-echo"][1], "-") << r.out;
}

TEST(Stats, HostAndPortAsTwoArguments) {
  auto server = start_with_metrics("echo", {"echo"});
  const auto r = run_enchufe({"stats", "127.0.0.1", p(server.port("metrics")), "--count", "1"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_NE(r.out.find("\necho "), std::string::npos) << r.out;
}

TEST(Stats, AnUnreachableEndpointIsAClearErrorAndExit1) {
  const auto held = hold_tcp_port("127.0.0.1", false);  // refuses connections
  const auto r = run_enchufe({"stats", "127.0.0.1:" + p(held.port), "--count", "1"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("enchufe: cannot reach http://127.0.0.1:" + p(held.port) + "/metrics"), std::string::npos)
      << r;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r;
  EXPECT_LT(r.elapsed, 3000ms);
}

TEST(Stats, ASilentEndpointTimesOut) {
  const auto held = hold_tcp_port("127.0.0.1", true);  // accepts in the kernel, never answers
  const auto r = run_enchufe({"stats", "127.0.0.1:" + p(held.port), "--timeout", "0.3"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_NE(r.err.find("timed out after 0.3 s"), std::string::npos) << r;
}

TEST(Stats, SomethingThatIsNotMetricsIsAnError) {
  auto server = Server::start("greet");  // answers with a greeting, not HTTP
  const auto r = run_enchufe({"stats", "127.0.0.1:" + p(server.port("greet")), "--count", "1"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_NE(r.err.find("not an HTTP answer"), std::string::npos) << r;
}

TEST(Stats, UsageErrorsExit2) {
  EXPECT_TRUE(run_enchufe({"stats"}).exited_with(2));
  EXPECT_TRUE(run_enchufe({"stats", "localhost"}).exited_with(2));  // no port
  EXPECT_TRUE(run_enchufe({"stats", "localhost:0"}).exited_with(2));
  EXPECT_TRUE(run_enchufe({"stats", "localhost:9100", "--interval", "0"}).exited_with(2));
  const auto help = run_enchufe({"stats", "--help"});
  EXPECT_TRUE(help.exited_with(0)) << help;
  EXPECT_NE(help.out.find("--count"), std::string::npos);
}
