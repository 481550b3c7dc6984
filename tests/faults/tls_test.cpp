// TLS faults (`--tls-self-signed`): handshakes that stall, carry garbage or
// plaintext, or end in a reset; a TLS client on the plaintext port; TLS
// clients that never read; a record cut in half; SIGTERM with handshakes
// pending. The client (tls_client.hpp) is OpenSSL on memory BIOs, its bytes
// carried by a TcpClient, so a case can stop after any flight, put any bytes
// on the wire and see every byte the server sent.

#include "fault_support.hpp"
#include "tls_client.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

// A handshake, then `line` -> "Eco: line": "" if all went right, else what
// did not.
std::string echo_over(TlsClient& c, const std::string& line) {
  if (const auto why = c.handshake(kIo); !why.empty()) return "handshake failed: " + why;
  if (!c.send(line)) return "send failed: " + std::string(std::strerror(c.tcp().last_error()));
  const auto r = c.recv_until("\n", kIo);
  if (!r.complete() || r.data != "Eco: " + line) return "expected \"Eco: " + escape(line) + "\", got " + r.describe();
  return {};
}

// A well-behaved TLS client: each round a new connection, a whole handshake,
// "steady N\n" -> "Eco: steady N\n", close_notify. So "served promptly" means
// new handshakes too, not only a session set up before the fault.
std::unique_ptr<Steady> steady_tls(std::uint16_t port) {
  auto n = std::make_shared<std::size_t>(0);
  return std::make_unique<Steady>("steady TLS echo client", 50ms, [port, n](std::string& error, std::size_t&) {
    auto c = TlsClient::try_connect(port, error);
    if (!c) return false;
    error = echo_over(*c, "steady " + std::to_string(++*n) + "\n");
    c->close();
    return error.empty();
  });
}

const std::vector<std::string> kTlsEcho = {"--tls-self-signed"};

}  // namespace

// 300 handshakes that stall (silent, or half a ClientHello) with
// --tls-handshake-timeout 2: new TLS clients are served meanwhile; at the
// timeout, not before, each stalled one is closed without a word and
// logged; and their slots under --max-connections come back: 320 clients
// fit again, the 321st is refused.
TEST(Tls, StalledHandshakesAreCutAtTheTimeoutWhileOthersAreServed) {
  raise_fd_limit();
  constexpr std::size_t kStalled = 300;
  constexpr std::size_t kLimit = 320;
  auto server = FaultServer::start(
      "echo", {"--tls-self-signed", "--tls-handshake-timeout", "2", "--max-connections", std::to_string(kLimit)});
  auto steady = steady_tls(server.tls_port());
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  expect_stalled_handshakes_cut(server, server.tls_port(), *steady, kStalled);

  // Every slot is free again. The steady client stops first, so that the
  // count is exact: 319 plaintext clients and one TLS client fit.
  steady->stop();
  std::vector<TcpClient> crowd;
  std::size_t served = 0;
  for (std::size_t i = 0; i + 1 < kLimit; ++i) {
    crowd.push_back(TcpClient::connect("127.0.0.1", server.port()));
    if (crowd.back().send_all("x\n") && crowd.back().recv_until("\n", kIo).data == "Eco: x\n") ++served;
  }
  EXPECT_EQ(served, kLimit - 1) << server.diagnostics();
  EXPECT_EQ(server.stderr_count("(--max-connections)"), 0u) << server.diagnostics();
  // The last slot. The steady client's last connection may still be
  // closing (and so refuse this one): retry briefly.
  std::optional<TlsClient> last;
  std::string why;
  for (const auto until = Clock::now() + kIo; !last && Clock::now() < until;) {
    auto c = TlsClient::connect(server.tls_port());
    why = echo_over(c, "ultimo\n");
    if (why.empty()) {
      last.emplace(std::move(c));
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(last) << "client " << kLimit << ": " << why << "\n" << server.diagnostics();
  // And the limit is really there: the next one is refused.
  auto extra = TcpClient::connect("127.0.0.1", server.port());
  EXPECT_TRUE(server.wait_stderr_line(
      {"refused " + peer(extra.local_port()), "already " + std::to_string(kLimit) + " connections"}, kIo))
      << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 24 * 1024);
}

// Bytes that open like a TLS handshake record, then junk: the handshake
// fails at once (not at the timeout), with its reason in the log.
TEST(Tls, GarbageInAHandshakeRecordFailsTheHandshakeAtOnce) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto steady = steady_tls(server.tls_port());
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  // Record type 22 (handshake), version 3.1, a 16-bit length, the body.
  const auto record = [](std::string_view body, std::size_t declared) {
    std::string r = "\x16\x03\x01";
    r += static_cast<char>(declared >> 8);
    r += static_cast<char>(declared & 0xff);
    return r + std::string(body);
  };
  const std::string junk = random_bytes(512, 22);
  // A ClientHello's own header (type 1, a 24-bit length) with junk inside.
  const std::string hello_of_junk = std::string("\x01\x00\x02\x00", 4) + junk;
  const std::vector<std::pair<std::string, std::string>> garbage = {
      {"junk in a handshake record", record(junk, junk.size())},
      {"a record longer than TLS allows", record(junk, 0xffff)},
      {"a ClientHello of junk", record(hello_of_junk, hello_of_junk.size())},
  };
  for (const auto& [name, bytes] : garbage) {
    SCOPED_TRACE(name);
    auto c = TcpClient::connect("127.0.0.1", server.tls_port());
    const auto began = Clock::now();
    ASSERT_TRUE(c.send_all(bytes));
    const auto r = c.recv_until_eof(kIo);
    const auto took = std::chrono::duration_cast<Duration>(Clock::now() - began);
    // An alert may come first; a reset if our junk was left unread.
    EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r.describe();
    EXPECT_LT(took, 3000ms) << "not closed at once (the timeout is 10 s)";
    const auto line = server.wait_stderr_line({peer(c.local_port()) + ": TLS handshake failed: "}, kIo);
    EXPECT_TRUE(line) << server.diagnostics();
    report_figure(name, "closed after " + std::to_string(took.count()) + " ms; " + line.value_or("no log line"));
  }
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// A person typing, or a browser's plain HTTP, on the TLS port: closed at
// once, and the log says what it sent instead of OpenSSL's "wrong version
// number".
TEST(Tls, PlaintextOnTheTlsPortIsRefusedWithAPreview) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto steady = steady_tls(server.tls_port());
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  // What was sent, and how the log's preview shows it (16 bytes at most).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hola\n", "hola\\n"},
      {"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "GET / HTTP/1.1\\r\\n"},
  };
  for (const auto& [bytes, shown] : cases) {
    SCOPED_TRACE(escape(bytes));
    auto c = TcpClient::connect("127.0.0.1", server.tls_port());
    const auto began = Clock::now();
    ASSERT_TRUE(c.send_all(bytes));
    const auto r = c.recv_until_eof(kIo);
    const auto took = std::chrono::duration_cast<Duration>(Clock::now() - began);
    EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r.describe();
    EXPECT_EQ(r.data, "") << "nothing is sent back";
    EXPECT_LT(took, 3000ms);
    const auto line = server.wait_stderr_line(
        {peer(c.local_port()) + ": the client does not speak TLS: it sent plaintext to a TLS port", shown}, kIo);
    EXPECT_TRUE(line) << server.diagnostics();
    report_figure("plaintext " + escape(bytes, 8), r.describe() + " after " + std::to_string(took.count()) +
                                                       " ms; " + line.value_or("no log line"));
  }
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// A TLS client on the plaintext port: its ClientHello is not echoed back as
// a line (which it would take for a broken server); it is closed at once,
// with not one byte, and the log says why.
TEST(Tls, TlsClientOnThePlaintextPortFailsAtOnce) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  auto c = TlsClient::connect(server.port());
  const auto began = Clock::now();
  const auto why = c.handshake(kIo);
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - began);
  report_figure("handshake", "failed after " + std::to_string(took.count()) + " ms: " + why);
  EXPECT_FALSE(why.empty()) << "a TLS handshake with the plaintext port succeeded";
  EXPECT_LT(took, 1000ms) << why;
  EXPECT_EQ(c.received(), "") << "the server answered the ClientHello";
  const auto line =
      server.wait_stderr_line({peer(c.local_port()) + " sent a TLS handshake to a plaintext port; closing"}, kIo);
  EXPECT_TRUE(line) << server.diagnostics();
  const auto closed = server.wait_closed_line(c.local_port(), kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": bad input"), std::string::npos) << *closed;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// Clients that send their ClientHello, get the server's first flight, then
// reset (SO_LINGER 0) or half-close (FIN) instead of finishing: one refusal
// line each, with the reason.
TEST(Tls, ResetOrFinMidHandshakeIsLogged) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto steady = steady_tls(server.tls_port());
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  constexpr std::size_t kClients = 20;
  std::vector<std::uint16_t> reset, left;
  // A close with the server's flight unread would be a reset too: the
  // half-closed ones stay open until the end.
  std::vector<TcpClient> half_closed;
  for (std::size_t i = 0; i < kClients; ++i) {
    auto c = TcpClient::connect("127.0.0.1", server.tls_port());
    ASSERT_TRUE(c.send_all(TlsClient(TcpClient{}).first_flight()));
    // The server's flight: it is mid-handshake now, waiting for our Finished.
    ASSERT_TRUE(c.recv_some(kIo).complete()) << server.diagnostics();
    if (i % 2 == 0) {
      reset.push_back(c.local_port());
      c.reset();
    } else {
      left.push_back(c.local_port());
      c.shutdown_write();
      half_closed.push_back(std::move(c));
    }
  }
  const auto expect_lines = [&](const std::vector<std::uint16_t>& ports, const std::string& reason) {
    for (const auto port : ports) {
      EXPECT_TRUE(server.wait_stderr_line({peer(port) + ": " + reason}, kIo))
          << "port " << port << ": no \"" << reason << "\"\n"
          << server.diagnostics();
    }
  };
  expect_lines(reset, "connection reset during the TLS handshake");
  expect_lines(left, "the client left during the TLS handshake");
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// A TLS echo client that sends lines and never reads: the server stops
// reading it once the replies back up (its socket holds what it has not
// read) instead of buffering without bound; others are served; its reset
// is logged as one.
TEST(Tls, EchoClientThatNeverReadsIsHeldBackThenItsResetIsLogged) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto steady = steady_tls(server.tls_port());
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  auto c = TlsClient::connect(server.tls_port());
  ASSERT_EQ(c.handshake(kIo), "");
  const auto port = c.local_port();
  std::string lines;
  for (int k = 0; k < 1000; ++k) lines += std::string(99, 'w') + "\n";
  // Records until the socket stays full for 300 ms, or 64 MiB.
  std::size_t sent = 0;
  bool stuck = false;
  std::string pending;
  while (sent < (64u << 20)) {
    if (pending.empty()) pending = c.seal(lines);
    pollfd p{c.tcp().fd(), POLLOUT, 0};
    if (::poll(&p, 1, 300) == 0) {
      stuck = true;
      break;
    }
    const ssize_t n = ::send(c.tcp().fd(), pending.data(), pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      FAIL() << "send: " << std::strerror(errno) << "\n" << server.diagnostics();
    }
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      pending.erase(0, static_cast<std::size_t>(n));
    }
  }
  const auto server_side = tcp_queues(server.tls_port(), port);
  report_figure("in flight", "sent " + std::to_string(sent) + " bytes of records; the server's socket: " +
                                 (server_side ? "rx " + std::to_string(server_side->rx) + ", tx " +
                                                    std::to_string(server_side->tx)
                                              : std::string("?")));
  EXPECT_TRUE(stuck) << "64 MiB went in: the server never stopped reading\n" << server.diagnostics();
  EXPECT_GE(sent, 1u << 20) << "megabytes should have got into flight";
  ASSERT_TRUE(server_side);
  EXPECT_GT(server_side->rx, 0u) << "the server should have left bytes unread (back-pressure)";
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << "the steady client stalled\n" << server.diagnostics();

  c.tcp().reset();
  const auto closed = server.wait_closed_line(port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": connection reset by client"), std::string::npos) << *closed;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

// A chat member on TLS that never reads while another talks is cut over
// --max-output, as a plaintext one is; the chat carries on.
TEST(Tls, ChatMemberOnTlsThatNeverReadsIsCutOverMaxOutput) {
  auto server = FaultServer::start("chat", {"--tls-self-signed", "--max-output", "65536", "--flood-rate", "1000000",
                                            "--flood-burst", "1000000"});
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  // The two in a room of their own: the steady pair is not flooded (with
  // so small a --max-output), only served meanwhile.
  auto slow = TlsClient::connect(server.tls_port());
  ASSERT_EQ(slow.handshake(kIo), "");
  ASSERT_TRUE(slow.recv_until("* you are in general now", kIo).complete()) << server.diagnostics();
  ASSERT_TRUE(slow.send("/join tls\n"));
  ASSERT_TRUE(slow.recv_until("* you are in tls now", kIo).complete()) << server.diagnostics();
  const auto slow_port = slow.local_port();
  auto talker = chat_join(server.port(), "talker");
  ASSERT_TRUE(talker.send_all("/join tls\n"));
  ASSERT_TRUE(talker.recv_until("* you are in tls now", kIo).complete()) << server.diagnostics();
  MemoryWatch memory(server);

  // Paced like a fast script, until the server gives up on the member (or 8 MB).
  const std::string line = "linea " + std::string(1000, 't') + "\n";
  std::string chunk;
  while (chunk.size() < 16 * 1024) chunk += line;
  std::size_t sent = 0;
  while (sent < (8u << 20) && server.stderr_count("over --max-output") == 0) {
    ASSERT_TRUE(talker.send_all(chunk, kIo)) << server.diagnostics();
    sent += chunk.size();
    std::this_thread::sleep_for(2ms);
  }
  const auto cut = server.wait_stderr_line({peer(slow_port), "over --max-output; disconnecting"}, kIo);
  ASSERT_TRUE(cut) << "talker sent " << sent << " bytes\n" << server.diagnostics();
  report_figure("slow TLS member", "cut after the talker sent " + std::to_string(sent) + " bytes: " + *cut);
  const auto closed = server.wait_closed_line(slow_port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": too slow"), std::string::npos) << *closed;
  EXPECT_EQ(server.stderr_count("over --max-output"), 1u) << "nobody else\n" << server.diagnostics();
  // It finds its session ended once it reads.
  const auto r = slow.recv_until_end(kIo);
  EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << "closed, not left hanging: " << r.describe();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

// After a good exchange, half of a record and a FIN: an ordinary close (the
// half record is not taken for a line), logged as the client closing.
TEST(Tls, HalfARecordThenFinIsAnOrdinaryClose) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto steady = steady_tls(server.tls_port());
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  auto c = TlsClient::connect(server.tls_port());
  ASSERT_EQ(echo_over(c, "hola\n"), "") << server.diagnostics();
  const auto record = c.seal("adios\n");
  ASSERT_TRUE(c.tcp().send_all(std::string_view(record).substr(0, record.size() / 2)));
  c.tcp().shutdown_write();
  const auto r = c.recv_until_end(kIo);
  // OpenSSL answers a truncated record with a fatal alert (decode_error):
  // an end too.
  EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r.describe() << " " << c.tls_error();
  EXPECT_EQ(r.data, "") << "the half record was answered";
  const auto closed = server.wait_closed_line(c.local_port(), kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": client closed the connection; 1 messages in, 1 out"), std::string::npos) << *closed;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// The last line and close_notify in one write, the TCP side left open (as
// a client that waits for the server to close does): the line is answered,
// then the server ends the session, at once, not when the client gives up.
TEST(Tls, CloseNotifyRightAfterTheLastLineGetsTheReplyThenTheClose) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto c = TlsClient::connect(server.tls_port());
  ASSERT_EQ(c.handshake(kIo), "") << server.diagnostics();
  std::string bytes = c.seal("hola\n");
  bytes += c.close_notify();
  ASSERT_TRUE(c.tcp().send_all(bytes, kIo));
  const auto began = Clock::now();
  const auto r = c.recv_until_end(kIo);
  EXPECT_TRUE(r.complete()) << r.describe() << " " << c.tls_error() << "\n" << server.diagnostics();
  EXPECT_EQ(r.data, "Eco: hola\n");
  EXPECT_LT(Clock::now() - began, 2000ms) << "the server waited for the client's FIN";
  const auto closed = server.wait_closed_line(c.local_port(), kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": client closed the connection; 1 messages in, 1 out"), std::string::npos) << *closed;
}

// Bytes without a newline, then a FIN without close_notify (the tutorial's
// client over TLS: send, close): still answered, as over plain TCP.
TEST(Tls, LastBytesThenABareFinAreStillAnswered) {
  auto server = FaultServer::start("echo", kTlsEcho);
  auto c = TlsClient::connect(server.tls_port());
  ASSERT_EQ(c.handshake(kIo), "") << server.diagnostics();
  ASSERT_TRUE(c.send("hola"));
  c.tcp().shutdown_write();
  const auto r = c.recv_until_end(kIo);
  EXPECT_EQ(r.data, "Eco: hola") << r.describe() << " " << c.tls_error() << "\n" << server.diagnostics();
  const auto closed = server.wait_closed_line(c.local_port(), kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": client closed the connection; 1 messages in, 1 out"), std::string::npos) << *closed;
}

// SIGTERM with 50 handshakes stalled: they do not hold the exit up (exit 0
// within 2 s), each is logged and closed.
TEST(Tls, SigtermWithStalledHandshakesExitsZeroWithinTwoSeconds) {
  constexpr std::size_t kStalled = 50;
  auto server = FaultServer::start("echo", kTlsEcho);
  const int fds_before = server.open_fds();
  auto stalled = stall_handshakes(server.tls_port(), kStalled);
  // All accepted (their descriptors are the server's), and serving goes on.
  const auto until = Clock::now() + kIo;
  while (server.open_fds() < fds_before + static_cast<int>(kStalled) && Clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(server.open_fds(), fds_before + static_cast<int>(kStalled)) << server.diagnostics();
  auto c = TlsClient::connect(server.tls_port());
  ASSERT_EQ(echo_over(c, "hola\n"), "") << server.diagnostics();
  c.close();

  expect_sigterm_ends_stalled_handshakes(server, stalled);
}
