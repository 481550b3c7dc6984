// The chat's web door over TLS (`serve chat --tls-self-signed`: the page on
// https://, its WebSocket on wss://.../ws): handshakes that stall against
// --tls-handshake-timeout, plain HTTP sent to the HTTPS port and a TLS
// ClientHello sent to the plain HTTP port, a wss:// member that never reads
// while the room is flooded (--max-output), a reset mid-handshake and half a
// record then FIN, SIGTERM with handshakes stalled. The client is
// tls_client.hpp's; WebSocket frames are fault_support's (ws_frame, WsFrame)
// carried over it.

#include "fault_support.hpp"
#include "tls_client.hpp"

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <utility>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

namespace json = boost::json;

// The chat with its https:// twin, and the ports FaultServer does not keep.
struct WebTls {
  FaultServer server;
  std::uint16_t http = 0;   // "listening: chat http": the page and ws://
  std::uint16_t https = 0;  // "listening: chat https": the page and wss://
};

// The port of the "listening: SERVICE PROTO ADDR:PORT" line; throws if it
// does not come.
std::uint16_t listening_port(FaultServer& server, std::string_view proto) {
  const auto deadline = Clock::now() + kIo;
  for (;;) {
    for (const auto& line : split_lines(server.process().stdout_text())) {
      const auto l = parse_listening_line(line);
      if (l && l->service == server.service() && l->proto == proto) return l->port;
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("no \"listening: " + server.service() + " " + std::string(proto) +
                               "\" line: " + server.diagnostics());
    }
    std::this_thread::sleep_for(20ms);
  }
}

WebTls start_chat(std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--tls-self-signed", "--threads", "2"});
  auto server = FaultServer::start("chat", extra);
  const auto http = listening_port(server, "http");
  const auto https = listening_port(server, "https");
  return {std::move(server), http, https};
}

// ---- https:// ----------------------------------------------------------------------

// A whole handshake on `c`, then GET `target` (Connection: close) and its
// answer up to the server's close_notify into *response: "" if all that
// went right, else what did not.
std::string https_get(TlsClient& c, const std::string& target, std::string& response) {
  if (const auto why = c.handshake(kIo); !why.empty()) return "handshake failed: " + why;
  if (!c.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) {
    return "send failed: " + std::string(std::strerror(c.tcp().last_error()));
  }
  const auto r = c.recv_until_end(kIo);
  response = r.data;
  if (!r.complete()) return "no whole answer to GET " + target + ": " + r.describe() + " " + c.tls_error();
  return {};
}

// The page still comes over https:// on a new connection: "" if it did.
std::string page_served(std::uint16_t https_port) {
  auto c = TlsClient::connect(https_port);
  std::string response;
  if (auto why = https_get(c, "/", response); !why.empty()) return why;
  if (response.rfind("HTTP/1.1 200 OK\r\n", 0) != 0 ||
      response.find("Content-Type: text/html; charset=utf-8\r\n") == std::string::npos) {
    return "GET / answered \"" + escape(response, 200) + "\"";
  }
  return {};
}

// A well-behaved browser: each round a new connection, a whole handshake,
// GET /healthz -> 200 "ok\n", the server's close_notify. So "served
// promptly" means new handshakes too, not only a session set up before the
// fault.
std::unique_ptr<Steady> steady_https(std::uint16_t port) {
  return std::make_unique<Steady>("steady HTTPS client", 50ms, [port](std::string& error, std::size_t&) {
    auto c = TlsClient::try_connect(port, error);
    if (!c) return false;
    std::string response;
    error = https_get(*c, "/healthz", response);
    c->close();
    if (error.empty() && (response.rfind("HTTP/1.1 200 OK\r\n", 0) != 0 || !response.ends_with("\r\n\r\nok\n"))) {
      error = "GET /healthz answered \"" + escape(response) + "\"";
    }
    return error.empty();
  });
}

// ---- wss:// --------------------------------------------------------------------------
// The suite's upgrade request and frames (websocket_upgrade_request,
// ws_frame, read_ws_frame), carried by a TlsClient. No permessage-deflate is
// offered: frames stay readable.

// A server's event, or an empty object if the payload is not one.
json::object event_of(std::string_view payload) {
  json::error_code ec;
  auto value = json::parse(payload, ec);
  if (ec || !value.is_object()) return {};
  return std::move(value.as_object());
}

// The string field `key` of an event; "" if it has none.
std::string_view field(const json::object& event, std::string_view key) {
  const auto* value = event.if_contains(key);
  const auto* text = value ? value->if_string() : nullptr;
  return text ? std::string_view(*text) : std::string_view();
}

// What the page sends for a typed line, as a masked text frame.
std::string typed(std::string_view line) {
  return ws_frame(0x81, json::serialize(json::object{{"type", "line"}, {"text", line}}));
}

// A chat page over wss://: TLS, the upgrade, then `/join room`, read up to
// its joined event. Throws if a step fails.
TlsClient wss_member(std::uint16_t https_port, const std::string& room) {
  auto c = TlsClient::connect(https_port);
  if (const auto why = c.handshake(kIo); !why.empty()) throw std::runtime_error("wss handshake: " + why);
  if (!c.send(websocket_upgrade_request())) throw std::runtime_error("cannot send the upgrade");
  const auto answer = c.recv_until("\r\n\r\n", kIo);
  if (answer.data.rfind("HTTP/1.1 101", 0) != 0) throw std::runtime_error("upgrade refused: " + answer.describe());
  if (!c.send(typed("/join " + room))) throw std::runtime_error("cannot send /join");
  for (const auto deadline = Clock::now() + kIo;;) {
    const auto frame = read_ws_frame(c, left_until(deadline));
    if (!frame) throw std::runtime_error("no joined event for " + room);
    if (frame->opcode() != 0x1) continue;
    const auto event = event_of(frame->payload);
    if (field(event, "type") == "joined" && field(event, "room") == room) return c;
  }
}

// Lines of `text` logged above info (warn: or error:, after the time).
std::vector<std::string> lines_above_info(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(text)) {
    const auto space = line.find(' ');
    if (space == std::string::npos) continue;
    const std::string_view rest = std::string_view(line).substr(space + 1);
    if (rest.starts_with("warn: ") || rest.starts_with("error: ")) out.push_back(line);
  }
  return out;
}

}  // namespace

// 300 handshakes on the HTTPS port that stall (silent, or half a
// ClientHello) with --tls-handshake-timeout 2: a browser doing whole new
// handshakes and GET /healthz is answered promptly all along; at the
// timeout, not before, each stalled one is closed without a word and logged.
TEST(WebTls, StalledHttpsHandshakesAreCutAtTheTimeoutWhilePagesAreServed) {
  raise_fd_limit();
  constexpr std::size_t kStalled = 300;
  // 300 stalled handshakes from one address (standing for as many hosts).
  auto s = start_chat({"--tls-handshake-timeout", "2", "--trust-loopback"});
  auto& server = s.server;
  auto steady = steady_https(s.https);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  expect_stalled_handshakes_cut(server, s.https, *steady, kStalled);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 24 * 1024);
}

// A browser's plain HTTP on the HTTPS port: closed within a second without
// a byte, and the log's tls_refused line shows what it sent instead of
// OpenSSL's "wrong version number"; the page is still served over HTTPS.
TEST(WebTls, PlainHttpOnTheHttpsPortIsRefusedWithAPreview) {
  auto s = start_chat({"--log-format", "json"});
  auto& server = s.server;
  auto steady = steady_https(s.https);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  auto c = TcpClient::connect("127.0.0.1", s.https);
  const auto began = Clock::now();
  ASSERT_TRUE(c.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto r = c.recv_until_eof(kIo);
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - began);
  EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r.describe();
  EXPECT_EQ(r.data, "") << "nothing is sent back";
  EXPECT_LT(took, 1000ms) << "not closed at once";
  const auto line =
      server.wait_stderr_line({"\"event\":\"tls_refused\"", "\"peer\":\"" + peer(c.local_port()) + "\""}, kIo);
  ASSERT_TRUE(line) << server.diagnostics();
  report_figure("plain HTTP on the HTTPS port",
                r.describe() + " after " + std::to_string(took.count()) + " ms; " + *line);
  const auto event = event_of(*line);
  EXPECT_EQ(field(event, "level"), "info") << *line;
  const std::string message(field(event, "message"));
  EXPECT_NE(message.find("the client does not speak TLS: it sent plaintext to a TLS port"), std::string::npos)
      << message;
  // The preview: the first 16 bytes, escaped and quoted.
  EXPECT_NE(message.find(R"(("GET / HTTP/1.1\r\n"))"), std::string::npos) << message;

  EXPECT_EQ(page_served(s.https), "") << server.diagnostics();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// A TLS client on the plain HTTP port: it gets no answer (an HTTP 400 would
// be garbage to its TLS library), the connection ends at once, and the log
// says what happened (as on the line ports); pages go on being served.
TEST(WebTls, ClientHelloOnThePlainHttpPortIsClosedAtOnceAndNamed) {
  auto s = start_chat();
  auto& server = s.server;
  auto steady = steady_https(s.https);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  auto c = TlsClient::connect(s.http);
  const auto began = Clock::now();
  const auto why = c.handshake(kIo);
  const auto end = c.tcp().recv_until_eof(kIo);
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - began);
  report_figure("ClientHello on the HTTP port",
                "handshake: " + why + "; then " + end.describe() + " after " + std::to_string(took.count()) + " ms");
  EXPECT_FALSE(why.empty()) << "a TLS handshake with the plain HTTP port succeeded";
  EXPECT_EQ(c.received(), "") << "an answer to a ClientHello";
  EXPECT_TRUE(end.complete() || end.end == ReadEnd::error) << "the connection stayed open: " << end.describe();
  EXPECT_LT(took, 1000ms) << "not at once";
  EXPECT_TRUE(server.wait_stderr_line(
      {peer(c.local_port()) + " sent a TLS handshake to a plaintext HTTP port (https:// is on the TLS port)"}, kIo))
      << server.diagnostics();

  EXPECT_EQ(http_status_of(s.http, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 200 OK");
  EXPECT_EQ(page_served(s.https), "") << server.diagnostics();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// A chat member on wss:// that never reads while the room is flooded is cut
// over --max-output and logged as too slow; a well-behaved wss:// member
// of the same room hears every line, in order, and is not cut.
TEST(WebTls, WssMemberThatNeverReadsIsCutOverMaxOutput) {
  auto s = start_chat({"--max-output", "65536", "--flood-rate", "1000000", "--flood-burst", "1000000"});
  auto& server = s.server;
  // The steady pair chats in general meanwhile; the flood goes to a room of
  // its own (with so small a --max-output, the pair is not flooded).
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  auto slow = wss_member(s.https, "wss");
  const auto slow_port = slow.local_port();
  auto good = wss_member(s.https, "wss");
  const auto good_port = good.local_port();
  auto talker = chat_join(server.port(), "talker");
  ASSERT_TRUE(talker.send_all("/join wss\n"));
  ASSERT_TRUE(talker.recv_until("* you are in wss now", kIo).complete()) << server.diagnostics();
  MemoryWatch memory(server);

  // The good member reads all along, in its own thread, until the talker's
  // "fin" (or 15 s; a stop, if the test ends first, shuts its socket).
  std::vector<long> heard;
  std::string trouble;
  std::jthread reader([&heard, &trouble, good = std::move(good)](std::stop_token stop) mutable {
    const std::stop_callback unblock(stop, [fd = good.tcp().fd()] { ::shutdown(fd, SHUT_RDWR); });
    const auto deadline = Clock::now() + 15s;
    for (;;) {
      const auto frame = read_ws_frame(good, left_until(deadline));
      if (!frame) {
        trouble = "the good member's stream ended or stalled";
        return;
      }
      if (frame->opcode() != 0x1) {
        trouble = "the good member got " + frame->describe();
        return;
      }
      const auto event = event_of(frame->payload);
      if (field(event, "type") != "message" || field(event, "nick") != "talker") continue;
      const auto text = field(event, "text");
      if (text == "fin") return;
      // "linea N ..."
      long n = -1;
      const auto number = text.substr(std::min(text.size(), text.find(' ') + 1));
      std::from_chars(number.data(), number.data() + number.size(), n);
      heard.push_back(n);
    }
  });

  // Paced like a fast script, until the server gives up on the slow member
  // (or 16 MB, or 10 s).
  long lines = 0;
  std::size_t sent = 0;
  const std::string cut_needle = peer(slow_port) + " owes ";
  for (const auto give_up = Clock::now() + 10s;
       sent < (16u << 20) && Clock::now() < give_up && server.stderr_count(cut_needle) == 0;) {
    std::string chunk;
    for (int k = 0; k < 16; ++k) chunk += "linea " + std::to_string(lines++) + " " + std::string(1000, 't') + "\n";
    ASSERT_TRUE(talker.send_all(chunk, kIo)) << server.diagnostics();
    sent += chunk.size();
    std::this_thread::sleep_for(2ms);
  }
  // A few more after the cut: the room carries on.
  for (int k = 0; k < 16; ++k) ASSERT_TRUE(talker.send_all("linea " + std::to_string(lines++) + " despues\n"));
  ASSERT_TRUE(talker.send_all("fin\n"));
  reader.join();

  const auto cut = server.wait_stderr_line({peer(slow_port) + " owes ", "over the output limit; disconnecting"}, kIo);
  ASSERT_TRUE(cut) << "the talker sent " << sent << " bytes\n" << server.diagnostics();
  report_figure("slow wss member", "cut after the talker sent " + std::to_string(sent) + " bytes: " + *cut);
  // Cut as soon as it owes more than --max-output: past it by one event at
  // most (an event here is some 1.1 KB), not by the default's 1 MiB.
  std::size_t owed = 0;
  const auto owes_at = cut->find(" owes ") + std::string_view(" owes ").size();
  std::from_chars(cut->data() + owes_at, cut->data() + cut->size(), owed);
  EXPECT_GT(owed, 65536u) << *cut;
  EXPECT_LE(owed, 65536u + 16 * 1024) << *cut;
  const auto closed = server.wait_closed_line(slow_port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": too slow"), std::string::npos) << *closed;
  EXPECT_EQ(server.stderr_count("over the output limit"), 1u) << "nobody else (the good member is "
                                                               << peer(good_port) << ")\n"
                                                               << server.diagnostics();
  EXPECT_EQ(trouble, "") << server.diagnostics();
  std::size_t in_order = 0;
  while (in_order < heard.size() && heard[in_order] == static_cast<long>(in_order)) ++in_order;
  EXPECT_EQ(heard.size(), static_cast<std::size_t>(lines)) << "the good member missed lines";
  EXPECT_EQ(in_order, heard.size()) << "out of order at line " << in_order;
  report_figure("good wss member", "heard " + std::to_string(heard.size()) + " of " + std::to_string(lines) + " lines");
  // The slow member finds its connection ended once it reads.
  const auto r = slow.tcp().recv_until_eof(kIo);
  EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << "closed, not left hanging: " << r.end;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

// Ordinary ends, logged at info at most: a reset (SO_LINGER 0) in the middle
// of an HTTPS handshake, after the server's first flight; and, after a
// whole request, half a TLS record of the next, then a FIN (not answered,
// the session ends).
TEST(WebTls, ResetMidHandshakeAndHalfARecordThenFinAreOrdinaryCloses) {
  // 20 clients in a row and the steady pages from one address, past --connect-rate.
  auto s = start_chat({"--trust-loopback"});
  auto& server = s.server;
  auto steady = steady_https(s.https);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);
  const auto log_before = server.process().stderr_text().size();

  for (int i = 0; i < 10; ++i) {
    auto c = TcpClient::connect("127.0.0.1", s.https);
    ASSERT_TRUE(c.send_all(TlsClient(TcpClient{}).first_flight()));
    // The server's flight: it is mid-handshake now, waiting for our Finished.
    ASSERT_TRUE(c.recv_some(kIo).complete()) << server.diagnostics();
    const auto port = c.local_port();
    c.reset();
    EXPECT_TRUE(server.wait_stderr_line({peer(port) + ": connection reset during the TLS handshake"}, kIo))
        << server.diagnostics();
  }

  for (int i = 0; i < 10; ++i) {
    auto c = TlsClient::connect(s.https);
    ASSERT_EQ(c.handshake(kIo), "") << server.diagnostics();
    ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const auto answer = c.recv_until("\r\n\r\nok\n", kIo);
    ASSERT_TRUE(answer.complete()) << answer.describe() << "\n" << server.diagnostics();
    EXPECT_EQ(answer.data.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer.describe();
    const auto record = c.seal("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    ASSERT_TRUE(c.tcp().send_all(std::string_view(record).substr(0, record.size() / 2)));
    c.tcp().shutdown_write();
    const auto began = Clock::now();
    const auto r = c.recv_until_end(kIo);
    // OpenSSL may answer a truncated record with a fatal alert: an end too.
    EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r.describe() << " " << c.tls_error();
    EXPECT_EQ(r.data, "") << "the half request was answered";
    EXPECT_LT(Clock::now() - began, 2000ms) << "the server held the connection";
  }

  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  EXPECT_EQ(page_served(s.https), "") << server.diagnostics();
  const auto loud = lines_above_info(server.process().stderr_text().substr(log_before));
  EXPECT_TRUE(loud.empty()) << loud.size() << " lines above info, e.g. " << loud.front();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// SIGTERM with 50 HTTPS handshakes stalled: they do not hold the exit up
// (exit 0 within 2 s), each is logged and closed.
TEST(WebTls, SigtermWithStalledHttpsHandshakesExitsZeroWithinTwoSeconds) {
  constexpr std::size_t kStalled = 50;
  // 50 stalled handshakes from one address, past --max-per-address.
  auto s = start_chat({"--trust-loopback"});
  auto& server = s.server;
  const int fds_before = server.open_fds();
  auto stalled = stall_handshakes(s.https, kStalled);
  // All accepted (their descriptors are the server's), and serving goes on.
  const auto until = Clock::now() + kIo;
  while (server.open_fds() < fds_before + static_cast<int>(kStalled) && Clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(server.open_fds(), fds_before + static_cast<int>(kStalled)) << server.diagnostics();
  ASSERT_EQ(page_served(s.https), "") << server.diagnostics();

  expect_sigterm_ends_stalled_handshakes(server, stalled);
}
