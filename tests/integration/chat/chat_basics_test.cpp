// `enchufe serve chat`: greeting, nicknames, messages, commands, leaving.
// Every line a client gets is checked in order; "[t]" stands for the
// "[HH:MM:SS]" stamp (see chat_client.hpp).

#include "chat/chat_client.hpp"

#include <ctime>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

class ChatBasics : public ChatTest {};

int utc_seconds_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

// Distance between two times of day, across midnight.
int seconds_apart(int a, int b) {
  const int d = std::abs(a - b) % 86400;
  return std::min(d, 86400 - d);
}

}  // namespace

// ---- greeting ---------------------------------------------------------------------

TEST_F(ChatBasics, GreetingThenLobby) {
  start();
  auto c = ChatClient::connect(port());
  const std::string guest = c->read_welcome();
  ASSERT_TRUE(c->send("/who"));
  EXPECT_EQ(c->next(), "* 1 in general: " + guest);
  EXPECT_EQ(c->drain(), "") << "an empty room has no history to replay";
}

TEST_F(ChatBasics, NameFlagIsInTheWelcome) {
  start({"--name", "aula"});
  auto c = ChatClient::connect(port());
  c->read_welcome("aula");
}

// ---- nicknames --------------------------------------------------------------------

TEST_F(ChatBasics, FirstLineThatIsAFreeNameBecomesTheNickname) {
  auto& ana = login("ana");
  auto& bob = login("bob");  // ana sees "guest-N joined general" and the rename
  ASSERT_TRUE(ana.send("/who"));
  EXPECT_EQ(ana.next(), "* 2 in general: ana, bob");
  ASSERT_TRUE(bob.send("hola"));
  EXPECT_EQ(ana.next(), "[t] <bob> hola") << "the nickname is used from then on";
  expect_all_quiet();
}

TEST_F(ChatBasics, FirstLineThatIsNotANameIsSaidToTheRoom) {
  auto& ana = login("ana");
  auto& g = guest();
  ASSERT_TRUE(g.send("hola a todos"));
  EXPECT_EQ(ana.next(), "[t] <" + g.nick + "> hola a todos");
  // Only the first plain line may be a nickname.
  ASSERT_TRUE(g.send("bea"));
  EXPECT_EQ(ana.next(), "[t] <" + g.nick + "> bea");
  expect_all_quiet();
}

TEST_F(ChatBasics, TakenFirstLineIsRefusedAndTheNextLineIsTriedAgain) {
  auto& ana = login("ana");
  auto& g = guest();
  ASSERT_TRUE(g.send("ana"));
  EXPECT_EQ(g.next(), "error: nickname 'ana' is taken; type another one, or /nick NAME");
  ASSERT_TRUE(g.send("ANA"));
  EXPECT_EQ(g.next(), "error: nickname 'ANA' is taken; type another one, or /nick NAME")
      << "nicknames are unique ignoring case";
  ASSERT_TRUE(g.send("bea"));
  EXPECT_EQ(g.next(), "* you are bea now");
  EXPECT_EQ(ana.next(), "[t] * " + g.nick + " is now known as bea") << "the failed tries were not said to the room";
  g.nick = "bea";
  ASSERT_TRUE(g.send("hola"));
  EXPECT_EQ(ana.next(), "[t] <bea> hola");
  expect_all_quiet();
}

// A stray Enter (or telnet's empty first line) is not a message; it should
// not use up the chance to type a nickname either.
TEST_F(ChatBasics, EmptyFirstLineDoesNotUseUpTheNicknameChance) {
  auto& ana = login("ana");
  auto& g = guest();
  ASSERT_TRUE(g.send(""));
  ASSERT_TRUE(g.send("   "));
  ASSERT_TRUE(g.send("bea"));
  EXPECT_EQ(g.next(), "* you are bea now");
  EXPECT_EQ(ana.next(), "[t] * " + g.nick + " is now known as bea");
}

TEST_F(ChatBasics, NickCommandRules) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::string invalid_tail = "' is not a valid nickname: 1-24 letters, digits, '_', '-' or '.'";
  const std::pair<std::string, std::string> refused[] = {
      {"/nick", "error: usage: /nick NAME [PASSWORD]"},
      {"/nick   ", "error: usage: /nick NAME [PASSWORD]"},
      // Two words are a login (/nick NICK PASSWORD), and this is no password.
      {"/nick ana maria", "error: a password is 8 to 128 characters"},
      {"/nick bad!", "error: 'bad!" + invalid_tail},
      {"/nick ñandú", "error: 'ñandú" + invalid_tail},
      {"/nick " + std::string(25, 'x'), "error: '" + std::string(25, 'x') + invalid_tail},
      {"/nick Ana", "error: nickname 'Ana' is taken"},
      {"/nick bob", "error: you are bob already"},
  };
  for (const auto& [command, error] : refused) {
    ASSERT_TRUE(bob.send(command));
    EXPECT_EQ(bob.next(), error) << command;
  }
  // 24 characters of every allowed kind.
  const std::string longest = "A_b-c.9" + std::string(17, 'z');
  ASSERT_EQ(longest.size(), 24u);
  ASSERT_TRUE(bob.send("/nick " + longest));
  EXPECT_EQ(bob.next(), "* you are " + longest + " now");
  EXPECT_EQ(ana.next(), "[t] * bob is now known as " + longest);
  // A change of case only is a change.
  ASSERT_TRUE(ana.send("/nick ANA"));
  EXPECT_EQ(ana.next(), "* you are ANA now");
  EXPECT_EQ(bob.next(), "[t] * ana is now known as ANA");
  ASSERT_TRUE(ana.send("/who"));
  EXPECT_EQ(ana.next(), "* 2 in general: " + longest + ", ANA") << "sorted ignoring case ('_' < 'n')";
  expect_all_quiet();
}

TEST_F(ChatBasics, NickCommandAfterTheFirstLineStillWorks) {
  auto& ana = login("ana");
  auto& g = guest();
  const std::string guest_name = g.nick;
  ASSERT_TRUE(g.send("/nick cy"));
  EXPECT_EQ(g.next(), "* you are cy now");
  EXPECT_EQ(ana.next(), "[t] * " + guest_name + " is now known as cy");
  // After /nick the next plain line is a message, not a name.
  ASSERT_TRUE(g.send("dan"));
  EXPECT_EQ(ana.next(), "[t] <cy> dan");
  expect_all_quiet();
}

// Once the room has been told "ana left", "ana" is free. (The client here
// has not closed its side yet, as an interactive nc would not either.)
TEST_F(ChatBasics, NicknameIsFreeAsSoonAsTheRoomIsToldItsOwnerLeft) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("/quit"));
  EXPECT_EQ(ana.next(), "* bye!");
  EXPECT_EQ(bob.next(), "[t] * ana left (quit)");
  forget(ana);
  auto& again = login("ana");
  ASSERT_TRUE(again.send("hola"));
  EXPECT_EQ(bob.next(), "[t] <ana> hola");
}

// Once the connection is closed on both sides the name is free again.
TEST_F(ChatBasics, NicknameIsFreedWhenItsOwnerHasGone) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("salir"));
  EXPECT_EQ(ana.next(), "* bye!");
  EXPECT_TRUE(ana.closed_within(kIo));
  ana.tcp().close();
  EXPECT_EQ(bob.next(), "[t] * ana left (quit)");
  forget(ana);
  auto& g = guest();
  const auto deadline = Clock::now() + 3000ms;
  std::string reply;
  do {
    ASSERT_TRUE(g.send("/nick ana"));
    reply = g.next();
    if (reply != "* you are ana now") std::this_thread::sleep_for(50ms);
  } while (reply != "* you are ana now" && Clock::now() < deadline);
  EXPECT_EQ(reply, "* you are ana now");
  EXPECT_EQ(bob.next(), "[t] * " + g.nick + " is now known as ana");
}

TEST_F(ChatBasics, GuestNamesSkipNamesSomeoneTook) {
  auto& first = guest();
  const int n = std::stoi(first.nick.substr(6));
  const std::string next_guest = "guest-" + std::to_string(n + 1);
  ASSERT_TRUE(first.send("/nick " + next_guest));
  EXPECT_EQ(first.next(), "* you are " + next_guest + " now");
  first.nick = next_guest;
  auto second = ChatClient::connect(port());
  const std::string name = second->read_welcome();
  EXPECT_NE(name, next_guest) << "two clients with one name";
  EXPECT_EQ(first.next(), "[t] * " + name + " joined general");
}

// ---- messages ---------------------------------------------------------------------

TEST_F(ChatBasics, EveryoneElseGetsTheMessageStampedInUtc) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  auto& cy = login("cy");
  ASSERT_TRUE(ana.send("hola"));
  for (auto* c : {&bob, &cy}) {
    const std::string raw = c->raw_line();
    EXPECT_EQ(normalized(raw), "[t] <ana> hola") << c->nick;
    EXPECT_LE(seconds_apart(stamp_seconds(raw), utc_seconds_now()), 2) << "UTC by default: " << raw;
  }
  EXPECT_EQ(escape(ana.drain()), "") << "the sender does not get its own line back";
  ASSERT_TRUE(bob.send("qué tal\r"));  // "\r\n" line ending
  EXPECT_EQ(ana.next(), "[t] <bob> qué tal");
  EXPECT_EQ(cy.next(), "[t] <bob> qué tal");
  // Blank lines are not messages.
  ASSERT_TRUE(cy.send(""));
  ASSERT_TRUE(cy.send(" \t "));
  ASSERT_TRUE(cy.send_raw("\r\n"));
  expect_all_quiet();
}

TEST_F(ChatBasics, PipelinedLinesArriveInOrder) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  std::string burst;
  for (int i = 0; i < 15; ++i) burst += "linea " + std::to_string(i) + (i % 2 ? "\r\n" : "\n");
  ASSERT_TRUE(ana.send_raw(burst));
  for (int i = 0; i < 15; ++i) EXPECT_EQ(bob.next(), "[t] <ana> linea " + std::to_string(i));
  expect_all_quiet();
}

TEST_F(ChatBasics, LocalTimeFlagFollowsTz) {
  ServerOptions options;
  options.spawn.env = {"TZ=<+05>-5"};  // five hours east of UTC, no DST
  server_.emplace(Server::start("chat", {"-q", "--local-time"}, options));
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("hola"));
  const std::string raw = bob.raw_line();
  EXPECT_EQ(normalized(raw), "[t] <ana> hola");
  EXPECT_LE(seconds_apart(stamp_seconds(raw), utc_seconds_now() + 5 * 3600), 2) << raw;
}

TEST_F(ChatBasics, UtcEvenWhenTzIsSet) {
  ServerOptions options;
  options.spawn.env = {"TZ=<+05>-5"};
  server_.emplace(Server::start("chat", {"-q"}, options));
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("hola"));
  const std::string raw = bob.raw_line();
  EXPECT_LE(seconds_apart(stamp_seconds(raw), utc_seconds_now()), 2) << raw;
}

// ---- commands ---------------------------------------------------------------------

TEST_F(ChatBasics, MeIsAnAction) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("/me saluda a todos"));
  EXPECT_EQ(bob.next(), "[t] * ana saluda a todos");
  ASSERT_TRUE(ana.send("/me"));
  EXPECT_EQ(ana.next(), "error: usage: /me ACTION");
  ASSERT_TRUE(ana.send("/ME baila"));
  EXPECT_EQ(bob.next(), "[t] * ana baila") << "command names ignore case";
  expect_all_quiet();
}

TEST_F(ChatBasics, DoubleSlashSaysALineBeginningWithSlash) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("//help es un comando"));
  EXPECT_EQ(bob.next(), "[t] <ana> /help es un comando");
  ASSERT_TRUE(ana.send("//"));
  EXPECT_EQ(bob.next(), "[t] <ana> /");
  expect_all_quiet();
}

TEST_F(ChatBasics, UnknownCommandsAndBadArgumentsAreErrorsToTheSenderOnly) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  const std::string unknown =
      "error: unknown command; /help lists them (start a line with // to say something beginning with /)";
  const std::pair<std::string, std::string> cases[] = {
      {"/foo", unknown},
      {"/", unknown},
      {"/ who", unknown},
      {"/whoami", unknown},
      {"/who now", "error: usage: /who (no arguments)"},
      {"/rooms all", "error: usage: /rooms (no arguments)"},
      {"/leave now", "error: usage: /leave (no arguments)"},
      {"/help me", "error: usage: /help (no arguments)"},
      {"/join", "error: usage: /join ROOM"},
      {"/join a b", "error: usage: /join ROOM"},
      {"/msg", "error: usage: /msg NICK TEXT"},
      {"/msg ana", "error: usage: /msg NICK TEXT"},
      {"/msg ana   ", "error: usage: /msg NICK TEXT"},
  };
  for (const auto& [command, error] : cases) {
    ASSERT_TRUE(bob.send(command));
    EXPECT_EQ(bob.next(), error) << command;
  }
  EXPECT_EQ(escape(ana.drain()), "");
}

TEST_F(ChatBasics, HelpListsTheCommands) {
  auto& ana = login("ana");
  ASSERT_TRUE(ana.send("/help"));
  const char* expected[] = {
      "* commands:",
      "*   /nick NAME       change your nickname (1-24 letters, digits, _ - .)",
      "*   /join ROOM       go to another room (created if new)",
      "*   /leave           back to general",
      "*   /rooms           rooms and how many are in each",
      "*   /who             who is in this room",
      "*   /msg NICK TEXT   a private message",
      "*   /me ACTION       say what you do (* ana waves)",
      "*   /history [N]     earlier lines of this room (again: earlier still)",
      "*   /history 1h      the last hour (90s, 30m, 1h, 7d); /history since ID: after line #ID",
      "*   /search WORDS    the newest lines of this room with all these words",
      "*   /ids on|off      start each room line with its #ID (for clients that resume)",
      "*   /resume ID       after a reconnect: the lines of this room after #ID you missed",
      "*   /quit [REASON]   leave (so does 'salir')",
      "*   /register PASSWORD      keep your nickname: nobody else can take it, even while you are away",
      "*   /login NICK PASSWORD    take your registered nickname back (also /nick NICK PASSWORD)",
      "*   /topic [TEXT]    show (or, operators, set) this room's topic",
      "* anything else is said to the room; start a line with // to say something beginning with /",
  };
  for (const char* line : expected) EXPECT_EQ(ana.next(), line);
  EXPECT_EQ(ana.drain(), "");
}

// ---- leaving ----------------------------------------------------------------------

TEST_F(ChatBasics, QuitSaysByeClosesAndTellsTheRoom) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("/quit"));
  EXPECT_EQ(ana.next(), "* bye!");
  std::string rest;
  EXPECT_TRUE(ana.closed_within(kIo, &rest)) << "the server closes after the goodbye";
  EXPECT_EQ(rest, "");
  EXPECT_EQ(bob.next(), "[t] * ana left (quit)");
  forget(ana);
  ASSERT_TRUE(bob.send("/who"));
  EXPECT_EQ(bob.next(), "* 1 in general: bob");
}

TEST_F(ChatBasics, QuitWithAReasonTellsTheRoomWhy) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("/quit   me voy a comer  "));
  EXPECT_EQ(ana.next(), "* bye!");
  EXPECT_TRUE(ana.closed_within(kIo));
  EXPECT_EQ(bob.next(), "[t] * ana left (quit: me voy a comer)");
}

TEST_F(ChatBasics, SalirLeavesInAnyCaseAndSpacing) {
  auto& watcher = login("w");
  for (const std::string word : {"salir", "SALIR", "  Salir \r"}) {
    auto& c = login("c" + std::to_string(clients_.size()));
    ASSERT_TRUE(c.send(word));
    EXPECT_EQ(c.next(), "* bye!") << escape(word);
    EXPECT_TRUE(c.closed_within(kIo)) << escape(word);
    EXPECT_EQ(watcher.next(), "[t] * " + c.nick + " left (quit)");
    forget(c);
  }
}

TEST_F(ChatBasics, SalirAsTheFirstLineLeavesRatherThanBecomingANickname) {
  auto& ana = login("ana");
  auto& g = guest();
  ASSERT_TRUE(g.send("salir"));
  EXPECT_EQ(g.next(), "* bye!");
  EXPECT_TRUE(g.closed_within(kIo));
  EXPECT_EQ(ana.next(), "[t] * " + g.nick + " left (quit)");
}

TEST_F(ChatBasics, QuitWordFlag) {
  start({"--quit-word", "adios"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(bob.send("salir"));
  EXPECT_EQ(ana.next(), "[t] <bob> salir") << "with another quit word, salir is a message";
  ASSERT_TRUE(bob.send("ADIOS"));
  EXPECT_EQ(bob.next(), "* bye!");
  EXPECT_TRUE(bob.closed_within(kIo));
  EXPECT_EQ(ana.next(), "[t] * bob left (quit)");
}

TEST_F(ChatBasics, LinesAfterTheQuitWordInTheSameWriteAreIgnored) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(bob.send_raw("uno\nsalir\ndos\n"));
  EXPECT_EQ(bob.next(), "* bye!");
  EXPECT_TRUE(bob.closed_within(kIo));
  EXPECT_EQ(ana.next(), "[t] <bob> uno");
  EXPECT_EQ(ana.next(), "[t] * bob left (quit)");
  forget(bob);
  expect_all_quiet();
}

TEST_F(ChatBasics, ClosingOrResettingTheConnectionTellsTheRoom) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  auto& cy = login("cy");
  bob.tcp().close();
  forget(bob);
  EXPECT_EQ(ana.next(), "[t] * bob left (disconnected)");
  EXPECT_EQ(cy.next(), "[t] * bob left (disconnected)");
  cy.tcp().reset();
  forget(cy);
  EXPECT_EQ(ana.next(), "[t] * cy left (disconnected)");
  // (Right after the notice /who may still list them for a moment: see
  // WhoRightAfterALeaveNoticeNoLongerListsTheLeaver.)
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(ana.send("/who"));
  EXPECT_EQ(ana.next(), "* 1 in general: ana");
  ASSERT_TRUE(ana.send("/rooms"));
  EXPECT_EQ(ana.next(), "* 1 room:");
  EXPECT_EQ(ana.next(), "*   general (1)");
}

// Once the room has been told "x left", x is no longer listed by /who (nor
// reachable by /msg). Done 300 times, as the window is short.
TEST_F(ChatBasics, WhoRightAfterALeaveNoticeNoLongerListsTheLeaver) {
  // 300 clients in a row from one address, past --connect-rate: loopback trusted.
  start({"--flood-burst", "1000", "--trust-loopback"});
  auto& ana = login("ana");
  int listed = 0;
  for (int i = 0; i < 300; ++i) {
    auto& x = login("x" + std::to_string(i));
    x.tcp().close();
    forget(x);
    ASSERT_EQ(ana.next(), "[t] * " + x.nick + " left (disconnected)");
    ASSERT_TRUE(ana.send("/who"));
    const std::string who = ana.next();
    if (who != "* 1 in general: ana") {
      if (++listed <= 3) ADD_FAILURE() << "round " << i << ": " << who;
    }
  }
  EXPECT_EQ(listed, 0) << "of 300 rounds";
}

TEST_F(ChatBasics, HalfCloseAfterALineStillDeliversIt) {
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(bob.send("me voy sin decir salir"));
  bob.tcp().shutdown_write();
  EXPECT_EQ(ana.next(), "[t] <bob> me voy sin decir salir");
  EXPECT_EQ(ana.next(), "[t] * bob left (disconnected)");
  EXPECT_TRUE(bob.closed_within(kIo));
}

// Clients that say salir at once, before the room's greeting has come back
// from the room's thread. With two loops the greeting can arrive after the
// client has left its room; the server must neither crash nor count the
// departed client as a member.
TEST_F(ChatBasics, QuittingBeforeTheRoomGreetingArrivesIsSafe) {
  // 300 clients in a row from one address, past --connect-rate: loopback trusted.
  start({"--threads", "2", "--trust-loopback"});
  auto& watcher = login("watcher");
  int goodbyes = 0, greeted = 0;
  for (int i = 0; i < 300; ++i) {
    auto quick = TcpClient::try_connect("127.0.0.1", port(), kIo);
    ASSERT_TRUE(quick.has_value()) << "client " << i << ": the server is gone\n" << server().process().diagnostics();
    ASSERT_TRUE(quick->send_all("salir\n"));
    const auto r = quick->recv_until_eof(kIo);
    if (r.data.ends_with("* bye!\n")) ++goodbyes;
    if (r.data.find("* you are in general now") != std::string::npos) ++greeted;
  }
  EXPECT_EQ(goodbyes, 300);
  EXPECT_EQ(greeted, 300) << "every client is told which room it was in";
  ASSERT_TRUE(server().process().running()) << server().process().diagnostics();
  // The watcher saw each come and go; drain that, then the room is just it.
  watcher.drain(500ms);
  ASSERT_TRUE(watcher.send("/who"));
  EXPECT_EQ(watcher.next(), "* 1 in general: watcher");
  // And a message still reaches a newcomer exactly once.
  auto& late = login("late");
  ASSERT_TRUE(watcher.send("hola"));
  EXPECT_EQ(late.next(), "[t] <watcher> hola");
  EXPECT_EQ(late.drain(), "");
}
