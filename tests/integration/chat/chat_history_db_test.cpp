// `enchufe serve chat --history-db PATH`: the rooms' lines in an SQLite
// file survive a restart and a room emptying; a second server on the same
// file, or a file that is not a database, is refused with one line.

#include "chat/chat_client.hpp"
#include "support/files.hpp"

#include <fstream>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

class ChatHistoryDb : public ChatTest {
 protected:
  TempDir dir_;
  std::string db() const { return (dir_.path / "state" / "chat.db").string(); }
};

// A newcomer's replay: the announcement, then the lines.
void expect_replay(ChatClient& c, const std::string& room, const std::vector<std::string>& lines) {
  EXPECT_EQ(c.next(), "* the last " + std::to_string(lines.size()) + " message" + (lines.size() == 1 ? "" : "s") +
                          " in " + room + ":");
  for (const auto& line : lines) EXPECT_EQ(c.next(), line);
}

}  // namespace

TEST_F(ChatHistoryDb, TheRoomsLinesSurviveARestart) {
  start({"--history", "3", "--history-db", db()});
  auto& ana = login("ana");
  auto& bob = login("bob");
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(ana.send("m" + std::to_string(i)));
    EXPECT_EQ(bob.next(), "[t] <ana> m" + std::to_string(i));
  }
  ASSERT_TRUE(bob.send("/me se va"));
  EXPECT_EQ(ana.next(), "[t] * bob se va");
  const auto stopped = server().stop();
  ASSERT_TRUE(stopped && stopped->is_exit_code(0)) << server().process().diagnostics();
  forget(ana);
  forget(bob);

  start({"--history", "3", "--history-db", db()});
  auto cy = ChatClient::connect(port());
  EXPECT_EQ(cy->next(), "* Welcome to enchufe chat! /help lists the commands.");
  EXPECT_TRUE(cy->next().starts_with("* You are guest-"));
  EXPECT_EQ(cy->next(), "* you are in general now; /who lists who is here");
  expect_replay(*cy, "general", {"[t] <ana> m3", "[t] <ana> m4", "[t] * bob se va"});
  EXPECT_EQ(cy->drain(), "");
}

TEST_F(ChatHistoryDb, ARoomThatEmptiedKeepsItsLines) {
  start({"--history", "10", "--history-db", db()});
  auto& ana = login("ana");
  auto& bob = login("bob");
  move(ana, "dev");
  move(bob, "dev");
  ASSERT_TRUE(ana.send("solo en dev"));
  EXPECT_EQ(bob.next(), "[t] <ana> solo en dev");
  move(ana, "general");
  move(bob, "general");  // dev is gone now; its lines are not
  auto& cy = login("cy");
  ASSERT_TRUE(cy.send("/join dev"));
  EXPECT_EQ(cy.next(), "* you are in dev now; /who lists who is here");
  expect_replay(cy, "dev", {"[t] <ana> solo en dev"});
  EXPECT_EQ(ana.next(), "[t] * cy left general (joined dev)");
  EXPECT_EQ(bob.next(), "[t] * cy left general (joined dev)");
  cy.room = "dev";
  expect_all_quiet();
}

TEST_F(ChatHistoryDb, ASecondServerOnTheSameFileIsRefused) {
  start({"--history-db", db()});
  const auto second = run_enchufe({"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--no-web", "--history-db",
                                   db()});
  EXPECT_TRUE(second.exited_with(1)) << second;
  EXPECT_NE(second.err.find("--history-db " + db() + ": another enchufe server is using it"), std::string::npos)
      << second;
  EXPECT_EQ(second.out.find("listening:"), std::string::npos) << "it bound ports before refusing\n" << second;
}

TEST_F(ChatHistoryDb, AFileThatIsNoDatabaseIsRefusedAndKept) {
  const auto path = dir_.path / "notes.txt";
  std::ofstream(path) << std::string(2048, 'n');
  const auto r = run_enchufe({"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--history-db", path.string()});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_NE(r.err.find("it is not an SQLite database, or it is damaged (it was left as it is)"), std::string::npos)
      << r;
  EXPECT_EQ(read_file(path), std::string(2048, 'n'));
}
