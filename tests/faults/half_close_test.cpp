// Half-close: the client shuts down its sending side (shutdown(SHUT_WR))
// with replies still owed. Every one of them is delivered, then the server
// closes too.

#include "fault_support.hpp"

#include <gtest/gtest.h>

using namespace enchufe::test;
using namespace enchufe::test::faults;

namespace {

class HalfClose : public ::testing::TestWithParam<std::string> {};

// What a client of `service` sends before its half-close, and everything it
// must then receive before the EOF.
struct Exchange {
  std::string sent;
  std::string expected;  // exact, or (chat) the end of what arrives
};

Exchange echo_exchange(int client) {
  Exchange e;
  // Enough that the replies overrun the socket buffers: the server is still
  // writing them when the EOF arrives.
  for (int k = 0; k < 5000; ++k) {
    const std::string line = "linea " + std::to_string(client) + "-" + std::to_string(k) + " " +
                             std::string(static_cast<std::size_t>(k % 70), '.') + "\n";
    e.sent += line;
    e.expected += "Eco: " + line;
  }
  // The tutorial's client sends no newline: answered at the EOF, unterminated.
  e.sent += "sin salto";
  e.expected += "Eco: sin salto";
  return e;
}

}  // namespace

TEST_P(HalfClose, OwedRepliesAreDeliveredThenClose) {
  const std::string service = GetParam();
  auto server = FaultServer::start(service);
  auto steady = Steady::start(server);
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << server.diagnostics();
  MemoryWatch memory(server);

  constexpr int kClients = 5;
  std::vector<TcpClient> clients;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(TcpClient::connect("127.0.0.1", server.port()));
    ports.push_back(clients.back().local_port());
  }
  for (int i = 0; i < kClients; ++i) {
    auto& c = clients[i];
    SCOPED_TRACE("client " + std::to_string(i));
    if (service == "greet") {
      // Half-closed before the greeting is even read.
      const auto r = pump(c, "", {.shutdown_write_after = true});
      EXPECT_EQ(r.end, ReadEnd::complete) << r.describe();
      EXPECT_EQ(r.received, kGreeting) << r.describe();
    } else if (service == "echo") {
      const auto e = echo_exchange(i);
      const auto r = pump(c, e.sent, {.shutdown_write_after = true});
      EXPECT_EQ(r.end, ReadEnd::complete) << "EOF expected after the replies: " << r.describe();
      EXPECT_EQ(r.sent, e.sent.size()) << r.describe();
      EXPECT_EQ(r.received.size(), e.expected.size()) << r.describe();
      EXPECT_TRUE(r.received == e.expected) << "replies differ from the lines sent: " << r.describe();
    } else {
      const std::string nick = "halfy" + std::to_string(i);
      const auto r = pump(c, nick + "\n/who\n/help\n", {.shutdown_write_after = true});
      EXPECT_EQ(r.end, ReadEnd::complete) << r.describe();
      EXPECT_NE(r.received.find("* you are " + nick + " now\n"), std::string::npos) << r.describe();
      EXPECT_NE(r.received.find(" in general: "), std::string::npos) << r.describe();
      const std::string last_help = "* anything else is said to the room; start a line with // to say something "
                                    "beginning with /\n";
      const auto help_end = r.received.find(last_help);
      ASSERT_NE(help_end, std::string::npos) << "the last owed reply: " << r.describe();
      // After it only room traffic ("[HH:MM:SS] ...", e.g. the next client
      // joining), which the server owed too, or the confirmation of the
      // join to general with its history, which comes from the room's home
      // loop and may trail commands sent right after connecting; then EOF.
      for (const auto& line : split_lines(r.received.substr(help_end + last_help.size()))) {
        const bool room = line.rfind("[", 0) == 0 || line == "* you are in general now; /who lists who is here" ||
                          (line.rfind("* the last ", 0) == 0 && line.ends_with(" in general:"));
        EXPECT_TRUE(room) << "unexpected after the help: \"" << escape(line) << "\"";
      }
    }
    c.close();
  }

  // greet closes first ("done"); the others see the client close first.
  const std::string reason = service == "greet" ? ": done" : ": client closed the connection";
  const auto closes = server.tally_closes(ports, reason, kIo);
  EXPECT_TRUE(closes.all()) << closes.describe() << "\n" << server.diagnostics();
  ASSERT_TRUE(steady->wait_rounds(3, kIo)) << "the steady client stalled\n" << server.diagnostics();
  expect_server_healthy(server, steady.get(), memory, 16 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Services, HalfClose, ::testing::Values("greet", "echo", "chat"),
                         service_param_name);
