// `enchufe serve echo`: the tutorial's Example 3, line by line.

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

using namespace enchufe::test;

namespace {

constexpr auto kIo = 5000ms;

class Echo : public ::testing::Test {
 protected:
  // Starts `serve echo --host 127.0.0.1 --port 0 EXTRA...` (once per test).
  void start(const std::vector<std::string>& extra = {}) { server_.emplace(Server::start("echo", extra)); }
  TcpClient connect() {
    if (!server_) start();
    return TcpClient::connect("127.0.0.1", server_->port("echo"));
  }
  Server& server() { return *server_; }

  // Sends `request` on a new connection and reads until the server closes.
  ReadResult exchange_until_eof(const std::string& request) {
    auto client = connect();
    EXPECT_TRUE(client.send_all(request));
    return client.recv_until_eof(kIo);
  }

  std::optional<Server> server_;
};

}  // namespace

TEST_F(Echo, RepliesWithPrefixAndKeepsTheNewline) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("hola\n"));
  const auto r = client.recv_until("\n", kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Eco: hola\n");
}

TEST_F(Echo, KeepsCrLf) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("hola\r\n"));
  const auto r = client.recv_until("\n", kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Eco: hola\r\n");
}

TEST_F(Echo, ManyRoundTripsOnOneConnection) {
  auto client = connect();
  for (int i = 0; i < 200; ++i) {
    const std::string line = "mensaje " + std::to_string(i) + (i % 2 ? "\r\n" : "\n");
    ASSERT_TRUE(client.send_all(line));
    const auto r = client.recv_until("\n", kIo);
    ASSERT_TRUE(r.complete()) << "round " << i << ": " << r;
    ASSERT_EQ(r.data, "Eco: " + line);
  }
}

TEST_F(Echo, EmptyLineAndUtf8AreEchoedByteForByte) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("\n"));
  EXPECT_EQ(client.recv_until("\n", kIo).data, "Eco: \n");
  const std::string text = "¿Cómo estás? ñandú 日本語 \x01\x7f\n";
  ASSERT_TRUE(client.send_all(text));
  EXPECT_EQ(client.recv_until("\n", kIo).data, "Eco: " + text);
  const std::string with_nul("a\0b\n", 4);
  ASSERT_TRUE(client.send_all(with_nul));
  EXPECT_EQ(client.recv_until("\n", kIo).data, "Eco: " + with_nul);
}

TEST_F(Echo, PipelinedLinesInOneWriteGetOneReplyEachInOrder) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("uno\ndos\r\ntres\n\ncuatro\n"));
  const std::string expected = "Eco: uno\nEco: dos\r\nEco: tres\nEco: \nEco: cuatro\n";
  const auto r = client.recv_exact(expected.size(), kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, expected);
  const auto more = client.recv_for(300ms);
  EXPECT_EQ(more.data, "") << "nothing more than one reply per line";
  EXPECT_EQ(more.end, ReadEnd::timeout) << more;
}

TEST_F(Echo, ManyPipelinedLines) {
  auto client = connect();
  std::string request, expected;
  for (int i = 0; i < 5000; ++i) {
    const std::string line = "linea " + std::to_string(i) + "\n";
    request += line;
    expected += "Eco: " + line;
  }
  ASSERT_TRUE(client.send_all(request));
  const auto r = client.recv_exact(expected.size(), kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_TRUE(r.data == expected) << "replies differ from the lines sent (first 300 bytes: " << escape(r.data) << ")";
}

TEST_F(Echo, LineSplitAcrossWritesIsOneMessage) {
  start({"--partial-delay", "2000"});
  auto client = connect();
  ASSERT_TRUE(client.send_all("ho"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(client.send_all("la\n"));
  const auto r = client.recv_until("\n", kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Eco: hola\n");
}

// The tutorial's client sends "Hola" without a newline and waits.
TEST_F(Echo, MessageWithoutNewlineIsAnsweredAfterAPauseWithoutTerminator) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("hola"));
  const auto r = client.recv_until("Eco: hola", kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Eco: hola");
  const auto more = client.recv_for(300ms);
  EXPECT_EQ(more.data, "") << "no terminator is added";
  EXPECT_EQ(more.end, ReadEnd::timeout) << "the connection stays open: " << more;

  // And the conversation goes on.
  ASSERT_TRUE(client.send_all("otra"));
  EXPECT_EQ(client.recv_until("Eco: otra", kIo).data, "Eco: otra");
}

TEST_F(Echo, PartialDelayZeroAnswersEveryReadAtOnce) {
  start({"--partial-delay", "0"});
  auto client = connect();
  // "At once" has a bound: the fastest of ten round trips (the minimum
  // shrugs off a loaded machine) must not wait for any pause; the default
  // pause is 20 ms.
  Duration fastest = kIo;
  for (int i = 0; i < 10; ++i) {
    const std::string word = "hola" + std::to_string(i);
    const auto sent = Clock::now();
    ASSERT_TRUE(client.send_all(word));
    const auto r = client.recv_until("Eco: " + word, kIo);
    ASSERT_TRUE(r.complete()) << r;
    fastest = std::min(fastest, std::chrono::duration_cast<Duration>(Clock::now() - sent));
  }
  EXPECT_LT(fastest, 10ms) << "--partial-delay 0 still waits before answering a partial line";
}

TEST_F(Echo, QuitWordClosesWithoutReply) {
  start();
  for (const std::string request : {"salir\n", "SALIR\n", "  salir \r\n", "Salir\r\n", "\tsAlIr\n"}) {
    const auto r = exchange_until_eof(request);
    EXPECT_TRUE(r.complete()) << "\"" << escape(request) << "\": " << r;
    EXPECT_EQ(r.data, "") << "\"" << escape(request) << "\" must get no reply";
  }
}

// As the tutorial's client sends it: no newline, then it waits or closes.
TEST_F(Echo, QuitWordWithoutNewline) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("salir"));
  const auto r = client.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "");
}

TEST_F(Echo, QuitWordInsideALineIsNotQuitting) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("no quiero salir\nsalirse\n"));
  const std::string expected = "Eco: no quiero salir\nEco: salirse\n";
  const auto r = client.recv_exact(expected.size(), kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, expected);
}

TEST_F(Echo, LinesAfterTheQuitWordAreIgnored) {
  const auto r = exchange_until_eof("uno\nsalir\ndos\n");
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Eco: uno\n");
}

TEST_F(Echo, LineLongerThanMaxLineGetsAnErrorLineThenClose) {
  start({"--max-line", "16"});
  {
    auto client = connect();
    ASSERT_TRUE(client.send_all(std::string(16, 'x') + "\n"));
    EXPECT_EQ(client.recv_until("\n", kIo).data, "Eco: " + std::string(16, 'x') + "\n") << "16 bytes fit";
  }
  for (const std::string& request : {std::string(17, 'y') + "\n", std::string(100, 'z') + "\n",
                                    std::string(100, 'w'),  // no newline: too long already
                                    "ok\n" + std::string(5000, 'v') + "\n"}) {
    const auto r = exchange_until_eof(request);
    ASSERT_TRUE(r.complete()) << r;
    std::string data = r.data;
    if (request.rfind("ok\n", 0) == 0) {
      ASSERT_EQ(data.rfind("Eco: ok\n", 0), 0u) << r;
      data.erase(0, 8);
    }
    EXPECT_EQ(data.rfind("error:", 0), 0u) << "reply should start with \"error:\": " << r;
    EXPECT_EQ(std::count(data.begin(), data.end(), '\n'), 1) << "one line: " << r;
    EXPECT_EQ(data.back(), '\n') << r;
  }
}

// --max-line counts the line without its terminator, however the bytes are
// split into segments: a line of exactly the maximum ending in "\r\n" is
// fine whether or not the "\r" and the "\n" arrive together.
TEST_F(Echo, LineOfExactlyMaxLineWithCrLfIsAcceptedHoweverItIsSplit) {
  start({"--max-line", "16", "--partial-delay", "5000"});
  const std::string line(16, 'x');
  const std::vector<std::pair<std::string, std::string>> splits = {
      {line + "\r\n", ""},
      {line, "\r\n"},
      {line + "\r", "\n"},  // the segment ends between "\r" and "\n"
  };
  for (const auto& [first, second] : splits) {
    auto client = connect();
    ASSERT_TRUE(client.send_all(first));
    if (!second.empty()) {
      std::this_thread::sleep_for(100ms);  // the server reads the first part alone
      ASSERT_TRUE(client.send_all(second));
    }
    const auto r = client.recv_until("\n", kIo);
    EXPECT_EQ(r.data, "Eco: " + line + "\r\n")
        << "sent \"" << escape(first) << "\" then \"" << escape(second) << "\": " << r;
  }
}

TEST_F(Echo, LongLineWithinTheDefaultLimitIsEchoedWhole) {
  auto client = connect();
  std::string line(60'000, 'a');
  for (std::size_t i = 0; i < line.size(); ++i) line[i] = static_cast<char>('a' + i % 26);
  line += "\n";
  ASSERT_TRUE(client.send_all(line));
  const auto r = client.recv_until("\n", kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_TRUE(r.data == "Eco: " + line) << "reply of " << r.data.size() << " bytes differs";
}

TEST_F(Echo, CustomPrefixAndQuitWord) {
  start({"--prefix", "Echo: ", "--quit-word", "quit"});
  auto client = connect();
  ASSERT_TRUE(client.send_all("hola\n"));
  EXPECT_EQ(client.recv_until("\n", kIo).data, "Echo: hola\n");
  ASSERT_TRUE(client.send_all("salir\n"));
  EXPECT_EQ(client.recv_until("\n", kIo).data, "Echo: salir\n") << "salir is an ordinary line now";
  ASSERT_TRUE(client.send_all("QUIT\n"));
  const auto r = client.recv_until_eof(kIo);
  EXPECT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "");
}

TEST_F(Echo, HalfCloseStillGetsEveryReplyThenEof) {
  auto client = connect();
  ASSERT_TRUE(client.send_all("a\nb\r\nc\n"));
  client.shutdown_write();
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Eco: a\nEco: b\r\nEco: c\n");
}

TEST_F(Echo, HalfCloseAnswersAnUnterminatedTail) {
  start({"--partial-delay", "60000"});  // only the EOF can deliver "b"
  auto client = connect();
  ASSERT_TRUE(client.send_all("a\nb"));
  client.shutdown_write();
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "Eco: a\nEco: b");
}

TEST_F(Echo, HalfCloseWithoutSendingAnything) {
  auto client = connect();
  client.shutdown_write();
  const auto r = client.recv_until_eof(kIo);
  ASSERT_TRUE(r.complete()) << r;
  EXPECT_EQ(r.data, "");
}

TEST_F(Echo, ClientsAreIndependent) {
  auto a = connect();
  auto b = connect();
  auto c = connect();
  ASSERT_TRUE(a.send_all("soy a\n"));
  ASSERT_TRUE(b.send_all("soy b\n"));
  ASSERT_TRUE(c.send_all("salir\n"));
  EXPECT_EQ(b.recv_until("\n", kIo).data, "Eco: soy b\n");
  EXPECT_EQ(a.recv_until("\n", kIo).data, "Eco: soy a\n");
  EXPECT_TRUE(c.recv_until_eof(kIo).complete());
  // c leaving does not affect the others.
  ASSERT_TRUE(a.send_all("sigo\n"));
  EXPECT_EQ(a.recv_until("\n", kIo).data, "Eco: sigo\n");
}

TEST_F(Echo, ClientResetDoesNotHurtTheServer) {
  auto a = connect();
  ASSERT_TRUE(a.send_all("hola\n"));
  a.reset();
  auto b = connect();
  ASSERT_TRUE(b.send_all("hola\n"));
  EXPECT_EQ(b.recv_until("\n", kIo).data, "Eco: hola\n");
}

TEST_F(Echo, IdleTimeoutClosesASilentClient) {
  start({"--idle-timeout", "1"});
  auto silent = connect();
  const auto started = Clock::now();
  const auto r = silent.recv_until_eof(5000ms);
  const auto waited = Clock::now() - started;
  ASSERT_TRUE(r.complete()) << "a silent client should be closed after 1 s: " << r;
  EXPECT_EQ(r.data, "");
  EXPECT_GE(waited, 800ms);
  EXPECT_LE(waited, 3000ms);
}

TEST_F(Echo, IdleTimeoutSparesAnActiveClient) {
  start({"--idle-timeout", "1"});
  auto active = connect();
  for (int i = 0; i < 5; ++i) {  // 2 s of traffic, never 1 s of silence
    std::this_thread::sleep_for(400ms);
    ASSERT_TRUE(active.send_all("sigo aqui\n"));
    const auto r = active.recv_until("\n", kIo);
    ASSERT_TRUE(r.complete()) << "round " << i << ": " << r;
    EXPECT_EQ(r.data, "Eco: sigo aqui\n");
  }
}

// A client that writes much faster than it reads: back-pressure must lose,
// reorder or corrupt nothing.
TEST_F(Echo, BackPressureLosesNothing) {
  auto client = connect();
  std::string request, expected;
  for (int i = 0; i < 20'000; ++i) {
    const std::string line = "linea numero " + std::to_string(i) + " " + std::string(i % 100, '.') + "\n";
    request += line;
    expected += "Eco: " + line;
  }
  // Send everything before reading anything; the sender runs on its own
  // thread since the server stops reading while its replies pile up.
  bool sent = false;
  std::thread sender([&] { sent = client.send_all(request, 30'000ms); });
  std::this_thread::sleep_for(200ms);
  const auto r = client.recv_exact(expected.size(), 30'000ms);
  sender.join();
  EXPECT_TRUE(sent) << "errno " << client.last_error();
  ASSERT_TRUE(r.complete()) << r.end << " after " << r.data.size() << " of " << expected.size() << " bytes";
  EXPECT_TRUE(r.data == expected) << "replies differ from the lines sent";
}

// The server's own pause is no client's pause: when it stops reading a client
// that does not read its replies, a line it had read half of is not answered
// as a newline-less message (--partial-delay) but whole, once reading resumes.
TEST_F(Echo, BackPressureNeverCutsALine) {
  auto client = connect();
  std::string request, expected;
  for (int i = 0; i < 8'000; ++i) {
    // 1,000-byte lines: the server's 64 KiB reads end inside one.
    const std::string number = std::to_string(i);
    const std::string line = number + std::string(999 - number.size(), 'x') + "\n";
    request += line;
    expected += "Eco: " + line;
  }
  bool sent = false;
  std::thread sender([&] { sent = client.send_all(request, 30'000ms); });
  // Far longer than --partial-delay, and the replies fill every buffer on
  // the way (several MB), so the server pauses its reading in mid-line.
  std::this_thread::sleep_for(500ms);
  const auto r = client.recv_exact(expected.size(), 30'000ms);
  sender.join();
  EXPECT_TRUE(sent) << "errno " << client.last_error();
  ASSERT_TRUE(r.complete()) << r.end << " after " << r.data.size() << " of " << expected.size() << " bytes";
  const auto differ = std::mismatch(r.data.begin(), r.data.end(), expected.begin());
  EXPECT_TRUE(differ.first == r.data.end()) << "replies differ from byte " << (differ.first - r.data.begin()) << ": "
                                            << std::string(differ.first, r.data.end()).substr(0, 80);
}
