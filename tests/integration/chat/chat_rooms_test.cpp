// `enchufe serve chat`: rooms, private messages and history.

#include "chat/chat_client.hpp"

#include <set>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

class ChatRooms : public ChatTest {};

}  // namespace

// ---- rooms ------------------------------------------------------------------------

TEST_F(ChatRooms, RoomsAreIsolated) {
  start();
  auto& ana = login("ana");
  auto& bob = login("bob");
  auto& cy = login("cy");
  auto& dan = login("dan");
  move(cy, "dev");   // ana and bob see "cy left general (joined dev)"
  move(dan, "dev");  // cy sees "dan joined dev"
  ASSERT_TRUE(ana.send("en general"));
  ASSERT_TRUE(cy.send("en dev"));
  ASSERT_TRUE(dan.send("/me también en dev"));
  ASSERT_TRUE(bob.send("/me también en general"));
  EXPECT_EQ(bob.next(), "[t] <ana> en general");
  EXPECT_EQ(ana.next(), "[t] * bob también en general");
  EXPECT_EQ(dan.next(), "[t] <cy> en dev");
  EXPECT_EQ(cy.next(), "[t] * dan también en dev");
  expect_all_quiet();
}

TEST_F(ChatRooms, JoinAndLeaveNotices) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  move(bob, "dev");
  ASSERT_TRUE(bob.send("/join #DEV"));
  EXPECT_EQ(bob.next(), "error: you are in dev already") << "room names ignore case and a leading #";
  ASSERT_TRUE(bob.send("/leave"));
  EXPECT_EQ(bob.next(), "* you are in general now; /who lists who is here");
  EXPECT_EQ(ana.next(), "[t] * bob joined general");
  bob.room = "general";
  ASSERT_TRUE(bob.send("/leave"));
  EXPECT_EQ(bob.next(), "error: you are in general, the room everyone starts in; /quit leaves the server");
  ASSERT_TRUE(bob.send("/join general"));
  EXPECT_EQ(bob.next(), "error: you are in general already");
  // "#dev" is "dev"; the room keeps the name it was created with.
  move(ana, "Dev");
  ASSERT_TRUE(bob.send("/join #dev"));
  EXPECT_EQ(bob.next(), "* you are in Dev now; /who lists who is here");
  EXPECT_EQ(ana.next(), "[t] * bob joined Dev");
  expect_all_quiet();
}

TEST_F(ChatRooms, RoomsAndWhoList) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  auto& cy = login("Cy");
  auto& dan = login("dan");
  move(cy, "dev");
  move(dan, "dev");
  ASSERT_TRUE(ana.send("/rooms"));
  EXPECT_EQ(ana.next(), "* 2 rooms:");
  EXPECT_EQ(ana.next(), "*   dev (2)");
  EXPECT_EQ(ana.next(), "*   general (2)");
  ASSERT_TRUE(dan.send("/who"));
  EXPECT_EQ(dan.next(), "* 2 in dev: Cy, dan");
  ASSERT_TRUE(bob.send("/who"));
  EXPECT_EQ(bob.next(), "* 2 in general: ana, bob");
  // A room disappears with its last member; general never does.
  move(cy, "general");
  move(dan, "general");
  move(ana, "zeta");
  move(bob, "zeta");
  move(cy, "zeta");
  move(dan, "zeta");
  ASSERT_TRUE(ana.send("/rooms"));
  EXPECT_EQ(ana.next(), "* 2 rooms:");
  EXPECT_EQ(ana.next(), "*   general (0)");
  EXPECT_EQ(ana.next(), "*   zeta (4)");
  expect_all_quiet();
}

TEST_F(ChatRooms, InvalidRoomNames) {
  auto& ana = login("ana");
  const std::string tail = "' is not a valid room name: 1-32 letters, digits, '_', '-' or '.'";
  const std::pair<std::string, std::string> cases[] = {
      {"/join a/b", "error: 'a/b" + tail},
      {"/join #", "error: '#" + tail},
      {"/join ##dev", "error: '##dev" + tail},
      {"/join " + std::string(33, 'r'), "error: '" + std::string(33, 'r') + tail},
  };
  for (const auto& [command, error] : cases) {
    ASSERT_TRUE(ana.send(command));
    EXPECT_EQ(ana.next(), error) << command;
  }
  move(ana, std::string(32, 'r'));
}

TEST_F(ChatRooms, MaxRoomsFlag) {
  start({"--max-rooms", "2"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  move(ana, "uno");
  ASSERT_TRUE(bob.send("/join dos"));
  EXPECT_EQ(bob.next(), "error: there are already 2 rooms (the most this server allows); join one of them");
  move(bob, "uno");  // existing rooms can still be joined
  expect_all_quiet();
}

// ---- private messages -------------------------------------------------------------

TEST_F(ChatRooms, PrivateMessagesReachOnlyTheirTarget) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  auto& cy = login("cy");
  auto& dan = login("dan");
  move(dan, "dev");
  ASSERT_TRUE(ana.send("/msg bob psst, bob"));
  EXPECT_EQ(bob.next(), "[t] *ana* psst, bob");
  EXPECT_EQ(ana.next(), "[t] -> *bob* psst, bob");
  // Across rooms too.
  ASSERT_TRUE(ana.send("/msg dan   hola dan  "));
  EXPECT_EQ(dan.next(), "[t] *ana* hola dan");
  EXPECT_EQ(ana.next(), "[t] -> *dan* hola dan");
  ASSERT_TRUE(dan.send("/msg ana hola ana"));
  EXPECT_EQ(ana.next(), "[t] *dan* hola ana");
  EXPECT_EQ(dan.next(), "[t] -> *ana* hola ana");
  // The target's name ignores case.
  ASSERT_TRUE(cy.send("/msg BOB hey"));
  EXPECT_EQ(bob.next(), "[t] *cy* hey");
  EXPECT_TRUE(cy.next().starts_with("[t] -> *")) << "an echo of the private message";
  // Mistakes.
  ASSERT_TRUE(ana.send("/msg zoe hola"));
  EXPECT_EQ(ana.next(), "error: no one here is called 'zoe'");
  ASSERT_TRUE(ana.send("/msg ANA hola"));
  EXPECT_EQ(ana.next(), "error: that is you");
  expect_all_quiet();
}

// The room was told bob left: a private message to him must not be
// "delivered" (echoed as sent) into a connection that is closing.
TEST_F(ChatRooms, PrivateMessageToSomeoneWhoLeftFails) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(bob.send("salir"));
  EXPECT_EQ(bob.next(), "* bye!");
  EXPECT_EQ(ana.next(), "[t] * bob left (quit)");
  forget(bob);
  ASSERT_TRUE(ana.send("/msg bob ¿sigues ahí?"));
  EXPECT_EQ(ana.next(), "error: no one here is called 'bob'");
}

// ---- history ----------------------------------------------------------------------

TEST_F(ChatRooms, HistoryIsReplayedToWhoeverJoins) {
  start({"--history", "3"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(ana.send("m" + std::to_string(i)));
    EXPECT_EQ(bob.next(), "[t] <ana> m" + std::to_string(i));
  }
  ASSERT_TRUE(bob.send("/me saluda"));
  EXPECT_EQ(ana.next(), "[t] * bob saluda");
  ASSERT_TRUE(bob.send("/msg ana privado"));  // private: never in the history
  EXPECT_EQ(ana.next(), "[t] *bob* privado");
  EXPECT_EQ(bob.next(), "[t] -> *ana* privado");

  // A newcomer: the last 3 messages (not the notices, not the private one).
  auto cy = ChatClient::connect(port());
  EXPECT_EQ(cy->next(), "* Welcome to enchufe chat! /help lists the commands.");
  EXPECT_TRUE(cy->next().starts_with("* You are guest-"));
  EXPECT_EQ(cy->next(), "* you are in general now; /who lists who is here");
  EXPECT_EQ(cy->next(), "* the last 3 messages in general:");
  EXPECT_EQ(cy->next(), "[t] <ana> m3");
  EXPECT_EQ(cy->next(), "[t] <ana> m4");
  EXPECT_EQ(cy->next(), "[t] * bob saluda");
  EXPECT_EQ(cy->drain(), "");
}

TEST_F(ChatRooms, EachRoomHasItsOwnHistory) {
  start({"--history", "10"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  auto& cy = login("cy");  // stays in general, and sees what is said there
  move(ana, "dev");
  move(bob, "dev");
  ASSERT_TRUE(ana.send("solo en dev"));
  EXPECT_EQ(bob.next(), "[t] <ana> solo en dev");
  move(ana, "general");
  EXPECT_EQ(ana.drain(), "") << "nothing was said in general";
  ASSERT_TRUE(ana.send("en general"));
  EXPECT_EQ(cy.next(), "[t] <ana> en general");  // now it is in general's history
  // bob goes back to general: one message of history, in the singular.
  ASSERT_TRUE(bob.send("/leave"));
  EXPECT_EQ(bob.next(), "* you are in general now; /who lists who is here");
  EXPECT_EQ(bob.next(), "* the last 1 message in general:");
  EXPECT_EQ(bob.next(), "[t] <ana> en general");
  EXPECT_EQ(ana.next(), "[t] * bob joined general");
  EXPECT_EQ(cy.next(), "[t] * bob joined general");
  bob.room = "general";
  expect_all_quiet();
}

TEST_F(ChatRooms, HistoryZeroReplaysNothing) {
  start({"--history", "0"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("hola"));
  EXPECT_EQ(bob.next(), "[t] <ana> hola");
  auto& cy = guest();  // reads exactly the three greeting lines
  EXPECT_EQ(cy.drain(), "");
}

// Clients join while someone talks: each newcomer must get every line
// exactly once, in order, either in the history or live, never both, with
// no gap between them.
TEST_F(ChatRooms, JoiningWhileSomeoneTalksGetsEveryLineExactlyOnce) {
  // 25 clients from one address, past --max-per-address: loopback trusted.
  start({"--history", "1000", "--flood-rate", "100000", "--flood-burst", "100000", "--trust-loopback"});
  auto& ana = login("ana");
  constexpr int kLines = 400;
  constexpr int kJoiners = 24;
  std::vector<std::unique_ptr<ChatClient>> joiners;
  int sent = 0;
  for (int j = 0; j < kJoiners; ++j) {
    // A few lines, then a newcomer, so joins land among the lines.
    for (int k = 0; k < kLines / kJoiners && sent < kLines; ++k) ASSERT_TRUE(ana.send("n " + std::to_string(sent++)));
    joiners.push_back(ChatClient::connect(port()));
  }
  while (sent < kLines) ASSERT_TRUE(ana.send("n " + std::to_string(sent++)));
  for (auto& j : joiners) {
    int expected = 0;
    bool history_header = false;
    const auto deadline = Clock::now() + 5000ms;
    while (expected < kLines && Clock::now() < deadline) {
      const std::string line = j->next();
      if (line.starts_with("<")) {
        ADD_FAILURE() << "joiner " << j->nick << " after line " << expected << ": " << line;
        break;
      }
      if (line.starts_with("[t] <ana> n ")) {
        ASSERT_EQ(line, "[t] <ana> n " + std::to_string(expected)) << "a line missing, repeated or out of order";
        ++expected;
      } else if (line.starts_with("* the last ")) {
        EXPECT_FALSE(history_header);
        EXPECT_EQ(expected, 0) << "the history comes before any live line";
        history_header = true;
      }
      // else the greeting and the notices of later joiners
    }
    EXPECT_EQ(expected, kLines);
  }
  // And nothing more, ever: no line twice.
  std::this_thread::sleep_for(kQuiet);
  for (auto& j : joiners) {
    for (const auto& line : split_lines(j->drain(5ms))) {
      EXPECT_FALSE(normalized(line).starts_with("[t] <ana>")) << line;
    }
  }
  ana.drain();
}
