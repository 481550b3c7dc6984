// The echo's WebSocket door (`serve echo --web-port 0`) against frames no
// library sends, written out byte by byte (fault_support.hpp: ws_frame,
// read_close_code): every breach of RFC 6455 fails that one connection with
// the close code the RFC asks for (1002 protocol error, 1007 invalid UTF-8,
// 1009 too big), and another, well-behaved client is echoed right after.
// Also: pings between fragments, silent clients (--idle-timeout), a client
// that never reads while it floods (back-pressure), deflate on the wire.

#include "fault_support.hpp"
#include "support/websocket.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

constexpr std::size_t kMiB = 1u << 20;

FaultServer start_echo(std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--web-port", "0"});
  auto server = FaultServer::start("echo", extra);
  EXPECT_NE(server.ws_port(), 0) << "no \"listening: echo ws\" line: " << server.diagnostics();
  return server;
}

std::string describe(const std::vector<WsFrame>& frames) {
  std::string out;
  for (const auto& f : frames) out += "\n  " + f.describe();
  return out.empty() ? " (none)" : out;
}

// A well-behaved client is still echoed, on its own connection.
void expect_still_echoing(FaultServer& server) {
  ASSERT_TRUE(server.alive()) << server.diagnostics();
  auto ws = WsClient::connect("127.0.0.1", server.ws_port());
  ASSERT_TRUE(ws->send_text("sigo aqui"));
  EXPECT_EQ(ws->read(kIo), "Eco: sigo aqui") << "another client was not echoed after the fault";
}

// ---- frames that must fail the connection ---------------------------------------

struct BadFrames {
  std::string name;   // the CTest name's last part
  std::string bytes;  // sent right after the handshake
  int code;           // the close code the server must send (-1: no close frame, the TCP connection ends)
};

// Its name, in test names and failure messages, instead of gtest's bytes.
void PrintTo(const BadFrames& frames, std::ostream* os) { *os << frames.name; }

std::vector<BadFrames> bad_frames() {
  std::vector<BadFrames> cases = {
      {"Rsv1WithoutExtension", ws_frame(0xC1, "hola"), 1002},
      {"Rsv2", ws_frame(0xA1, "hola"), 1002},
      {"Rsv3", ws_frame(0x91, "hola"), 1002},
      {"Rsv1OnAPing", ws_frame(0xC9, "hola"), 1002},
      {"Rsv1OnAContinuation", ws_frame(0x01, "ho") + ws_frame(0xC0, "la"), 1002},
      {"UnmaskedText", ws_frame(0x81, "hola", false), 1002},
      {"UnmaskedPing", ws_frame(0x89, "hola", false), 1002},
      {"PingOver125Bytes", ws_frame(0x89, std::string(126, 'p')), 1002},
      {"CloseOver125Bytes", ws_frame(0x88, ws_close_payload(1000, std::string(124, 'r'))), 1002},
      {"FragmentedPing", ws_frame(0x09, "ho") + ws_frame(0x80, "la"), 1002},
      {"FragmentedClose", ws_frame(0x08, ws_close_payload(1000)), 1002},
      {"ContinuationWithoutStart", ws_frame(0x80, "hola"), 1002},
      {"UnfinishedContinuationWithoutStart", ws_frame(0x00, "hola"), 1002},
      {"TextInsideAFragmentedMessage", ws_frame(0x01, "ho") + ws_frame(0x81, "la"), 1002},
      {"BinaryInsideAFragmentedMessage", ws_frame(0x01, "ho") + ws_frame(0x82, "la"), 1002},
      {"CloseWithOneBytePayload", ws_frame(0x88, std::string(1, '\x03')), 1002},
      {"InvalidUtf8", ws_frame(0x81, "hola \xff"), 1007},
      {"InvalidUtf8Continuation", ws_frame(0x81, "\xc3\x28"), 1007},
      {"OverlongUtf8", ws_frame(0x81, "\xc0\xaf"), 1007},
      {"Utf16Surrogate", ws_frame(0x81, "\xed\xa0\x80"), 1007},
      {"BeyondU10FFFF", ws_frame(0x81, "\xf4\x90\x80\x80"), 1007},
      {"TruncatedUtf8AtTheEnd", ws_frame(0x81, "hola \xce"), 1007},
      {"InvalidUtf8SplitAcrossFragments", ws_frame(0x01, "ok \xce") + ws_frame(0x80, "\x28 ok"), 1007},
      // Failed as soon as the bad byte arrives, not at the end of the message.
      {"InvalidUtf8InAnUnfinishedMessage", ws_frame(0x01, "ok \xff"), 1007},
      // A header that announces more than --max-message (1 MiB by default):
      // refused from the header, before any payload.
      {"Declared2To63Bytes", ws_frame(0x82, "", true, std::uint64_t{1} << 63), 1009},
      {"Declared2To63BytesOfText", ws_frame(0x81, "", true, std::uint64_t{1} << 63), 1009},
      {"DeclaredOneByteOverMaxMessage", ws_frame(0x82, "", true, kMiB + 1), 1009},
  };
  for (const int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    cases.push_back({"ReservedOpcode" + std::to_string(op), ws_frame(static_cast<std::uint8_t>(0x80 | op), "hola"), 1002});
  }
  for (const int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999}) {
    cases.push_back({"CloseCode" + std::to_string(code), ws_frame(0x88, ws_close_payload(code)), 1002});
  }
  // Codes past 4999 are not defined either, but Beast 1.81 takes them as
  // valid, so the server fails the connection itself: dropped, without a
  // close frame (RFC 6455, 7.1.7), which read_close_code reports as -1.
  for (const int code : {5000, 65535}) {
    cases.push_back({"CloseCode" + std::to_string(code), ws_frame(0x88, ws_close_payload(code)), -1});
  }
  return cases;
}

class WebSocketBadFrames : public ::testing::TestWithParam<BadFrames> {};

TEST_P(WebSocketBadFrames, FailTheConnectionAndOthersAreServed) {
  auto server = start_echo();
  auto faulty = websocket_upgraded(server.ws_port());
  ASSERT_TRUE(faulty.send_all(GetParam().bytes)) << std::strerror(faulty.last_error());
  std::vector<WsFrame> before;
  EXPECT_EQ(read_close_code(faulty, kIo, &before), GetParam().code)
      << "sent " << escape(GetParam().bytes, 40) << "; frames before the close:" << describe(before);
  EXPECT_TRUE(before.empty()) << "nothing is answered before the close:" << describe(before);
  // The server ends the TCP connection too (its FIN, or a reset).
  const auto rest = faulty.recv_until_eof(kIo);
  EXPECT_TRUE(rest.complete() || rest.end == ReadEnd::error) << rest;
  expect_still_echoing(server);
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, WebSocketBadFrames, ::testing::ValuesIn(bad_frames()),
                         [](const ::testing::TestParamInfo<BadFrames>& info) { return info.param.name; });

// ---- frames that are fine -------------------------------------------------------

// The frames above are refused for what they break, not for how they are
// built: the same builder's valid frames are echoed, in every length form.
TEST(WebSocketFrames, HandMadeValidFramesAreEchoed) {
  auto server = start_echo({"--prefix", ""});
  auto c = websocket_upgraded(server.ws_port());
  const std::string medium = random_bytes(200, 1);     // 16-bit length
  const std::string large = random_bytes(70'000, 2);   // 64-bit length
  ASSERT_TRUE(c.send_all(ws_frame(0x81, "hola") + ws_frame(0x81, "") + ws_frame(0x82, medium) + ws_frame(0x82, large) +
                         ws_frame(0x01, "Ho") + ws_frame(0x00, "") + ws_frame(0x80, "la") + ws_frame(0x01, "\xce") +
                         ws_frame(0x80, "\xba")));
  const std::vector<std::pair<int, std::string>> expected = {
      {1, "hola"}, {1, ""}, {2, medium}, {2, large}, {1, "Hola"}, {1, "\xce\xba"}};
  for (const auto& [opcode, payload] : expected) {
    const auto frame = read_ws_frame(c, kIo);
    ASSERT_TRUE(frame.has_value()) << "expected \"" << escape(payload, 40) << "\"";
    EXPECT_EQ(frame->opcode(), opcode) << frame->describe();
    EXPECT_TRUE(frame->fin()) << frame->describe();
    EXPECT_TRUE(frame->payload == payload) << frame->describe() << ", expected \"" << escape(payload, 40) << "\"";
  }
  // Unsolicited pongs are allowed and ignored.
  ASSERT_TRUE(c.send_all(ws_frame(0x8A, "suelto") + ws_frame(0x81, "sigue")));
  const auto after = read_ws_frame(c, kIo);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->payload, "sigue") << after->describe();
  // The close handshake: the client's code comes back, then the end.
  ASSERT_TRUE(c.send_all(ws_frame(0x88, ws_close_payload(4321, "adios"))));
  EXPECT_EQ(read_close_code(c, kIo), 4321);
  EXPECT_TRUE(c.recv_until_eof(kIo).complete());
}

TEST(WebSocketFrames, PingsAreAnsweredWithTheirPayloadAlsoBetweenFragments) {
  auto server = start_echo();
  auto c = websocket_upgraded(server.ws_port());
  const std::string longest(125, 'x');
  ASSERT_TRUE(c.send_all(ws_frame(0x89, "abc") + ws_frame(0x89, "") + ws_frame(0x89, longest)));
  for (const std::string& payload : {std::string("abc"), std::string(), longest}) {
    const auto pong = read_ws_frame(c, kIo);
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->opcode(), 0xA) << pong->describe();
    EXPECT_EQ(pong->payload, payload) << pong->describe();
  }
  // Ping in the middle of a message: the pong comes at once, the message after.
  ASSERT_TRUE(c.send_all(ws_frame(0x01, "Ho") + ws_frame(0x89, "p1")));
  const auto pong = read_ws_frame(c, kIo);
  ASSERT_TRUE(pong.has_value()) << "no pong while a message was unfinished";
  EXPECT_EQ(pong->opcode(), 0xA) << pong->describe();
  EXPECT_EQ(pong->payload, "p1");
  ASSERT_TRUE(c.send_all(ws_frame(0x00, "l") + ws_frame(0x89, "p2") + ws_frame(0x80, "a")));
  std::vector<WsFrame> frames;
  for (int i = 0; i < 2; ++i) {
    auto f = read_ws_frame(c, kIo);
    ASSERT_TRUE(f.has_value()) << describe(frames);
    frames.push_back(std::move(*f));
  }
  EXPECT_EQ(frames[0].opcode(), 0xA) << describe(frames);
  EXPECT_EQ(frames[0].payload, "p2") << describe(frames);
  EXPECT_EQ(frames[1].opcode(), 1) << describe(frames);
  EXPECT_EQ(frames[1].payload, "Eco: Hola") << describe(frames);
}

// A client that says nothing, and does not even answer the server's pings,
// is closed with 1001 after --idle-timeout; one that talks is not.
TEST(WebSocketFrames, SilentClientsAreClosedWith1001AfterIdleTimeout) {
  auto server = start_echo({"--idle-timeout", "1"});
  auto silent = websocket_upgraded(server.ws_port());
  const auto started = Clock::now();
  auto talker = WsClient::connect("127.0.0.1", server.ws_port());
  for (int i = 0; i < 8; ++i) {  // 2.4 s, more than twice the timeout
    ASSERT_TRUE(talker->send_text("sigo " + std::to_string(i)));
    ASSERT_EQ(talker->read(kIo), "Eco: sigo " + std::to_string(i)) << "a client that talks was closed";
    std::this_thread::sleep_for(300ms);
  }
  std::vector<WsFrame> before;
  EXPECT_EQ(read_close_code(silent, kIo, &before), 1001) << describe(before);
  EXPECT_GE(Clock::now() - started, 900ms) << "closed before its idle timeout";
  for (const auto& f : before) EXPECT_EQ(f.opcode(), 0x9) << "only pings may come before the close: " << f.describe();
  expect_still_echoing(server);
}

// permessage-deflate on the wire: offered back when the client asks as
// browsers do (with client_max_window_bits, which lets the server bound the
// client's window), and replies to compressible messages go compressed
// (RSV1 set, smaller).
TEST(WebSocketFrames, DeflateIsNegotiatedAndUsedUnlessNoDeflate) {
  const std::string text(20'000, 'a');
  constexpr std::string_view kOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  {
    auto server = start_echo();
    std::string response;
    auto c = websocket_upgraded(server.ws_port(), kOffer, &response);
    EXPECT_NE(response.find("permessage-deflate"), std::string::npos) << escape(response);
    ASSERT_TRUE(c.send_all(ws_frame(0x81, text)));  // a client may still send uncompressed frames
    const auto reply = read_ws_frame(c, kIo);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->first & 0x40, 0x40) << "RSV1 (compressed) not set: " << reply->describe();
    EXPECT_LT(reply->payload.size(), text.size() / 10) << reply->describe();
  }
  {
    auto server = start_echo({"--no-deflate"});
    std::string response;
    auto c = websocket_upgraded(server.ws_port(), kOffer, &response);
    EXPECT_EQ(response.find("permessage-deflate"), std::string::npos) << escape(response);
    ASSERT_TRUE(c.send_all(ws_frame(0x81, text)));
    const auto reply = read_ws_frame(c, kIo);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->first & 0x70, 0) << reply->describe();
    EXPECT_EQ(reply->payload, "Eco: " + text);
    // Without the extension, RSV1 is a protocol error.
    ASSERT_TRUE(c.send_all(ws_frame(0xC1, "hola")));
    EXPECT_EQ(read_close_code(c, kIo), 1002);
  }
}

// A client that floods binary messages and never reads the echoes: the
// server must stop reading it (or cut it) instead of queueing without
// bound, and keep serving everyone else meanwhile.
TEST(WebSocketFrames, AClientThatNeverReadsDoesNotGrowTheServer) {
  auto server = start_echo();
  auto steady = Steady::start(server);  // TCP echo round trips all along
  MemoryWatch memory(server);
  auto deaf = websocket_upgraded(server.ws_port());
  const std::string frame = ws_frame(0x82, random_bytes(64 * 1024, 3));
  std::size_t sent = 0;
  const auto give_up = Clock::now() + 20s;
  while (sent < 256 * kMiB && Clock::now() < give_up) {
    if (!deaf.send_all(frame, 2000ms)) break;  // stalled: the server stopped reading (or closed)
    sent += frame.size();
  }
  report_figure("ws_flood_sent_before_stall_kib", std::to_string(sent / 1024));
  // Kernel buffers on both sides hold some tens of MiB at most; past that the
  // server itself would be holding the echoes.
  EXPECT_LT(sent, 64 * kMiB) << "the server kept reading a client that does not read its echoes";
  expect_still_echoing(server);
  EXPECT_TRUE(steady->wait_rounds(3, kIo)) << "the TCP echo stalled";
  expect_server_healthy(server, steady.get(), memory, 32 * 1024);
  deaf.reset();
}

}  // namespace
