// Accounts and moderation (issue 15), driven over loopback with the real
// binary: registered nicknames, logins and their throttle, what operators
// and admins may do and what everyone else may not, bans by address that
// hold at accept, expire on time and survive a restart.
//
// A second host is 127.0.0.2 (Linux routes all of 127/8 to lo): a client
// bound to it is "another address" for bans.

#include "chat/chat_client.hpp"
#include "support/files.hpp"
#include "support/metrics.hpp"

#include <set>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

constexpr std::string_view kOnlyOperators = "error: only operators of dev (and admins) can do that";

std::unique_ptr<ChatClient> from_other_host(std::uint16_t port) {
  return std::make_unique<ChatClient>(TcpClient::connect("127.0.0.1", port, 5000ms, "127.0.0.2"));
}

class ChatModeration : public ChatTest {
 protected:
  TempDir dir_;
  std::string db() const { return (dir_.path / "chat.db").string(); }

  // `enchufe chat-admin --db DB add-account NICK` with the password on stdin.
  void add_account(const std::string& nick, const std::string& password) {
    const auto r = run_enchufe({"chat-admin", "--db", db(), "add-account", nick}, {.input = password + "\n"});
    ASSERT_TRUE(r.exited_with(0)) << r;
    EXPECT_EQ(r.out, db() + ": account " + nick + " made\n");
  }

  std::string chat_admin(const std::string& what) {
    const auto r = run_enchufe({"chat-admin", "--db", db(), what});
    EXPECT_TRUE(r.exited_with(0)) << r;
    return r.out;
  }

  // /register, checked.
  void register_nick(ChatClient& c, const std::string& password) {
    ASSERT_TRUE(c.send("/register " + password));
    EXPECT_EQ(c.next(), "* " + c.nick + " is registered to you: nobody else can take it, and /login " + c.nick +
                            " PASSWORD takes it back");
  }

  // /login NICK PASSWORD from a guest, checked, with the rename everyone
  // in its room sees.
  void log_in(ChatClient& c, const std::string& nick, const std::string& password) {
    auto others = in_room(c.room, &c);
    ASSERT_TRUE(c.send("/login " + nick + " " + password));
    EXPECT_EQ(c.next(), "* you are logged in as " + nick);
    EXPECT_EQ(c.next(), "* you are " + nick + " now");
    for (auto* other : others) EXPECT_EQ(other->next(), "[t] * " + c.nick + " is now known as " + nick);
    c.nick = nick;
  }
};

}  // namespace

TEST_F(ChatModeration, ARegisteredNicknameIsKeptForItsOwner) {
  start({"--history-db", db()});
  auto& ana = login("ana");
  register_nick(ana, "correct horse");
  ASSERT_TRUE(ana.send("/quit"));
  EXPECT_EQ(ana.next(), "* bye!");
  forget(ana);

  auto& other = guest();
  ASSERT_TRUE(other.send("ana"));
  EXPECT_EQ(other.next(),
            "error: nickname 'ana' is registered; if it is yours: /login ana PASSWORD; type another one, or /nick NAME");
  ASSERT_TRUE(other.send("/nick ANA"));
  EXPECT_EQ(other.next(), "error: nickname 'ANA' is registered; if it is yours: /login ANA PASSWORD");
  ASSERT_TRUE(other.send("/login ana battery staple"));
  EXPECT_EQ(other.next(), "error: wrong password");
  ASSERT_TRUE(other.send("/login nadie whatever1"));
  EXPECT_EQ(other.next(), "error: nadie is not registered (/register PASSWORD claims your current nickname)");
  auto& bob = login("bob");
  log_in(other, "ana", "correct horse");
  // "/nick NICK PASSWORD" logs in too, as on IRC servers.
  ASSERT_TRUE(other.send("/nick eve"));
  EXPECT_EQ(other.next(), "* you are eve now");
  EXPECT_EQ(bob.next(), "[t] * ana is now known as eve");
  other.nick = "eve";
  ASSERT_TRUE(other.send("/nick ana correct horse"));
  EXPECT_EQ(other.next(), "* you are logged in as ana");
  EXPECT_EQ(other.next(), "* you are ana now");
  EXPECT_EQ(bob.next(), "[t] * eve is now known as ana");
  other.nick = "ana";
  expect_all_quiet();
}

TEST_F(ChatModeration, RegistrationIsRefusedWithAReason) {
  start({"--history-db", db(), "--admin", "root"});
  auto& g = guest();
  ASSERT_TRUE(g.send("/register long enough"));
  EXPECT_EQ(g.next(), "error: choose your nickname first (/nick NAME), then /register PASSWORD");
  ASSERT_TRUE(g.send("/nick root"));
  EXPECT_EQ(g.next(), "* you are root now");
  g.nick = "root";
  ASSERT_TRUE(g.send("/register long enough"));
  EXPECT_EQ(g.next(), "error: root is an admin's nickname: its account is made with enchufe chat-admin add-account");
  ASSERT_TRUE(g.send("/register short"));
  EXPECT_EQ(g.next(), "error: a password is 8 to 128 characters");
  ASSERT_TRUE(g.send("/register " + std::string(129, 'x')));
  EXPECT_EQ(g.next(), "error: a password is 8 to 128 characters");
  ASSERT_TRUE(g.send("/login root"));
  EXPECT_EQ(g.next(), "error: usage: /login NICK PASSWORD");
  expect_all_quiet();
}

TEST_F(ChatModeration, AccountsNeedAStoreAndOpenRegistration) {
  start({"--history-db", "none"});
  auto& ana = login("ana");
  ASSERT_TRUE(ana.send("/register long enough"));
  EXPECT_EQ(ana.next(),
            "error: this server keeps no accounts: it runs with --history-db none, and a nickname claimed until the "
            "next restart would protect nobody");
  server().stop();
  forget(ana);

  start({"--history-db", db(), "--registration", "closed"});
  auto& bob = login("bob");
  ASSERT_TRUE(bob.send("/register long enough"));
  EXPECT_EQ(bob.next(), "error: registration is closed here: an admin creates accounts (enchufe chat-admin add-account)");
  server().stop();
  forget(bob);

  start({"--history-db", db(), "--require-tls-for-login"});
  auto& cy = login("cy");
  ASSERT_TRUE(cy.send("/login cy long enough"));
  EXPECT_EQ(cy.next(),
            "error: this server takes passwords over TLS only (--require-tls-for-login): connect to its TLS port or "
            "its https:// page; a password sent in clear can be read on the way");
}

TEST_F(ChatModeration, ALoginElsewhereTakesTheNameFromTheOwnersOldConnection) {
  start({"--history-db", db()});
  auto& old = login("ana");
  register_nick(old, "correct horse");
  auto& fresh = guest();
  ASSERT_TRUE(fresh.send("/login ana correct horse"));
  EXPECT_EQ(fresh.next(), "* you are logged in as ana");
  const std::string taken = old.next();
  const auto at = taken.find("; you are "), end = taken.find(" here");
  ASSERT_TRUE(taken.starts_with("* ana logged in from another connection; you are guest-") && end != std::string::npos)
      << taken;
  const std::string ghost = taken.substr(at + 10, end - at - 10);
  EXPECT_EQ(old.next(), "* you are " + ghost + " now");
  EXPECT_EQ(old.next(), "[t] * " + fresh.nick + " is now known as ana");
  // Its own rename and the ghost's notice come from two loops: either first.
  std::set<std::string> seen{fresh.next(), fresh.next()};
  EXPECT_EQ(seen, (std::set<std::string>{"* you are ana now", "[t] * ana is now known as " + ghost}));
  old.nick = ghost;
  fresh.nick = "ana";
  expect_all_quiet();
}

TEST_F(ChatModeration, FailedLoginsAreSlowedPerNicknameAndTheHashesShowIt) {
  server_.emplace(Server::start_args({"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--no-web", "-q",
                                      "--history-db", db(), "--metrics", "127.0.0.1:0",
                                      // The guesses are throttled, not dropped as a flood.
                                      "--flood-rate", "1000", "--flood-burst", "1000"},
                                     {"chat", "metrics"}));
  auto& ana = login("ana");
  register_nick(ana, "correct horse");
  auto& guesser = guest();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(guesser.send("/login ana guess" + std::to_string(1000 + i)));
    EXPECT_EQ(guesser.next(), "error: wrong password") << i;
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(guesser.send("/login ana guess" + std::to_string(2000 + i)));
    EXPECT_TRUE(guesser.next().starts_with("error: too many failed logins; try again in ")) << i;
  }
  // From another address too: the nickname's own bucket is empty.
  auto other = from_other_host(port());
  other->read_welcome();
  EXPECT_TRUE(ana.next().starts_with("[t] * guest-"));
  ASSERT_TRUE(other->send("/login ana guess3000"));
  const std::string refused = other->next();
  EXPECT_TRUE(refused.starts_with("error: too many failed logins; try again in ")) << refused;
  // The registration and the five guesses, not the 21 refused.
  EXPECT_EQ(metric(scrape(server().port("metrics")), "enchufe_chat_password_hashes_total"), 6);
}

TEST_F(ChatModeration, OnlyOperatorsModerateAndNothingChangesWhenOthersTry) {
  start({"--history-db", db()});
  auto& ana = login("ana");
  auto& bob = login("bob");
  move(ana, "dev");  // ana made dev: its operator
  move(bob, "dev");
  for (const std::string command : {"/kick ana", "/ban ana", "/ban 127.0.0.1", "/mute ana", "/unmute ana",
                                    "/topic hola", "/ratelimit 1 1", "/op bob", "/deop ana", "/unban 127.0.0.1",
                                    "/bans"}) {
    ASSERT_TRUE(bob.send(command));
    EXPECT_EQ(bob.next(), kOnlyOperators) << command;
  }
  ASSERT_TRUE(bob.send("/wall hola a todos"));
  EXPECT_EQ(bob.next(), "error: only admins can speak to every room");
  // Anyone may read the topic (there is none).
  ASSERT_TRUE(bob.send("/topic"));
  EXPECT_EQ(bob.next(), "* dev has no topic");
  ASSERT_TRUE(bob.send("still here"));
  EXPECT_EQ(ana.next(), "[t] <bob> still here");
  ASSERT_TRUE(ana.send("/bans"));
  EXPECT_EQ(ana.next(), "* no bans in dev");
  // The operators' part of /help is for operators.
  ASSERT_TRUE(ana.send("/help"));
  EXPECT_TRUE(ana.wait_for("* operators of this room (and admins):"));
  EXPECT_TRUE(ana.wait_for("* admins: their bans are for the whole server; /wall TEXT speaks to every room"));
  ASSERT_TRUE(bob.send("/help"));
  std::vector<std::string> help;
  EXPECT_TRUE(bob.wait_for("* anything else is said to the room; start a line with // to say something beginning with /",
                           kIo, &help));
  EXPECT_EQ(bob.drain(), "");
  expect_all_quiet();
}

TEST_F(ChatModeration, AnOperatorKicksMutesSetsTheTopicAndTheLimits) {
  start({"--history-db", db()});
  auto& ana = login("ana");
  auto& bob = login("bob");
  move(ana, "dev");
  move(bob, "dev");
  ASSERT_TRUE(ana.send("/topic sockets y más"));
  EXPECT_EQ(ana.next(), "[t] * ana set the topic: sockets y más");
  EXPECT_EQ(bob.next(), "[t] * ana set the topic: sockets y más");

  ASSERT_TRUE(ana.send("/mute bob 1s"));
  EXPECT_EQ(ana.next(), "[t] * ana muted bob for 1s");
  EXPECT_EQ(bob.next(), "[t] * ana muted bob for 1s");
  EXPECT_EQ(bob.next(), "* you are muted in dev for 1 seconds");
  ASSERT_TRUE(bob.send("hola?"));
  EXPECT_EQ(bob.next(), "error: you are muted in dev for 1 more seconds");
  EXPECT_EQ(ana.drain(), "");
  std::this_thread::sleep_for(1100ms);
  ASSERT_TRUE(bob.send("ya puedo"));
  EXPECT_EQ(ana.next(), "[t] <bob> ya puedo");

  ASSERT_TRUE(ana.send("/ratelimit 0.5/s 2"));
  EXPECT_EQ(ana.next(), "[t] * ana set this room's limits: 0.5 lines per second, bursts of 2");
  EXPECT_EQ(bob.next(), "[t] * ana set this room's limits: 0.5 lines per second, bursts of 2");
  ASSERT_TRUE(ana.send("/ratelimit 100 5"));
  EXPECT_EQ(ana.next(),
            "error: at most this server's own limits: 10 lines per second, bursts of 20 (--flood-rate, --flood-burst)");
  ASSERT_TRUE(bob.send("uno"));
  ASSERT_TRUE(bob.send("dos"));
  ASSERT_TRUE(bob.send("tres"));
  EXPECT_EQ(ana.next(), "[t] <bob> uno");
  EXPECT_EQ(ana.next(), "[t] <bob> dos");
  EXPECT_EQ(bob.next(), "error: slow down: at most 0.5 lines per second (bursts of 2); lines are being dropped");

  // Whoever joins reads the topic.
  auto& cy = login("cy");
  ASSERT_TRUE(cy.send("/join dev"));
  EXPECT_EQ(cy.next(), "* you are in dev now; /who lists who is here");
  EXPECT_EQ(cy.next(), "* topic: sockets y más");
  EXPECT_EQ(cy.next(), "* the last 3 messages in dev:");
  for (const char* line : {"[t] <bob> ya puedo", "[t] <bob> uno", "[t] <bob> dos"}) EXPECT_EQ(cy.next(), line);
  EXPECT_EQ(ana.next(), "[t] * cy joined dev");
  EXPECT_EQ(bob.next(), "[t] * cy joined dev");
  cy.room = "dev";
  // The kicked go back to general, and are told why.
  ASSERT_TRUE(ana.send("/kick bob enough"));
  for (auto* c : {&ana, &bob, &cy}) EXPECT_EQ(c->next(), "[t] * bob was kicked from dev by ana (enough)") << c->nick;
  EXPECT_EQ(bob.next(), "* you were kicked from dev by ana: enough");
  EXPECT_EQ(bob.next(), "* you are in general now; /who lists who is here");
  EXPECT_EQ(ana.next(), "[t] * bob left dev (joined general)");
  EXPECT_EQ(cy.next(), "[t] * bob left dev (joined general)");
  bob.room = "general";
  ASSERT_TRUE(ana.send("/kick nadie"));
  EXPECT_EQ(ana.next(), "error: no one in dev is called 'nadie'");
  expect_all_quiet();
}

TEST_F(ChatModeration, ABanByAddressHoldsForItsTimeThenLifts) {
  start({"--history-db", db()});
  auto& ana = login("ana");
  auto& bob = login("bob", from_other_host(port()));
  move(ana, "dev");
  move(bob, "dev");
  ASSERT_TRUE(ana.send("/ban bob 2s spam"));
  // bob is not registered: his address is banned, for the room.
  EXPECT_EQ(ana.next(), "[t] * ana banned bob (by address, 127.0.0.2) from dev for 2s (spam)");
  EXPECT_EQ(bob.next(), "[t] * ana banned bob (by address, 127.0.0.2) from dev for 2s (spam)");
  EXPECT_TRUE(bob.next().starts_with("* you are banned from dev until "));
  EXPECT_EQ(bob.next(), "* you are in general now; /who lists who is here");
  EXPECT_EQ(ana.next(), "[t] * bob left dev (joined general)");
  bob.room = "general";
  ASSERT_TRUE(bob.send("/join dev"));
  EXPECT_EQ(bob.next(), "error: you are banned from dev (spam)");
  ASSERT_TRUE(ana.send("/bans"));
  EXPECT_EQ(ana.next(), "* bans in dev:");
  EXPECT_TRUE(ana.next().starts_with("*   127.0.0.2, until ")) << "the ban listed";
  // Someone else from elsewhere is not affected.
  auto& cy = login("cy");
  move(cy, "dev");
  std::this_thread::sleep_for(2100ms);
  move(bob, "dev");
  ASSERT_TRUE(ana.send("/bans"));
  EXPECT_EQ(ana.next(), "* no bans in dev");
  expect_all_quiet();
}

TEST_F(ChatModeration, AnAdminBansAFlooderFromTheServerAndItSurvivesARestart) {
  add_account("root", "admin password");
  start({"--history-db", db(), "--admin", "root"});
  auto& root = guest();
  log_in(root, "root", "admin password");
  auto& ana = login("ana");
  register_nick(ana, "ana's password");
  auto& flooder = login("flood", from_other_host(port()));
  ASSERT_TRUE(flooder.send("spam spam spam"));
  EXPECT_EQ(root.next(), "[t] <flood> spam spam spam");
  EXPECT_EQ(ana.next(), "[t] <flood> spam spam spam");

  ASSERT_TRUE(root.send("/ban 127.0.0.2 10m flooding"));
  for (auto* c : {&root, &ana, &flooder}) {
    EXPECT_EQ(c->next(), "[t] * root banned 127.0.0.2 from this server for 10m (flooding)") << c->nick;
  }
  std::string rest;
  EXPECT_TRUE(flooder.closed_within(3000ms, &rest));
  EXPECT_NE(rest.find("* you are banned from this server until "), std::string::npos) << rest;
  EXPECT_EQ(root.next(), "[t] * flood left (quit: removed by a moderator)");
  EXPECT_EQ(ana.next(), "[t] * flood left (quit: removed by a moderator)");
  forget(flooder);
  // Refused at accept, with one line, before anything is done for it.
  auto again = from_other_host(port());
  EXPECT_TRUE(again->next().starts_with("error: you are banned from this server until "));
  EXPECT_TRUE(again->closed_within(3000ms));
  // Everyone else chats on.
  ASSERT_TRUE(ana.send("por fin"));
  EXPECT_EQ(root.next(), "[t] <ana> por fin");

  ASSERT_TRUE(server().stop());
  forget(root);
  forget(ana);
  start({"--history-db", db(), "--admin", "root"});
  auto refused = from_other_host(port());
  EXPECT_TRUE(refused->next().starts_with("error: you are banned from this server until "));
  auto& back = guest();
  EXPECT_EQ(back.next(), "* the last 2 messages in general:");
  EXPECT_EQ(back.next(), "[t] <flood> spam spam spam");
  EXPECT_EQ(back.next(), "[t] <ana> por fin");
  log_in(back, "ana", "ana's password");
  const auto bans = chat_admin("bans");
  EXPECT_TRUE(bans.starts_with("*\t127.0.0.2\tuntil ")) << bans;
  EXPECT_NE(bans.find("\troot\tflooding\n"), std::string::npos) << bans;
  const auto audit = chat_admin("audit");
  EXPECT_NE(audit.find("\troot\tban\t127.0.0.2\t*\tfor 10m: flooding\n"), std::string::npos) << audit;
  EXPECT_NE(audit.find("\tana\tregister\tana\t*\t\n"), std::string::npos) << audit;
  EXPECT_EQ(chat_admin("accounts"), "ana\nroot\n");
}

TEST_F(ChatModeration, AnOperatorCannotKickBanOrMuteAnAdmin) {
  add_account("root", "admin password");
  start({"--history-db", db(), "--admin", "root"});
  auto& ana = login("ana");
  move(ana, "dev");
  auto& root = guest();
  log_in(root, "root", "admin password");
  move(root, "dev");
  ASSERT_TRUE(ana.send("/kick root"));
  EXPECT_EQ(ana.next(), "error: root is an admin: operators cannot kick admins");
  ASSERT_TRUE(ana.send("/ban root"));
  EXPECT_EQ(ana.next(), "error: root is an admin and cannot be banned");
  ASSERT_TRUE(ana.send("/mute root"));
  EXPECT_EQ(ana.next(), "error: root is an admin and cannot be muted");
  // The admin may do what the room's operator does, and speak to every room.
  ASSERT_TRUE(root.send("/wall mantenimiento a las 18:00"));
  EXPECT_EQ(ana.next(), "[t] * [to every room] root: mantenimiento a las 18:00");
  EXPECT_EQ(root.next(), "[t] * [to every room] root: mantenimiento a las 18:00");
  expect_all_quiet();
}

TEST_F(ChatModeration, OperatorsAndTopicsSurviveARestart) {
  start({"--history-db", db()});
  auto& ana = login("ana");
  register_nick(ana, "ana's password");
  auto& bob = login("bob");
  register_nick(bob, "bob's password");
  move(ana, "dev");
  move(bob, "dev");
  ASSERT_TRUE(ana.send("/op bob"));
  EXPECT_EQ(ana.next(), "[t] * ana made bob an operator of dev");
  EXPECT_EQ(bob.next(), "[t] * ana made bob an operator of dev");
  ASSERT_TRUE(ana.send("/op cy"));
  EXPECT_EQ(ana.next(), "error: only registered nicknames can be operators: 'cy' is not one");
  ASSERT_TRUE(bob.send("/topic guardado"));
  EXPECT_EQ(ana.next(), "[t] * bob set the topic: guardado");
  EXPECT_EQ(bob.next(), "[t] * bob set the topic: guardado");
  ASSERT_TRUE(server().stop());
  forget(ana);
  forget(bob);

  start({"--history-db", db()});
  auto& cy = login("cy");
  move(cy, "dev");  // made by cy now: an operator while there
  EXPECT_EQ(cy.next(), "* topic: guardado");
  auto& back = guest();
  log_in(back, "bob", "bob's password");
  move(back, "dev");
  EXPECT_EQ(back.next(), "* topic: guardado");
  ASSERT_TRUE(back.send("/topic sigue"));
  EXPECT_EQ(back.next(), "[t] * bob set the topic: sigue");
  EXPECT_EQ(cy.next(), "[t] * bob set the topic: sigue");
  expect_all_quiet();
}

TEST_F(ChatModeration, PasswordsAreNeverLoggedNorTraced) {
  server_.emplace(Server::start_args({"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--no-web", "-v",
                                      "--trace", "--threads", "1", "--history-db", db()},
                                     {"chat"}));
  auto& ana = login("ana");
  register_nick(ana, "correct horse");
  ASSERT_TRUE(ana.send("/nick eve"));
  EXPECT_EQ(ana.next(), "* you are eve now");
  ana.nick = "eve";
  ASSERT_TRUE(ana.send("/nick ana correct horse"));
  EXPECT_EQ(ana.next(), "* you are logged in as ana");
  EXPECT_EQ(ana.next(), "* you are ana now");
  ASSERT_TRUE(ana.send("/LOGIN ana wrong password"));
  EXPECT_EQ(ana.next(), "error: wrong password");
  ASSERT_TRUE(ana.send("hola"));  // an ordinary line is logged as ever
  ASSERT_TRUE(server().stop());
  forget(ana);
  const std::string log = server().process().stderr_text();
  EXPECT_EQ(log.find("correct horse"), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong password\""), std::string::npos) << log;
  EXPECT_NE(log.find("(hidden: it carries a password)"), std::string::npos) << log;
  EXPECT_NE(log.find("says \"hola\""), std::string::npos) << log;
}
