// `enchufe serve ...` as a whole: the listening lines, `serve all` and its
// options, logging flags, threads, signals.

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <string>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;
const std::string kGreeting = "Hola, cliente. Bienvenido al servidor enchufe!";

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

std::string greet_once(const Server& server) {
  auto client = TcpClient::connect(server.host("greet"), server.port("greet"));
  auto r = client.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  return r.data;
}

std::string echo_once(const Server& server, const std::string& line, const std::string& expected_end = "\n") {
  auto client = TcpClient::connect(server.host("echo"), server.port("echo"));
  EXPECT_TRUE(client.send_all(line));
  auto r = client.recv_until(expected_end, kIo);
  EXPECT_TRUE(r.complete()) << r;
  return r.data;
}

std::optional<std::string> udp_once(const Server& server, const std::string& datagram) {
  UdpSocket socket(server.host("udp-echo"));
  EXPECT_TRUE(socket.send_to(server.host("udp-echo"), server.port("udp-echo"), datagram));
  return socket.recv(kIo);
}

}  // namespace

TEST(ServeAll, PrintsAListeningLinePerServiceOnStdout) {
  auto server = Server::start("all");
  const auto lines = split_lines(server.process().stdout_text());
  ASSERT_EQ(lines.size(), 6u) << server.process().diagnostics();
  std::set<std::string> seen;
  for (const auto& line : lines) {
    const auto l = parse_listening_line(line);
    ASSERT_TRUE(l) << "not a listening line: " << line;
    EXPECT_EQ(l->host, "127.0.0.1") << line;
    // The web doors: the chat's page (http) and the echo over WebSocket (ws).
    const bool web = (l->service == "chat" && l->proto == "http") || (l->service == "echo" && l->proto == "ws");
    EXPECT_EQ(l->proto, l->service == "udp-echo" ? "udp" : web ? l->proto : "tcp") << line;
    EXPECT_NE(l->port, 0) << line;
    seen.insert(l->service);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"greet", "echo", "udp-echo", "chat"}));
  // A listening line is exactly "listening: SERVICE PROTO ADDR:PORT".
  EXPECT_EQ(lines[0].rfind("listening: ", 0), 0u);
  EXPECT_EQ(lines[0], "listening: " + server.listening()[0].service + " " + server.listening()[0].proto +
                          " 127.0.0.1:" + std::to_string(server.listening()[0].port));
  EXPECT_NE(server.port("greet"), server.port("echo"));
}

TEST(ServeAll, EveryServiceAnswersOnItsPort) {
  auto server = Server::start("all");
  EXPECT_EQ(greet_once(server), kGreeting);
  EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
  EXPECT_EQ(udp_once(server, "hola"), "Eco UDP: hola");
  EXPECT_EQ(server.stop(), (ExitStatus{ExitStatus::Kind::exited, 0})) << server.process().diagnostics();
}

TEST(ServeAll, DefaultHostPrintsALineForEveryService) {
  ServerOptions options;
  options.host.clear();  // the default, "localhost"
  auto server = Server::start("all", {}, options);
  for (const auto& l : server.listening()) {
    EXPECT_TRUE(l.host == "127.0.0.1" || l.host == "::1") << "localhost should mean loopback, got " << l.host;
  }
  EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
}

TEST(ServeAll, SeparatePortOptions) {
  ServerOptions options;
  options.port_zero = false;
  // The echo's WebSocket keeps its default (8081) unless --port 0 or its own
  // option says otherwise: a test must not take a fixed port.
  auto server = Server::start("all",
                              {"--greet-port", "0", "--echo-port", "0", "--udp-port", "0", "--chat-port", "0",
                               "--echo-web-port", "0"},
                              options);
  EXPECT_EQ(server.listening().size(), 6u) << "the chat's web door takes a free port too: "
                                           << server.process().diagnostics();
  EXPECT_NE(server.web_port(), 8080);
  EXPECT_NE(server.ws_port("echo"), 8081);
  EXPECT_EQ(greet_once(server), kGreeting);
  EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
  EXPECT_EQ(udp_once(server, "hola"), "Eco UDP: hola");
}

TEST(ServeAll, ServiceOptions) {
  auto server = Server::start("all", {"--message", "Hi there", "--echo-prefix", "E> ", "--udp-prefix", "U> ",
                                      "--quit-word", "adios"});
  EXPECT_EQ(greet_once(server), "Hi there");
  EXPECT_EQ(echo_once(server, "hola\n"), "E> hola\n");
  EXPECT_EQ(echo_once(server, "salir\n"), "E> salir\n") << "salir is not the quit word any more";
  EXPECT_EQ(udp_once(server, "hola"), "U> hola");

  // The quit word applies to both echo servers.
  auto client = TcpClient::connect("127.0.0.1", server.port("echo"));
  ASSERT_TRUE(client.send_all("ADIOS\n"));
  const auto r = client.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "");

  UdpSocket socket;
  ASSERT_TRUE(socket.send_to("127.0.0.1", server.port("udp-echo"), "adios"));
  EXPECT_EQ(socket.recv(300ms), std::nullopt);
  ASSERT_TRUE(socket.send_to("127.0.0.1", server.port("udp-echo"), "otra"));
  EXPECT_EQ(socket.recv(kIo), "U> otra");
}

TEST(Serve, Ipv6ListeningLineUsesBrackets) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  ServerOptions options;
  options.host = "::1";
  auto server = Server::start("echo", {}, options);
  const auto line = split_lines(server.process().stdout_text()).at(0);
  EXPECT_EQ(line, "listening: echo tcp [::1]:" + std::to_string(server.port("echo")));
  EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
}

TEST(Serve, StdoutHasOnlyListeningLinesAndLogsGoToStderr) {
  auto server = Server::start("echo");
  EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
  ASSERT_TRUE(server.process().wait_stderr_contains("closed", kIo)) << server.process().diagnostics();
  EXPECT_EQ(server.stop(), (ExitStatus{ExitStatus::Kind::exited, 0})) << server.process().diagnostics();
  for (const auto& line : split_lines(server.process().stdout_text())) {
    EXPECT_TRUE(parse_listening_line(line)) << "unexpected stdout line: " << line;
  }
  EXPECT_TRUE(contains(server.process().stderr_text(), "connected")) << server.process().diagnostics();
}

TEST(Serve, QuietLogsNoConnections) {
  auto server = Server::start("echo", {"-q"});
  EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
  EXPECT_EQ(server.stop(), (ExitStatus{ExitStatus::Kind::exited, 0}));
  const auto err = server.process().stderr_text();
  EXPECT_FALSE(contains(err, "connected")) << err;
  EXPECT_FALSE(contains(err, "closed")) << err;
}

TEST(Serve, VerboseLogsMessages) {
  auto server = Server::start("echo", {"-v"});
  EXPECT_EQ(echo_once(server, "mensaje secreto\n"), "Eco: mensaje secreto\n");
  EXPECT_TRUE(server.process().wait_stderr_contains("mensaje secreto", kIo)) << server.process().diagnostics();
}

TEST(Serve, QuietAndVerboseExcludeEachOther) {
  const auto r = run_enchufe({"serve", "echo", "--port", "0", "-q", "-v"});
  EXPECT_TRUE(r.exited_with(2)) << r;
}

TEST(Serve, OneThread) {
  auto server = Server::start("all", {"--threads", "1"});
  EXPECT_EQ(greet_once(server), kGreeting);
  EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
  EXPECT_EQ(udp_once(server, "hola"), "Eco UDP: hola");
  EXPECT_TRUE(contains(server.process().stderr_text(), "1 thread")) << server.process().diagnostics();
}

TEST(Serve, ManyThreads) {
  auto server = Server::start("echo", {"--threads", "8"});
  for (int i = 0; i < 16; ++i) EXPECT_EQ(echo_once(server, "hola\n"), "Eco: hola\n");
}

TEST(Serve, SigintExitsZero) {
  auto server = Server::start("all");
  ASSERT_TRUE(server.process().send_signal(SIGINT));
  const auto status = server.process().wait_exit(2000ms);
  ASSERT_TRUE(status) << "did not exit within 2 s of SIGINT\n" << server.process().diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << server.process().diagnostics();
}

TEST(Serve, SigtermExitsZeroForEveryService) {
  for (const std::string service : {"greet", "echo", "udp-echo", "all"}) {
    auto server = Server::start(service);
    ASSERT_TRUE(server.process().send_signal(SIGTERM));
    const auto status = server.process().wait_exit(2000ms);
    ASSERT_TRUE(status) << service << " did not exit within 2 s of SIGTERM\n" << server.process().diagnostics();
    EXPECT_TRUE(status->is_exit_code(0)) << server.process().diagnostics();
  }
}
