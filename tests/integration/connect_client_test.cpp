// `enchufe connect`: the tutorial's clients, against the real servers.

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

using namespace enchufe::test;

namespace {

constexpr auto kRun = 10'000ms;
constexpr auto kIo = 5000ms;  // one read by the test's own server
const std::string kGreeting = "Hola, cliente. Bienvenido al servidor enchufe!";

RunResult connect_with(const std::vector<std::string>& args, const std::string& input, bool close_stdin = true) {
  std::vector<std::string> full{"connect"};
  full.insert(full.end(), args.begin(), args.end());
  return run_enchufe(full, RunOptions{input, close_stdin, kRun});
}

class ConnectTcp : public ::testing::Test {
 protected:
  void SetUp() override { server_.emplace(Server::start("all")); }
  std::string port(const std::string& service) { return std::to_string(server_->port(service)); }
  std::optional<Server> server_;
};

}  // namespace

TEST_F(ConnectTcp, PipedLinesThenSalir) {
  const auto r = connect_with({"127.0.0.1", port("echo")}, "hola\nsalir\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\n") << r;
}

// With stdin left open, "salir" alone must end the client.
TEST_F(ConnectTcp, SalirEndsTheClientEvenWithStdinOpen) {
  const auto r = connect_with({"127.0.0.1", port("echo")}, "hola\nsalir\n", /*close_stdin=*/false);
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\n") << r;
}

TEST_F(ConnectTcp, SalirAsTheLastLineWithoutNewline) {
  const auto r = connect_with({"127.0.0.1", port("echo")}, "hola\nsalir");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\n") << r;
}

TEST_F(ConnectTcp, EndOfInputWaitsForEveryReply) {
  const auto r = connect_with({"127.0.0.1", port("echo")}, "uno\ndos\ntres");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: uno\nEco: dos\nEco: tres\n") << "a last line without newline is still a line\n" << r;
}

TEST_F(ConnectTcp, ManyLines) {
  std::string input, expected;
  for (int i = 0; i < 500; ++i) {
    input += "linea " + std::to_string(i) + "\n";
    expected += "Eco: linea " + std::to_string(i) + "\n";
  }
  const auto r = connect_with({"127.0.0.1", port("echo")}, input);
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_TRUE(r.out == expected) << r;
}

TEST_F(ConnectTcp, CrlfMakesTheServerReplyWithCrlf) {
  const auto r = connect_with({"--crlf", "127.0.0.1", port("echo")}, "hola\nsalir\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\r\n") << r;
}

TEST_F(ConnectTcp, RawSendsWithoutTerminator) {
  const auto r = connect_with({"--raw", "127.0.0.1", port("echo")}, "hola\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola") << "the server saw no terminator, so its reply has none\n" << r;
}

TEST_F(ConnectTcp, HostColonPortForm) {
  const auto r = connect_with({"127.0.0.1:" + port("echo")}, "hola\nsalir\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\n") << r;
}

TEST_F(ConnectTcp, GreetingIsPrintedExactly) {
  // stdin stays open: the server closing is what ends the client.
  const auto r = connect_with({"127.0.0.1", port("greet")}, "", /*close_stdin=*/false);
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, kGreeting) << r;
}

TEST_F(ConnectTcp, GreetingWithStdinClosed) {
  const auto r = connect_with({"127.0.0.1:" + port("greet")}, "");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, kGreeting) << r;
}

TEST_F(ConnectTcp, QuietOnStderrWhenPipedUnlessVerbose) {
  const auto quiet = connect_with({"127.0.0.1", port("echo")}, "hola\nsalir\n");
  EXPECT_EQ(quiet.err, "") << quiet;
  const auto verbose = connect_with({"-v", "127.0.0.1", port("echo")}, "hola\n");
  EXPECT_TRUE(verbose.exited_with(0)) << verbose;
  EXPECT_EQ(verbose.out, "Eco: hola\n") << verbose;
  EXPECT_NE(verbose.err, "") << "status lines with -v\n" << verbose;
}

TEST(Connect, Ipv6Forms) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  ServerOptions options;
  options.host = "::1";
  auto server = Server::start("echo", {}, options);
  const auto port = std::to_string(server.port("echo"));
  for (const auto& args : std::vector<std::vector<std::string>>{{"[::1]:" + port}, {"::1", port}, {"[::1]", port}}) {
    const auto r = connect_with(args, "hola\nsalir\n");
    EXPECT_TRUE(r.exited_with(0)) << r;
    EXPECT_EQ(r.out, "Eco: hola\n") << r;
  }
}

TEST(Connect, ConnectionRefusedExitsOne) {
  const auto held = hold_tcp_port("127.0.0.1", /*listen=*/false);  // bound, not listening: refused
  const auto r = connect_with({"127.0.0.1", std::to_string(held.port)}, "hola\n");
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_NE(r.err, "") << "a message on stderr\n" << r;
  EXPECT_NE(r.err.find(std::to_string(held.port)), std::string::npos) << "the message names the port\n" << r;
}

TEST(Connect, ServerClosingMidSessionEndsTheClient) {
  auto server = Server::start("echo", {"--max-line", "8"});
  const auto r = connect_with({"127.0.0.1", std::to_string(server.port("echo"))}, "hola\nesta linea es muy larga\n",
                              /*close_stdin=*/false);
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out.rfind("Eco: hola\nerror:", 0), 0u) << r;
}

// The client itself leaves on "salir": here the server never closes (unlike
// ours), so only the client's own quit word can end the run. It sends
// nothing after "salir", half-closes, and gives the server at most its short
// grace (2 s) to answer before it leaves, stdin still open.
TEST(Connect, SalirEndsTheClientWhenTheServerNeverCloses) {
  const auto listener = hold_tcp_port("127.0.0.1");
  std::atomic<bool> client_done{false};
  ReadResult heard;
  std::thread server([&] {
    pollfd p{listener.fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return;
    TcpClient peer{Fd(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC))};
    heard = peer.recv_until("hola\n", kIo);
    if (!heard.complete() || !peer.send_all("Eco: hola\n")) return;
    auto rest = peer.recv_until_eof(kIo);  // "salir\n", then the client's half-close
    heard.data += rest.data;
    heard.end = rest.end;
    for (int i = 0; i < 500 && !client_done.load(); ++i) std::this_thread::sleep_for(10ms);  // never closes first
  });
  const auto r = connect_with({"127.0.0.1", std::to_string(listener.port)}, "hola\nsalir\nnunca\n",
                              /*close_stdin=*/false);
  client_done = true;
  server.join();
  EXPECT_TRUE(r.exited_with(0)) << "the client must leave by itself after salir\n" << r;
  EXPECT_LT(r.elapsed, 4000ms) << "salir's grace is 2 s\n" << r;
  EXPECT_EQ(r.out, "Eco: hola\n") << r;
  EXPECT_EQ(heard.data, "hola\nsalir\n") << "nothing after the quit word\n" << heard;
  EXPECT_TRUE(heard.complete()) << "the client half-closes after salir\n" << heard;
}

// ---- UDP ----------------------------------------------------------------------

TEST(ConnectUdp, OneDatagramPerLine) {
  auto server = Server::start("udp-echo");
  const auto port = std::to_string(server.port("udp-echo"));
  const auto r = connect_with({"--udp", "127.0.0.1", port}, "hola\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco UDP: hola\n") << r;

  const auto many = connect_with({"--udp", "127.0.0.1:" + port}, "uno\ndos\n\ntres\nsalir\ncuatro\n");
  EXPECT_TRUE(many.exited_with(0)) << many;
  EXPECT_EQ(many.out, "Eco UDP: uno\nEco UDP: dos\nEco UDP: \nEco UDP: tres\n")
      << "one reply line per line, none for salir, nothing after it\n" << many;
}

TEST(ConnectUdp, Ipv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  ServerOptions options;
  options.host = "::1";
  auto server = Server::start("udp-echo", {}, options);
  const auto r = connect_with({"--udp", "[::1]:" + std::to_string(server.port("udp-echo"))}, "hola\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco UDP: hola\n") << r;
}

TEST(ConnectUdp, NoServerExitsOneWithinThreeSeconds) {
  std::uint16_t port;
  {
    UdpSocket gone;  // a port that was free a moment ago, and is closed again
    port = gone.local_port();
  }
  const auto r = connect_with({"--udp", "127.0.0.1", std::to_string(port)}, "hola\n");
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_NE(r.err, "") << r;
  EXPECT_LE(r.elapsed, 3500ms) << r;
}

// A server that takes the datagram but never answers: the reply timeout.
TEST(ConnectUdp, SilentServerTimesOut) {
  const auto held = hold_udp_port("127.0.0.1");
  const auto r = connect_with({"--udp", "127.0.0.1", std::to_string(held.port)}, "hola\n");
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_NE(r.err, "") << r;
  EXPECT_LE(r.elapsed, 3500ms) << "the default reply timeout is 2 s\n" << r;

  const auto fast = connect_with({"--udp", "--timeout", "0.3", "127.0.0.1", std::to_string(held.port)}, "hola\n");
  EXPECT_TRUE(fast.exited_with(1)) << fast;
  EXPECT_LE(fast.elapsed, 1500ms) << fast;
}

// "localhost" may resolve to ::1 first; the client tries every address.
TEST_F(ConnectTcp, LocalhostName) {
  const auto r = connect_with({"localhost", port("echo")}, "hola\nsalir\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\n") << r;
}

TEST_F(ConnectTcp, UdpToLocalhostName) {
  const auto r = connect_with({"--udp", "localhost:" + port("udp-echo")}, "hola\n");
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco UDP: hola\n") << r;
}
