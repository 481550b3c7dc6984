// The chat's web door (HTTP and WebSocket, served by Beast) under attack:
// garbage requests and handshakes, frames that break RFC 6455, clients that
// reset half-way through a handshake or a frame, and a slowloris. Every bad
// client gets its status or its close; a page keeps chatting meanwhile, its
// connection slots come back, and SIGTERM still ends the server at once.

#include "fault_support.hpp"
#include "support/websocket.hpp"

#include <gtest/gtest.h>

#include <csignal>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

const std::string kUpgrade = websocket_upgrade_request();

Server start_chat(std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"-q", "--threads", "2"});
  return Server::start("chat", extra);
}


// A page still chats: it says something and a second page hears it.
void expect_pages_served(std::uint16_t web_port, const std::string& text) {
  auto a = WsClient::connect("127.0.0.1", web_port);
  auto b = WsClient::connect("127.0.0.1", web_port);
  ASSERT_FALSE(b->wait_for("joined").empty());
  EXPECT_TRUE(a->type(text));
  EXPECT_FALSE(b->wait_for("message", text).empty()) << "a page did not hear another";
}

}  // namespace

TEST(Web, BadRequestsAndHandshakesGetTheirStatusAndPagesGoOn) {
  auto server = start_chat();
  const auto port = server.web_port();
  EXPECT_EQ(http_status_of(port, random_bytes(2000, 11) + "\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(http_status_of(port, "GET / HTTP/1.1\r\nX: " + std::string(20'000, 'x') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(http_status_of(port, "GET /ws HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), "HTTP/1.1 413 Payload Too Large");
  // Upgrades that are not WebSocket version 13 with a key: Beast refuses them.
  std::string old_version(kUpgrade);
  old_version.replace(old_version.find("Version: 13"), 11, "Version: 8");
  EXPECT_EQ(http_status_of(port, old_version).rfind("HTTP/1.1 4", 0), 0u) << http_status_of(port, old_version);
  std::string no_key(kUpgrade);
  no_key.erase(no_key.find("Sec-WebSocket-Key"), std::string("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n").size());
  EXPECT_EQ(http_status_of(port, no_key).rfind("HTTP/1.1 400", 0), 0u) << http_status_of(port, no_key);
  // Frames before the 101: the client did not wait for the handshake.
  EXPECT_EQ(http_status_of(port, std::string(kUpgrade) + "\x81\x85garbage"), "HTTP/1.1 400 Bad Request");
  expect_pages_served(port, "sigo aqui");
  EXPECT_EQ(server.process().poll_exit(), std::nullopt) << server.process().diagnostics();
}

// Unmasked frames, reserved bits, unknown opcodes, fragmented control
// frames, random bytes: each connection is failed with 1002 (protocol
// error), the others never notice.
TEST(Web, FramesThatBreakTheProtocolAreClosedWith1002) {
  // 26 connections in a row from one address, past --connect-rate.
  auto server = start_chat({"--trust-loopback"});
  const auto port = server.web_port();
  const std::string cases[] = {
      std::string("\x81\x04hola", 6),                       // unmasked (a client must mask)
      std::string("\xC1\x84\x00\x00\x00\x00hola", 10),      // RSV1 without an extension
      std::string("\x83\x84\x00\x00\x00\x00hola", 10),      // opcode 3 (reserved)
      std::string("\x09\x84\x00\x00\x00\x00hola", 10),      // a ping without FIN
      std::string("\x80\x84\x00\x00\x00\x00hola", 10),      // a continuation with nothing to continue
      std::string("\x89\xFE\x00\x80", 4) + std::string(4 + 128, 'p'),  // a 128-byte ping (over 125)
  };
  for (const auto& frame : cases) {
    SCOPED_TRACE(escape(frame, 12));
    auto c = websocket_upgraded(port);
    c.recv_for(200ms);  // the welcome events
    ASSERT_TRUE(c.send_all(frame));
    EXPECT_EQ(read_close_code(c, kIo), 1002);
    const auto r = c.recv_until_eof(kIo);
    EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << r;
  }
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto c = websocket_upgraded(port);
    c.send_all(random_bytes(300, seed));
    const auto r = c.recv_until_eof(kIo);
    EXPECT_TRUE(r.complete() || r.end == ReadEnd::error) << "seed " << seed << ": " << r;
  }
  expect_pages_served(port, "nada roto");
  EXPECT_EQ(server.process().poll_exit(), std::nullopt) << server.process().diagnostics();
}

// Clients that vanish half-way through a request, a handshake or a frame
// give their connection slot back: with --max-connections 30, 150 of them
// leave room for 25 pages.
TEST(Web, ResetsMidHandshakeOrFrameGiveTheirSlotBack) {
  // Every client from one address: only --max-connections is under test.
  auto server = start_chat({"--max-connections", "30", "--trust-loopback"});
  const auto port = server.web_port();
  for (int i = 0; i < 50; ++i) {
    auto request = TcpClient::connect("127.0.0.1", port);
    request.send_all(kUpgrade.substr(0, 40));
    request.reset();
    auto frame = websocket_upgraded(port);
    frame.send_all(std::string("\x81\xFE\x10\x00\x00\x00\x00\x00hol", 11));  // 4 KiB announced, 3 sent
    frame.reset();
    auto quiet = websocket_upgraded(port);
    quiet.reset();
  }
  // Slots are given back as the server notices the resets.
  std::vector<std::unique_ptr<WsClient>> pages;
  const auto deadline = Clock::now() + kIo;
  while (pages.size() < 25 && Clock::now() < deadline) {
    try {
      pages.push_back(WsClient::connect("127.0.0.1", port));
    } catch (const std::exception&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_EQ(pages.size(), 25u) << "connection slots were not given back";
  EXPECT_EQ(server.process().poll_exit(), std::nullopt) << server.process().diagnostics();
}

TEST(Web, TricklersDoNotStallPagesOrShutdown) {
  raise_fd_limit();
  // 60 tricklers from one address (standing for as many hosts), past --max-per-address.
  auto server = start_chat({"--trust-loopback"});
  const auto port = server.web_port();
  // 60 clients, each one header byte a second: none ever completes a request.
  auto tricklers = open_connections(port, 60);
  for (auto& t : tricklers) ASSERT_TRUE(t.send_all("GET /ws HTTP/1.1\r\n"));
  for (int second = 0; second < 3; ++second) {
    for (auto& t : tricklers) t.send_all("X");
    const auto started = Clock::now();
    expect_pages_served(port, "hola " + std::to_string(second));
    EXPECT_LT(Clock::now() - started, 1000ms) << "pages waited for the tricklers";
    std::this_thread::sleep_for(1000ms);
  }
  expect_quick_clean_exit(server);
}
