// serve chat --cluster: nicknames are unique across the nodes, /who and
// /rooms count every node's members, /msg reaches a member on any node, and a node that dies or stalls leaves
// nothing behind once --cluster-ttl has passed: its members leave the lists
// and their names are free; a member whose name went to another node's
// meanwhile is told and given a guest name.

#include "chat/cluster_fixture.hpp"

#include <csignal>
#include <regex>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

// Asks `who` (a /who, /rooms...) until the answer starting with `prefix` is
// `wanted`, or `timeout` passes; returns the last answer.
std::string ask_until(ChatClient& who, const std::string& command, const std::string& prefix,
                      const std::string& wanted, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string answer;
  do {
    EXPECT_TRUE(who.send(command));
    answer = who.wait_for_prefix(prefix);
    if (answer == wanted) break;
    std::this_thread::sleep_for(100ms);
  } while (Clock::now() < deadline);
  return answer;
}

// Until `key` exists on `redis` (1) or not (0), within `timeout`.
bool wait_key(const RedisServer& redis, const std::string& key, bool exists, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string wanted = exists ? "1\n" : "0\n";
  while (Clock::now() < deadline) {
    std::vector<std::string> all{"-p", std::to_string(redis.port()), "EXISTS", key};
    if (run_program("/usr/bin/redis-cli", all).out == wanted) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST_F(ChatCluster, ANicknameTakenOnOneNodeIsTakenOnEveryNode) {
  auto redis = RedisServer::start();
  auto& a = node({redis.url()}, "a");
  auto& b = node({redis.url()}, "b");
  auto& ana = member(a, "ana");
  auto guest = ChatClient::connect(b.port("chat"));
  guest->read_welcome();
  ASSERT_TRUE(guest->send("ana"));  // the first line, taken as a nickname
  EXPECT_EQ(guest->wait_for_prefix("error: "), "error: nickname 'ana' is taken; type another one, or /nick NAME");
  ASSERT_TRUE(guest->send("/nick ANA"));  // names are one whatever their case
  EXPECT_EQ(guest->wait_for_prefix("error: "), "error: nickname 'ANA' is taken");

  // Free as soon as she leaves, not a TTL later.
  ASSERT_TRUE(ana.send("/quit"));
  ASSERT_TRUE(ana.wait_for("* bye!"));
  ASSERT_TRUE(wait_key(redis, "enchufe:nick:ana", false, 2000ms));
  ASSERT_TRUE(guest->send("/nick ana"));
  EXPECT_EQ(guest->wait_for_prefix("* you are "), "* you are ana now");
  // Held in Redis for her session on b now.
  EXPECT_EQ(redis_cli(redis, {"GET", "enchufe:nick:ana"}).rfind("b ", 0), 0u);
}

// The nickname is checked with Redis before it is taken: what is typed
// right after it waits for the answer and is said under it.
TEST_F(ChatCluster, LinesTypedRightAfterANicknameAreSaidUnderIt) {
  auto redis = RedisServer::start();
  auto& a = node({redis.url()}, "a");
  auto& ana = member(a, "ana");
  wait_subscribed(redis, "general", 1);
  settle();
  auto guest = ChatClient::connect(a.port("chat"));
  const std::string was = guest->read_welcome();
  ASSERT_TRUE(guest->send("bea\nhola a todos\n/me saluda\n"));
  EXPECT_EQ(guest->wait_for_prefix("* you are "), "* you are bea now");
  std::vector<std::string> heard;
  for (int i = 0; i < 4; ++i) heard.push_back(numbered(ana.raw_line()).second);
  EXPECT_EQ(heard, (std::vector<std::string>{"* " + was + " joined general", "* " + was + " is now known as bea",
                                             "<bea> hola a todos", "* bea saluda"}));
}

TEST_F(ChatCluster, WhoAndRoomsCountTheMembersOfEveryNode) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana"}, {"bob", "Cai"});
  auto &ana = *members[0], &bob = *members[1];
  ASSERT_TRUE(ana.send("/who"));
  EXPECT_EQ(ana.wait_for_prefix("* 3 in"), "* 3 in general: ana, bob, Cai");
  ASSERT_TRUE(bob.send("/join sala"));
  EXPECT_EQ(bob.wait_for_prefix("* you are in "), "* you are in sala now; /who lists who is here");
  // His /who goes to Redis after his move, on the same connection: once it
  // is answered, the move is there for every node to see.
  ASSERT_TRUE(bob.send("/who"));
  EXPECT_EQ(bob.wait_for_prefix("* 1 in"), "* 1 in sala: bob");
  ASSERT_TRUE(ana.send("/rooms"));
  EXPECT_EQ(ana.wait_for_prefix("* 2 rooms"), "* 2 rooms:");
  EXPECT_EQ(ana.wait_for_prefix("* "), "*   general (2)");
  EXPECT_EQ(ana.wait_for_prefix("* "), "*   sala (1)");
}

TEST_F(ChatCluster, PrivateMessagesReachAMemberOnAnotherNode) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana"}, {"Bob"});
  auto &ana = *members[0], &bob = *members[1];
  ASSERT_TRUE(ana.send("/msg bob psst, solo para ti"));
  EXPECT_EQ(bob.wait_for_prefix("[t] *"), "[t] *ana* psst, solo para ti");
  // The echo names him as he spells himself.
  EXPECT_EQ(ana.wait_for_prefix("[t] ->"), "[t] -> *Bob* psst, solo para ti");
  ASSERT_TRUE(bob.send("/msg ANA y tú"));
  EXPECT_EQ(ana.wait_for_prefix("[t] *"), "[t] *Bob* y tú");
  EXPECT_EQ(bob.wait_for_prefix("[t] ->"), "[t] -> *ana* y tú");
  ASSERT_TRUE(ana.send("/msg nadie hola"));
  EXPECT_EQ(ana.wait_for_prefix("error: "), "error: no one here is called 'nadie'");
  // Nothing more came: no copy of either message.
  EXPECT_EQ(escape(ana.drain()), "");
  EXPECT_EQ(escape(bob.drain()), "");
}

TEST_F(ChatCluster, AKilledNodesMembersLeaveEveryListAndFreeTheirNamesWithinTheTtl) {
  auto redis = RedisServer::start();
  auto& ana = *two_nodes(redis, {"ana"}, {"bob"}, {"--cluster-ttl", "2s"})[0];
  auto &a = nodes_[0], &b = nodes_[1];
  ASSERT_TRUE(ana.send("/who"));
  EXPECT_EQ(ana.wait_for_prefix("* 2 in"), "* 2 in general: ana, bob");

  ASSERT_TRUE(b.process().send_signal(SIGKILL));
  const auto killed = Clock::now();
  EXPECT_EQ(ask_until(ana, "/who", "* ", "* 1 in general: ana", 4000ms), "* 1 in general: ana");
  // The TTL, a poll and a loaded machine's slack.
  EXPECT_LT(Clock::now() - killed, 3500ms) << "gone later than the TTL (2 s) allows";
  ASSERT_TRUE(ana.send("/rooms"));
  EXPECT_EQ(ana.wait_for_prefix("* 1 room"), "* 1 room:");
  EXPECT_EQ(ana.wait_for_prefix("* "), "*   general (1)");
  auto& again = member(a, "bob");  // his name is free
  EXPECT_EQ(again.nick, "bob");
}

TEST_F(ChatCluster, NamesAreRegisteredAgainInARestartedRedis) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana"}, {"bob"}, {"--cluster-ttl", "3s"});
  auto &ana = *members[0], &bob = *members[1];
  redis.kill();
  redis.restart();  // empty
  EXPECT_TRUE(ana.wait_for(kBackInTouch, 8000ms));
  // Within a heartbeat (a third of the TTL) of being back.
  EXPECT_TRUE(wait_key(redis, "enchufe:nick:ana", true, 3000ms));
  EXPECT_TRUE(wait_key(redis, "enchufe:nick:bob", true, 3000ms));
  ASSERT_TRUE(bob.send("/nick ana"));
  EXPECT_EQ(bob.wait_for_prefix("error: "), "error: nickname 'ana' is taken");
  EXPECT_EQ(ask_until(bob, "/who", "* ", "* 2 in general: ana, bob", 2000ms), "* 2 in general: ana, bob");
}

TEST_F(ChatCluster, AMemberWhoseNameWentToAnotherNodeWhileItsNodeStalledIsToldAndRenamed) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana"}, {"otra"}, {"--cluster-ttl", "2s"});
  auto &ana = *members[0], &other = *members[1];
  auto& a = nodes_[0];

  ASSERT_TRUE(a.process().send_signal(SIGSTOP));
  EXPECT_TRUE(wait_key(redis, "enchufe:nick:ana", false, 4000ms));
  ASSERT_TRUE(other.send("/nick ana"));
  EXPECT_EQ(other.wait_for_prefix("* you are "), "* you are ana now");
  ASSERT_TRUE(a.process().send_signal(SIGCONT));

  const std::string told = ana.wait_for_prefix("* your nickname ", 4000ms);
  static const std::regex kTold(R"(^\* your nickname ana is held by someone on another server; you are (guest-\d+) now$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(told, m, kTold)) << told;
  const std::string guest = m[1];
  EXPECT_EQ(ana.wait_for_prefix("* you are "), "* you are " + guest + " now");
  // The node holds the guest name in Redis for her, and the name she lost
  // stays with the other node's member.
  EXPECT_TRUE(wait_key(redis, "enchufe:nick:" + guest, true, 2000ms));
  EXPECT_EQ(redis_cli(redis, {"GET", "enchufe:nick:ana"}).rfind("b ", 0), 0u);
}

}  // namespace
