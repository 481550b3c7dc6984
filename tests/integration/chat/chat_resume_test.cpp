// Coming back after a dropped connection: /ids numbers a terminal's room
// lines, /resume ID gives what it missed (from the room's memory, which a
// restart fills from the store), and `enchufe connect --reconnect` does both
// by itself across a server restart, showing each line once.

#include "chat/chat_client.hpp"
#include "support/files.hpp"

#include <regex>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

// "#12 [10:00:00] <bob> hola" -> 12, and the line as the others see it
// ("[t] <bob> hola"); 0 if it is not numbered.
std::pair<std::uint64_t, std::string> numbered(const std::string& line) {
  static const std::regex kNumbered(R"(^#(\d+) \[\d\d:\d\d:\d\d\] (.*)$)");
  std::smatch m;
  if (!std::regex_match(line, m, kNumbered)) return {0, line};
  return {std::stoull(m[1]), "[t] " + m[2].str()};
}

std::uint64_t seen_up_to(const std::string& ids_on) {
  static const std::regex kIdsOn(R"(^\* ids on: room lines start with #ID; you have seen (\S+) up to #(\d+)$)");
  std::smatch m;
  return std::regex_match(ids_on, m, kIdsOn) ? std::stoull(m[2]) : UINT64_MAX;
}

class ChatResume : public ChatTest {
 protected:
  // /ids on for `who`: the id of the newest room line it has seen.
  static std::uint64_t ids_on(ChatClient& who) {
    EXPECT_TRUE(who.send("/ids on"));
    const std::string answer = who.next();
    const std::uint64_t seen = seen_up_to(answer);
    EXPECT_NE(seen, UINT64_MAX) << answer;
    return seen;
  }
};

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_F(ChatResume, IdsNumberTheRoomLinesOfOneClient) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::uint64_t before = ids_on(ana);
  ASSERT_TRUE(bob.send("hola"));
  EXPECT_EQ(bob.drain(), "");
  EXPECT_EQ(numbered(ana.next()), std::pair(before + 1, std::string("[t] <bob> hola")));
  // Only ana asked: bob's own line never comes back to him, and a third
  // member reads plain lines.
  ASSERT_TRUE(ana.send("y tú?"));
  EXPECT_EQ(bob.next(), "[t] <ana> y tú?");
  ASSERT_TRUE(ana.send("/ids off"));
  EXPECT_EQ(ana.next(), "* ids off");
  ASSERT_TRUE(bob.send("adiós"));
  EXPECT_EQ(ana.next(), "[t] <bob> adiós");
}

TEST_F(ChatResume, ResumeGivesTheLinesMissedOnceThenLiveOnes) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::uint64_t last = ids_on(ana);
  ASSERT_TRUE(ana.send("/quit"));
  EXPECT_EQ(ana.next(), "* bye!");
  EXPECT_EQ(bob.next(), "[t] * ana left (quit)");
  forget(ana);
  for (const char* text : {"uno", "dos", "tres"}) ASSERT_TRUE(bob.send(text));

  // Back as a new connection, with what ana knew: her name and last id.
  auto& back = guest();
  const std::string guest_name = back.nick;
  // The join replay any newcomer gets (a resuming client hides it).
  EXPECT_EQ(back.next(), "* the last 3 messages in general:");
  for (const char* text : {"uno", "dos", "tres"}) EXPECT_EQ(back.next(), std::string("[t] <bob> ") + text);
  ASSERT_TRUE(back.send("/ids on"));
  // In one read, so that the server has read /resume when it says "you are
  // ana now": a line shown before /resume is read comes again in its answer.
  ASSERT_TRUE(back.send("/nick ana\n/resume " + std::to_string(last)));
  EXPECT_NE(seen_up_to(back.next()), UINT64_MAX);
  EXPECT_EQ(back.next(), "* you are ana now");
  ASSERT_TRUE(bob.send("cuatro"));  // said as she resumes: in the answer or after it, once
  EXPECT_EQ(bob.next(), "[t] * " + guest_name + " is now known as ana");
  // The notices (ana left, a guest joined) are not replayed: the lines said are.
  const std::string header = back.next();
  EXPECT_TRUE(header == "* back in general: 3 lines you missed since #" + std::to_string(last) ||
              header == "* back in general: 4 lines you missed since #" + std::to_string(last))
      << header;
  std::vector<std::string> got;
  std::uint64_t previous = last;
  for (int i = 0; i < 4; ++i) {
    const auto [id, line] = numbered(back.next());
    EXPECT_GT(id, previous) << line;
    previous = id;
    got.push_back(line);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"[t] <bob> uno", "[t] <bob> dos", "[t] <bob> tres", "[t] <bob> cuatro"}));
  EXPECT_EQ(back.drain(), "");
  back.nick = "ana";
}

TEST_F(ChatResume, TheClientsOwnLinesAreNotGivenBack) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::uint64_t last = ids_on(ana);
  ASSERT_TRUE(ana.send("mío"));
  EXPECT_EQ(bob.next(), "[t] <ana> mío");
  ASSERT_TRUE(bob.send("suyo"));
  EXPECT_EQ(numbered(ana.next()).second, "[t] <bob> suyo");
  ASSERT_TRUE(ana.send("/resume " + std::to_string(last)));
  EXPECT_EQ(ana.next(), "* back in general: 1 line you missed since #" + std::to_string(last));
  EXPECT_EQ(numbered(ana.next()), std::pair(last + 2, std::string("[t] <bob> suyo")));
  EXPECT_EQ(ana.drain(), "");
}

TEST_F(ChatResume, WhatTheMemoryNoLongerHoldsIsSaidToBeSkipped) {
  start({"--history", "2"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::uint64_t last = ids_on(ana);
  for (const char* text : {"uno", "dos", "tres"}) {
    ASSERT_TRUE(bob.send(text));
    ana.next();
  }
  ASSERT_TRUE(ana.send("/resume " + std::to_string(last)));
  EXPECT_EQ(ana.next(), "* back in general: 2 lines you missed since #" + std::to_string(last));
  // uno is no longer kept: one line, counted by its id.
  EXPECT_EQ(ana.next(), "* 1 earlier line missed too (notices included): /history since " + std::to_string(last) +
                            " shows them");
  EXPECT_EQ(numbered(ana.next()).second, "[t] <bob> dos");
  EXPECT_EQ(numbered(ana.next()).second, "[t] <bob> tres");
  // Up to date: nothing, and an id this room never reached (a server that
  // numbers again) gives all it holds.
  ASSERT_TRUE(ana.send("/resume " + std::to_string(last + 3)));
  EXPECT_EQ(ana.next(), "* back in general: nothing new since #" + std::to_string(last + 3));
  ASSERT_TRUE(ana.send("/resume 999999"));
  EXPECT_EQ(ana.next(), "* back in general: 2 lines you missed since #0");
  EXPECT_EQ(ana.next(), "* " + std::to_string(last + 1) +
                            " earlier lines missed too (notices included): /history since 0 shows them");
  EXPECT_EQ(numbered(ana.next()).second, "[t] <bob> dos");
  EXPECT_EQ(numbered(ana.next()).second, "[t] <bob> tres");
  ASSERT_TRUE(ana.send("/resume x"));
  EXPECT_EQ(ana.next(), "error: usage: /resume ID (the last line id you saw)");
  EXPECT_EQ(ana.drain(), "");
}

// The whole way: `connect --reconnect` in a room, its server stops, another
// one on the same history file hears lines it misses, then one is back on
// its port: it comes back by itself, under its name, in its room, and shows
// the missed lines once, then live ones.
TEST_F(ChatResume, ConnectReconnectComesBackAfterARestartWithWhatItMissed) {
  TempDir dir;
  const std::string db = (dir.path / "chat.db").string();
  start({"--history-db", db});
  const std::uint16_t port = this->port();
  Process client(enchufe_binary(), {"connect", "--reconnect", "127.0.0.1", std::to_string(port)});
  ASSERT_TRUE(client.write_stdin("ana\n/join juegos\n"));
  ASSERT_TRUE(client.wait_stdout_contains("* you are in juegos now", kIo)) << client.diagnostics();
  auto bob = ChatClient::connect(port);
  bob->read_welcome();
  ASSERT_TRUE(bob->send("bob"));
  ASSERT_TRUE(bob->send("/join juegos"));
  ASSERT_TRUE(bob->wait_for("* you are in juegos now; /who lists who is here"));
  ASSERT_TRUE(bob->send("antes"));
  ASSERT_TRUE(client.wait_stdout_contains("<bob> antes", kIo)) << client.diagnostics();

  bob.reset();
  ASSERT_TRUE(server().stop());
  ASSERT_TRUE(client.wait_stderr_contains("reconnecting in", kIo)) << client.diagnostics();
  start({"--history-db", db});  // another port: the client cannot come back yet
  bob = ChatClient::connect(this->port());
  bob->read_welcome();
  ASSERT_TRUE(bob->send("bob"));
  ASSERT_TRUE(bob->send("/join juegos"));
  ASSERT_TRUE(bob->wait_for("* you are in juegos now; /who lists who is here"));
  for (const char* text : {"perdida uno", "perdida dos"}) ASSERT_TRUE(bob->send(text));
  ASSERT_TRUE(bob->send("/who"));
  ASSERT_TRUE(bob->wait_for("* 1 in juegos: bob"));
  bob.reset();
  ASSERT_TRUE(server().stop());

  ServerOptions same_port;
  same_port.port_zero = false;
  server_.emplace(Server::start("chat", {"-q", "--port", std::to_string(port), "--history-db", db}, same_port));
  ASSERT_TRUE(client.wait_stdout_contains("perdida dos", 40'000ms)) << client.diagnostics();
  bob = ChatClient::connect(port);
  bob->read_welcome();
  ASSERT_TRUE(bob->send("bob"));
  ASSERT_TRUE(bob->send("/join juegos"));
  ASSERT_TRUE(bob->wait_for("* you are in juegos now; /who lists who is here"));
  ASSERT_TRUE(bob->send("/who"));
  ASSERT_TRUE(bob->wait_for("* 2 in juegos: ana, bob")) << "ana is back in juegos under her name";
  ASSERT_TRUE(bob->send("en vivo"));
  ASSERT_TRUE(client.wait_stdout_contains("<bob> en vivo", kIo)) << client.diagnostics();
  ASSERT_TRUE(client.write_stdin("/quit\n"));
  const auto exit = client.wait_exit(kIo);
  ASSERT_TRUE(exit && exit->is_exit_code(0)) << client.diagnostics();

  const std::string out = client.stdout_text();
  for (const char* said : {"<bob> antes", "<bob> perdida uno", "<bob> perdida dos", "<bob> en vivo"}) {
    EXPECT_EQ(count(out, said), 1u) << said << " in\n" << out;
  }
  EXPECT_EQ(count(out, "Welcome to enchufe chat"), 1u) << out;
  EXPECT_LT(out.find("perdida uno"), out.find("perdida dos")) << out;
  EXPECT_NE(out.find("* back in juegos: 2 lines you missed since #"), std::string::npos) << out;
  EXPECT_NE(out.find("* bye!"), std::string::npos) << out;
}
