// Hostile input: a 10 MB line without a newline, NUL bytes, random binary,
// invalid UTF-8, terminal escapes. The server neither buffers the 10 MB nor
// chokes on the bytes; echo is byte-exact, chat sanitizes what it relays,
// and no raw control byte reaches the server's log.

#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

constexpr std::size_t kTenMegabytes = 10 * 1000 * 1000;

// A control byte other than '\n' in the log: a client wrote into the
// operator's terminal.
std::optional<std::size_t> raw_control_byte(const std::string& log) {
  for (std::size_t i = 0; i < log.size(); ++i) {
    const auto c = static_cast<unsigned char>(log[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return i;
  }
  return std::nullopt;
}

// Hand-picked nasty lines (each without its '\n').
std::vector<std::string> nasty_lines() {
  using namespace std::string_literals;
  return {
      "\0\0\0"s,                     // NULs only
      "a\0b"s,                       // NUL inside
      "\x1b[2J\x1b[31mred"s,         // terminal escapes (clear screen, colour)
      "bell\x07 and del\x7f"s,       // BEL, DEL
      "\xff\xfe invalid"s,           // never valid in UTF-8
      "\xc3\x28 bad continuation"s,  // a lead byte without its continuation
      "\xc0\xaf overlong slash"s,    // overlong encoding of '/'
      "\xed\xa0\x80 surrogate"s,     // UTF-16 surrogate in UTF-8
      "\xf4\x90\x80\x80 past max"s,  // above U+10FFFF
      "\xc2\x9b""31m C1 CSI"s,       // C1 control (CSI)
      "\xe2\x80\xae""desrever"s,     // right-to-left override
      "trunc\xe2\x82"s,              // cut multi-byte sequence at the end
      "carriage\rreturn"s,           // a bare CR inside a line
      "\t tab \t"s,
      "¿Cómo estás? ñandú 日本語 🎉"s,  // valid UTF-8 passes
  };
}

// Lines joined with "\n", for failure messages.
std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

}  // namespace

// ---- echo ---------------------------------------------------------------------------

TEST(Garbage, EchoTenMegabyteLineIsCutAtMaxLineWithoutBuffering) {
  auto server = FaultServer::start("echo");
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  auto client = TcpClient::connect("127.0.0.1", server.port());
  const auto port = client.local_port();
  const std::string line(kTenMegabytes, 'a');
  const auto r = pump(client, line, {.timeout = 10'000ms});
  // The error line, then EOF (or a reset, if our unread bytes outlived the
  // server's 1 s lingering close).
  EXPECT_EQ(r.received, "error: line too long (over 65536 bytes); closing\n") << r.describe();
  EXPECT_TRUE(r.end == ReadEnd::complete || (r.end == ReadEnd::error && r.error == ECONNRESET)) << r.describe();

  const auto closed = server.wait_closed_line(port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": line too long"), std::string::npos) << *closed;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  // Nowhere near 10 MB: the line is dropped as soon as it passes 64 KiB.
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// NULs, escapes, invalid UTF-8 and 256 KB of random bytes: every line comes
// back byte for byte, in order.
TEST(Garbage, EchoBinaryGarbageIsEchoedByteForByte) {
  // A long --partial-delay: a pause inside a long random line (a busy test
  // machine) must not split it into two messages, which would be right but
  // would not compare equal.
  auto server = FaultServer::start("echo", {"-v", "--partial-delay", "5000"});
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  std::string sent, expected;
  for (const auto& l : nasty_lines()) {
    sent += l + "\n";
    expected += "Eco: " + l + "\n";
  }
  const std::string random = random_bytes(256 * 1024, 20240601) + "\n";
  std::size_t from = 0;
  while (from < random.size()) {
    const auto nl = random.find('\n', from);
    const std::string segment = random.substr(from, nl + 1 - from);  // with its '\n' (and any '\r' before it)
    ASSERT_LT(segment.size(), 65536u) << "the seed gives a line over --max-line";
    std::string bare = segment.substr(0, segment.size() - 1);
    std::string_view trimmed = bare;
    ASSERT_FALSE(trimmed.find("salir") != std::string_view::npos && trimmed.size() < 12) << "the seed says salir";
    expected += "Eco: " + segment;
    from = nl + 1;
  }
  sent += random;

  auto client = TcpClient::connect("127.0.0.1", server.port());
  const auto port = client.local_port();
  const auto r = pump(client, sent, {.shutdown_write_after = true});
  EXPECT_EQ(r.end, ReadEnd::complete) << r.describe();
  EXPECT_EQ(r.received.size(), expected.size()) << r.describe();
  if (r.received != expected) {
    const auto diff = std::mismatch(r.received.begin(), r.received.end(), expected.begin(), expected.end());
    const auto at = static_cast<std::size_t>(diff.first - r.received.begin());
    ADD_FAILURE() << "replies differ at byte " << at << ": got \"" << escape(r.received.substr(at, 80))
                  << "\", expected \"" << escape(expected.substr(at, 80)) << "\"";
  }
  const auto closed = server.wait_closed_line(port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": client closed the connection"), std::string::npos) << *closed;

  // -v logged every message; none may carry a raw control byte.
  const auto log = server.process().stderr_text();
  const auto bad = raw_control_byte(log);
  EXPECT_FALSE(bad) << "raw control byte in the log: \"" << escape(log.substr(bad.value_or(0) > 40 ? *bad - 40 : 0, 80))
                    << "\"";
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

// ---- chat ---------------------------------------------------------------------------

// Chat refuses an over-long line but keeps the client: the 10 MB line is
// skipped up to its newline, and the next command is answered.
TEST(Garbage, ChatTenMegabyteLineIsRefusedAndTheClientStays) {
  auto server = FaultServer::start("chat");
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  auto watcher = chat_join(server.port(), "watcher");
  MemoryWatch memory(server);

  auto client = chat_join(server.port(), "bigline");
  const auto r = pump(client, std::string(kTenMegabytes, 'a') + "\n/who\n", {.until_eof = false});
  ASSERT_EQ(r.sent, kTenMegabytes + 6) << r.describe();
  const auto rest = client.recv_until(" in general: ", kIo);
  const std::string all = r.received + rest.data;
  EXPECT_TRUE(rest.complete() || all.find(" in general: ") != std::string::npos)
      << "the command after the long line was not answered: " << rest.describe();
  const std::string refusal = "error: line too long (over 4096 bytes): not sent\n";
  const auto first = all.find(refusal);
  EXPECT_NE(first, std::string::npos) << escape(all);
  EXPECT_EQ(all.find(refusal, first + 1), std::string::npos) << "refused once, not once per read: " << escape(all);

  // Still a member: it can leave politely.
  ASSERT_TRUE(client.send_all("/quit\n"));
  const auto bye = client.recv_until_eof(kIo);
  EXPECT_TRUE(bye.complete()) << bye.describe();
  EXPECT_NE(bye.data.find("* bye!\n"), std::string::npos) << bye.describe();

  // Nobody heard any of it.
  const auto heard = watcher.recv_for(300ms);
  EXPECT_EQ(heard.data.find("aaaaaaaa"), std::string::npos) << escape(heard.data);
  EXPECT_TRUE(server.wait_stderr_line({"closed", "client quit"}, kIo)) << server.diagnostics();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// What a client says reaches the others sanitized: no control byte, no
// invalid UTF-8, no bidi override ever reaches another member's terminal.
TEST(Garbage, ChatRelaysGarbageOnlySanitized) {
  auto server = FaultServer::start("chat", {"-v"});
  auto steady = Steady::start(server);  // also checks every line it hears is clean
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  auto watcher = chat_join(server.port(), "watcher");
  auto dirty = chat_join(server.port(), "dirty");
  MemoryWatch memory(server);

  std::vector<std::string> lines = nasty_lines();
  // Random bytes, no newline; the flood limit allows bursts of 20 lines.
  for (std::uint64_t seed = 1; lines.size() < 19; ++seed) {
    std::string junk = random_bytes(200, seed);
    std::replace(junk.begin(), junk.end(), '\n', '#');
    junk.insert(0, "junk ");  // never a command, never empty
    lines.push_back(junk);
  }
  std::string sent;
  for (const auto& l : lines) sent += l + "\n";
  ASSERT_TRUE(dirty.send_all(sent));

  std::vector<std::string> heard;
  std::string pending;
  const auto deadline = Clock::now() + kIo;
  while (heard.size() < lines.size() && Clock::now() < deadline) {
    pending += watcher.recv_some(200ms).data;
    std::size_t from = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', from)) {
      const std::string line = pending.substr(from, nl - from);
      if (line.find("<dirty> ") != std::string::npos) heard.push_back(line);
      EXPECT_TRUE(is_clean_text(line)) << "the watcher got \"" << escape(line) << "\"";
      from = nl + 1;
    }
    pending.erase(0, from);
  }
  // Every line has something visible once sanitised, and the nickname and
  // the 19 lines fit in the flood burst (20): each is relayed, in order.
  ASSERT_EQ(heard.size(), lines.size()) << "lines vanished; heard:\n" << escape(joined(heard), 4000) << "\n"
                                        << server.diagnostics();
  EXPECT_NE(heard[1].find("<dirty> a^@b"), std::string::npos) << "NUL shown as ^@: " << escape(heard[1]);
  EXPECT_NE(heard[14].find("¿Cómo estás? ñandú 日本語 🎉"), std::string::npos)
      << "valid UTF-8 passes unchanged: " << escape(heard[14]);
  for (std::size_t i = nasty_lines().size(); i < heard.size(); ++i) {
    EXPECT_NE(heard[i].find("<dirty> junk "), std::string::npos) << "line " << i << " out of order: " << escape(heard[i]);
  }
  const auto log = server.process().stderr_text();
  const auto bad = raw_control_byte(log);
  EXPECT_FALSE(bad) << "raw control byte in the log: \"" << escape(log.substr(bad.value_or(0) > 40 ? *bad - 40 : 0, 80))
                    << "\"";
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}

// ---- greet ----------------------------------------------------------------------------

// greet never reads: 10 MB of random bytes (NULs included) change nothing,
// the greeting arrives whole.
TEST(Garbage, GreetIgnoresTenMegabytesOfRandomBytes) {
  auto server = FaultServer::start("greet");
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  auto client = TcpClient::connect("127.0.0.1", server.port());
  const auto port = client.local_port();
  const auto r = pump(client, random_bytes(kTenMegabytes, 7), {.timeout = 10'000ms});
  EXPECT_EQ(r.received, kGreeting) << r.describe();
  EXPECT_TRUE(r.end == ReadEnd::complete || (r.end == ReadEnd::error && r.error == ECONNRESET)) << r.describe();
  const auto closed = server.wait_closed_line(port, kIo);
  ASSERT_TRUE(closed) << server.diagnostics();
  EXPECT_NE(closed->find(": done"), std::string::npos) << *closed;
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 8 * 1024);
}
