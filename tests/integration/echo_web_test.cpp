// The echo (and greet) over WebSocket: `serve echo --web-port 0` answers
// RFC 6455 upgrades on any path of its web port, and `enchufe connect
// ws://...` is a line client for it. Driven with Beast (support/websocket.hpp);
// hand-made frames that break the protocol are in tests/faults/websocket_frames_test.cpp.

#include "support/enchufe.hpp"
#include "support/net.hpp"
#include "support/websocket.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

namespace enchufe::test {
namespace {

constexpr auto kIo = 5000ms;
constexpr std::size_t kMiB = 1u << 20;
constexpr std::string_view kGreeting = "Hola, cliente. Bienvenido al servidor enchufe!";

Server start_echo(std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--web-port", "0"});
  return Server::start("echo", extra);
}

std::unique_ptr<WsClient> ws_client(std::uint16_t port, WsClient::Options options = {}) {
  return WsClient::connect("127.0.0.1", port, std::move(options));
}

// Every byte value, and then some: binary data that is not UTF-8.
std::string all_bytes(std::size_t n) {
  std::string bytes(n, '\0');
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return bytes;
}

// A message as the test expects it, for readable failures.
std::string describe(const std::optional<WsClient::Message>& m) {
  if (!m) return "<no message>";
  return std::string(m->binary ? "binary" : "text") + " (" + std::to_string(m->data.size()) + " bytes) \"" +
         escape(m->data, 80) + "\"";
}

void expect_message(WsClient& ws, std::string_view data, bool binary, Duration timeout = 3000ms) {
  const auto m = ws.read_message(timeout);
  ASSERT_TRUE(m.has_value()) << "no reply; expected " << (binary ? "binary" : "text") << " \""
                             << escape(data, 80) << "\"" << (ws.closed_within(0ms) ? " (closed " + std::to_string(ws.close_code()) + ")" : "");
  EXPECT_EQ(m->binary, binary) << describe(m);
  EXPECT_EQ(m->data.size(), data.size()) << describe(m);
  EXPECT_TRUE(m->data == data) << "got " << describe(m) << ", expected \"" << escape(data, 80) << "\"";
}

// After whatever a test did to one client, another is still echoed.
void expect_still_echoing(std::uint16_t port, std::string_view prefix = "Eco: ") {
  auto other = ws_client(port);
  ASSERT_TRUE(other->send_text("sigo aqui"));
  expect_message(*other, std::string(prefix) + "sigo aqui", false);
}

// A whole HTTP exchange on a fresh connection.
std::string http_get(std::uint16_t port, std::string_view path, std::string_view headers = "") {
  auto client = TcpClient::connect("127.0.0.1", port);
  EXPECT_TRUE(client.send_all("GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(headers) +
                              "Connection: close\r\n\r\n"));
  return client.recv_until_eof(kIo).data;
}

TEST(EchoWeb, ListensOnItsWebPortOnlyWhenAsked) {
  auto web = start_echo();
  EXPECT_NE(web.ws_port("echo"), web.port("echo")) << "the WebSocket door has its own port";
  EXPECT_EQ(web.socket("echo", "ws").host, "127.0.0.1");
  // Without --web-port: no WebSocket door.
  auto plain = Server::start("echo");
  ASSERT_TRUE(plain.process().wait_stderr_contains("serving with", kIo)) << plain.process().diagnostics();
  EXPECT_EQ(plain.process().stdout_text().find(" ws "), std::string::npos) << plain.process().stdout_text();
}

TEST(EchoWeb, TextAndBinaryGetThePrefixAndKeepTheirType) {
  auto server = start_echo();
  auto ws = ws_client(server.ws_port("echo"));
  ASSERT_TRUE(ws->send_text("hola"));
  expect_message(*ws, "Eco: hola", false);
  ASSERT_TRUE(ws->send_text("¿Qué tal? ñandú"));
  expect_message(*ws, "Eco: ¿Qué tal? ñandú", false);
  const auto bytes = all_bytes(1000);
  ASSERT_TRUE(ws->send_binary(bytes));
  expect_message(*ws, "Eco: " + bytes, true);
  // One reply per message, in order, even sent back to back.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ws->send_text("n" + std::to_string(i)));
  for (int i = 0; i < 20; ++i) expect_message(*ws, "Eco: n" + std::to_string(i), false);
  EXPECT_EQ(ws->read(200ms), std::nullopt) << "one reply per message";
  // A text line with its newline is one message; the reply keeps it.
  ASSERT_TRUE(ws->send_text("linea\n"));
  expect_message(*ws, "Eco: linea\n", false);
}

TEST(EchoWeb, PrefixOptionAndEmptyPrefixIsAnExactEcho) {
  auto custom = start_echo({"--prefix", ">> "});
  auto ws = ws_client(custom.ws_port("echo"));
  ASSERT_TRUE(ws->send_text("hola"));
  expect_message(*ws, ">> hola", false);

  auto exact = start_echo({"--prefix", ""});
  auto conformance = ws_client(exact.ws_port("echo"));
  ASSERT_TRUE(conformance->send_text("hola"));
  expect_message(*conformance, "hola", false);
  const auto bytes = all_bytes(70'000);  // past the 16-bit length form
  ASSERT_TRUE(conformance->send_binary(bytes));
  expect_message(*conformance, bytes, true);
}

TEST(EchoWeb, EmptyMessagesAreAnswered) {
  auto server = start_echo();
  auto ws = ws_client(server.ws_port("echo"));
  ASSERT_TRUE(ws->send_text(""));
  expect_message(*ws, "Eco: ", false);
  ASSERT_TRUE(ws->send_binary(""));
  expect_message(*ws, "Eco: ", true);

  auto exact = start_echo({"--prefix", ""});
  auto conformance = ws_client(exact.ws_port("echo"));
  ASSERT_TRUE(conformance->send_text(""));
  expect_message(*conformance, "", false);
  ASSERT_TRUE(conformance->send_binary(""));
  expect_message(*conformance, "", true);
}

TEST(EchoWeb, OneMebibyteByDefaultAndNotOneByteMore) {
  auto server = start_echo();
  const auto port = server.ws_port("echo");
  auto ws = ws_client(port, {.timeout = 20'000ms});
  const std::string text(kMiB, 'a');
  ASSERT_TRUE(ws->send_text(text));
  expect_message(*ws, "Eco: " + text, false, 20'000ms);
  const auto bytes = all_bytes(kMiB);
  ASSERT_TRUE(ws->send_binary(bytes));
  expect_message(*ws, "Eco: " + bytes, true, 20'000ms);

  auto big = ws_client(port, {.timeout = 20'000ms});
  big->send_binary(all_bytes(kMiB + 1));  // may fail half-way: the server closes
  ASSERT_TRUE(big->closed_within(kIo));
  EXPECT_EQ(big->close_code(), 1009) << "a message over --max-message (1 MiB by default)";
  expect_still_echoing(port);
}

TEST(EchoWeb, SixteenMebibytesWithMaxMessage) {
  auto server = start_echo({"--max-message", "16777216", "--prefix", ""});
  const auto port = server.ws_port("echo");
  auto ws = ws_client(port, {.timeout = 60'000ms});
  const auto bytes = all_bytes(16 * kMiB);
  ASSERT_TRUE(ws->send_binary(bytes));
  expect_message(*ws, bytes, true, 60'000ms);
  const std::string text(16 * kMiB, 'z');
  ASSERT_TRUE(ws->send_text(text));
  expect_message(*ws, text, false, 60'000ms);

  auto big = ws_client(port, {.timeout = 60'000ms});
  big->send_binary(all_bytes(16 * kMiB + 1));
  ASSERT_TRUE(big->closed_within(kIo));
  EXPECT_EQ(big->close_code(), 1009);
  expect_still_echoing(port, "");
}

TEST(EchoWeb, MaxMessageCountsTheWholeFragmentedMessage) {
  auto server = start_echo({"--max-message", "1000"});
  const auto port = server.ws_port("echo");
  auto ws = ws_client(port);
  ASSERT_TRUE(ws->send_text(std::string(1000, 'x')));
  expect_message(*ws, "Eco: " + std::string(1000, 'x'), false);
  // 600 + 600 bytes: each fragment fits, the message does not.
  ws->send_fragment(std::string(600, 'x'), false);
  ws->send_fragment(std::string(600, 'x'), true);
  ASSERT_TRUE(ws->closed_within(kIo));
  EXPECT_EQ(ws->close_code(), 1009);
  expect_still_echoing(port);
}

TEST(EchoWeb, FragmentedMessagesAreEchoedWhole) {
  auto server = start_echo();
  auto ws = ws_client(server.ws_port("echo"));
  ASSERT_TRUE(ws->send_fragment("Ho", false));
  ASSERT_TRUE(ws->send_fragment("", false));  // an empty fragment is allowed
  ASSERT_TRUE(ws->send_fragment("la ", false));
  EXPECT_EQ(ws->read(300ms), std::nullopt) << "no reply before the message is complete";
  ASSERT_TRUE(ws->send_fragment("mundo", true));
  expect_message(*ws, "Eco: Hola mundo", false);
  // Binary, and a UTF-8 character split across two text fragments.
  ASSERT_TRUE(ws->send_fragment(std::string("\x00\x01", 2), false, true));
  ASSERT_TRUE(ws->send_fragment(std::string("\xfe\xff", 2), true, true));
  expect_message(*ws, std::string("Eco: \x00\x01\xfe\xff", 9), true);
  ASSERT_TRUE(ws->send_fragment("\xce", false));
  ASSERT_TRUE(ws->send_fragment("\xba", true));
  expect_message(*ws, "Eco: \xce\xba", false);
}

TEST(EchoWeb, PingsGetTheirPayloadBackAlsoBetweenFragments) {
  auto server = start_echo();
  auto ws = ws_client(server.ws_port("echo"));
  ASSERT_TRUE(ws->ping("abc"));
  EXPECT_EQ(ws->next_pong(), "abc");
  ASSERT_TRUE(ws->ping(""));
  EXPECT_EQ(ws->next_pong(), "");
  const std::string longest(125, 'p');
  ASSERT_TRUE(ws->ping(longest));
  EXPECT_EQ(ws->next_pong(), longest);
  // Between the fragments of a message: answered at once, and the message
  // still arrives whole.
  ASSERT_TRUE(ws->send_fragment("Ho", false));
  ASSERT_TRUE(ws->ping("p1"));
  EXPECT_EQ(ws->next_pong(), "p1");
  ASSERT_TRUE(ws->send_fragment("la", true));
  expect_message(*ws, "Eco: Hola", false);
  EXPECT_EQ(ws->next_pong(200ms), std::nullopt) << "one pong per ping";
}

TEST(EchoWeb, TheClientsCloseCodeIsEchoed) {
  auto server = start_echo();
  const auto port = server.ws_port("echo");
  for (const int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    SCOPED_TRACE("close code " + std::to_string(code));
    auto ws = ws_client(port);
    ASSERT_TRUE(ws->send_text("adios"));
    expect_message(*ws, "Eco: adios", false);
    ws->close(code);
    EXPECT_TRUE(ws->closed_within(0ms)) << "the server did not answer the close";
    EXPECT_EQ(ws->close_code(), code);
  }
  expect_still_echoing(port);
}

TEST(EchoWeb, TheQuitWordClosesWith1000) {
  auto server = start_echo();
  const auto port = server.ws_port("echo");
  for (const std::string word : {"salir", "SALIR", "  Salir \t"}) {
    SCOPED_TRACE("\"" + escape(word) + "\"");
    auto ws = ws_client(port);
    ASSERT_TRUE(ws->send_text(word));
    ASSERT_TRUE(ws->closed_within(kIo));
    EXPECT_EQ(ws->close_code(), 1000);
  }
  // Not the quit word: a longer text, and a binary message.
  auto ws = ws_client(port);
  ASSERT_TRUE(ws->send_text("salir ya"));
  expect_message(*ws, "Eco: salir ya", false);
  ASSERT_TRUE(ws->send_binary("salir"));
  expect_message(*ws, "Eco: salir", true);
  // And nothing before the close: the quit word gets no reply.
  ASSERT_TRUE(ws->send_text("salir"));
  EXPECT_EQ(ws->read(kIo), std::nullopt);
  EXPECT_TRUE(ws->closed_within(0ms));
  EXPECT_EQ(ws->close_code(), 1000);
  expect_still_echoing(port);
}

// A client that sends no message for --idle-timeout is closed with 1001,
// as the TCP echo closes a silent client: answering the server's pings (any
// library does it by itself) is not saying anything. A client that does not
// even answer them is in tests/faults/websocket_frames_test.cpp.
TEST(EchoWeb, IdleClientsAreClosedWith1001) {
  auto server = start_echo({"--idle-timeout", "1"});
  const auto port = server.ws_port("echo");
  auto idle = ws_client(port);
  const auto started = Clock::now();
  ASSERT_TRUE(idle->closed_within(kIo)) << "a client silent for 5 s is still open with --idle-timeout 1";
  EXPECT_EQ(idle->close_code(), 1001);
  EXPECT_GE(Clock::now() - started, 800ms) << "closed before its idle timeout";
  expect_still_echoing(port);
}

TEST(EchoWeb, AnyPathUpgradesAndAPlainGetGets426) {
  auto server = start_echo();
  const auto port = server.ws_port("echo");
  for (const std::string path : {"/", "/ws", "/echo/de/verdad?x=1"}) {
    SCOPED_TRACE(path);
    auto ws = ws_client(port, {.path = path});
    ASSERT_TRUE(ws->send_text("hola"));
    expect_message(*ws, "Eco: hola", false);
  }
  for (const std::string path : {"/", "/ws"}) {
    const auto answer = http_get(port, path);
    EXPECT_EQ(answer.rfind("HTTP/1.1 426", 0), 0u) << escape(answer);
  }
  expect_still_echoing(port);
}

TEST(EchoWeb, DeflateIsOfferedUnlessNoDeflate) {
  auto server = start_echo({"--prefix", ""});
  auto ws = ws_client(server.ws_port("echo"), {.timeout = 20'000ms, .deflate = true});
  EXPECT_NE(ws->extensions().find("permessage-deflate"), std::string::npos) << "'" << ws->extensions() << "'";
  std::string text;
  while (text.size() < 300'000) text += "El veloz murcielago hindu comia feliz cardillo y kiwi. ";
  ASSERT_TRUE(ws->send_text(text));
  expect_message(*ws, text, false, 20'000ms);
  const auto bytes = all_bytes(kMiB);  // the whole 1 MiB, measured inflated
  ASSERT_TRUE(ws->send_binary(bytes));
  expect_message(*ws, bytes, true, 20'000ms);
  ASSERT_TRUE(ws->send_text("corto"));
  expect_message(*ws, "corto", false);
  // Without deflate offered, none is used.
  auto plain = ws_client(server.ws_port("echo"));
  EXPECT_EQ(plain->extensions(), "");

  auto off = start_echo({"--no-deflate"});
  auto refused = ws_client(off.ws_port("echo"), {.deflate = true});
  EXPECT_EQ(refused->extensions().find("permessage-deflate"), std::string::npos) << "'" << refused->extensions() << "'";
  ASSERT_TRUE(refused->send_text("sin comprimir"));
  expect_message(*refused, "Eco: sin comprimir", false);
}

TEST(EchoWeb, DeflatedMessagesCountInflatedAgainstMaxMessage) {
  auto server = start_echo({"--max-message", "100000"});
  auto ws = ws_client(server.ws_port("echo"), {.deflate = true});
  ASSERT_NE(ws->extensions().find("permessage-deflate"), std::string::npos);
  ws->send_text(std::string(200'000, 'a'));  // a few hundred bytes on the wire
  ASSERT_TRUE(ws->closed_within(kIo));
  EXPECT_EQ(ws->close_code(), 1009);
}

TEST(EchoWeb, GreetOverWebSocket) {
  auto server = Server::start("greet", {"--web-port", "0"});
  const auto port = server.ws_port("greet");
  for (int i = 0; i < 2; ++i) {
    auto ws = ws_client(port);
    expect_message(*ws, kGreeting, false);
    ASSERT_TRUE(ws->closed_within(kIo));
    EXPECT_EQ(ws->close_code(), 1000);
  }
  auto custom = Server::start("greet", {"--web-port", "0", "--message", "buenas"});
  auto ws = ws_client(custom.ws_port("greet"));
  expect_message(*ws, "buenas", false);
  ASSERT_TRUE(ws->closed_within(kIo));
  EXPECT_EQ(ws->close_code(), 1000);
}

TEST(EchoWeb, ServeAllHasTheEchoOnWebSocketAndNoWebTurnsItOff) {
  auto all = Server::start("all");
  EXPECT_EQ(all.socket("echo", "ws").host, "127.0.0.1");
  auto ws = ws_client(all.ws_port("echo"));
  ASSERT_TRUE(ws->send_text("hola"));
  expect_message(*ws, "Eco: hola", false);

  auto no_web = Server::start("all", {"--no-web"});
  ASSERT_TRUE(no_web.process().wait_stderr_contains("serving with", kIo)) << no_web.process().diagnostics();
  const auto out = no_web.process().stdout_text();
  EXPECT_EQ(out.find(" ws "), std::string::npos) << out;
  EXPECT_EQ(out.find(" http "), std::string::npos) << out;
}

TEST(EchoWeb, ConnectWsRoundTrip) {
  auto server = start_echo();
  const auto url = "ws://127.0.0.1:" + std::to_string(server.ws_port("echo")) + "/";
  const auto r = run_enchufe({"connect", url}, {.input = "hola\n¿qué tal?\n\n"});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\nEco: ¿qué tal?\nEco: \n") << r;
  // A path is allowed.
  const auto with_path = run_enchufe({"connect", url + "eco"}, {.input = "hola\n"});
  EXPECT_TRUE(with_path.exited_with(0)) << with_path;
  EXPECT_EQ(with_path.out, "Eco: hola\n") << with_path;
}

TEST(EchoWeb, ConnectWsEndsWhenTheServerCloses) {
  auto server = start_echo();
  const auto url = "ws://127.0.0.1:" + std::to_string(server.ws_port("echo")) + "/";
  Process client(enchufe_binary(), {"connect", url});
  ASSERT_TRUE(client.write_stdin("hola\nsalir\n"));
  // stdin stays open: the server's close after "salir" must end it.
  const auto status = client.wait_exit(kIo);
  ASSERT_TRUE(status.has_value()) << "connect did not end after salir: " << client.diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << client.diagnostics();
  EXPECT_EQ(client.stdout_text(), "Eco: hola\n") << client.diagnostics();
  expect_still_echoing(server.ws_port("echo"));
}

}  // namespace
}  // namespace enchufe::test
