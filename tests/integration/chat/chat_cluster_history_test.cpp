// serve chat --cluster: the rooms' history lives in Redis streams, one per
// room, filled by the script that numbers and publishes each line. A node
// that comes later replays the same lines as the others, a client resumes
// on a node it was never on, and /history and /search read the stream from
// any node, under the numbers everyone saw.

#include "chat/cluster_fixture.hpp"

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

// "* ids on: ... you have seen general up to #12" -> 12.
std::uint64_t seen_up_to(const std::string& answer) {
  static const std::regex kIdsOn(R"(^\* ids on: room lines start with #ID; you have seen \S+ up to #(\d+)$)");
  std::smatch m;
  return std::regex_match(answer, m, kIdsOn) ? std::stoull(m[1]) : UINT64_MAX;
}

TEST_F(ChatCluster, ANodeThatComesLaterReplaysTheSameLinesFromRedis) {
  auto redis = RedisServer::start();
  auto& a = node({redis.url()}, "a");
  auto& ana = member(a, "ana");
  auto& abe = member(a, "abe");
  wait_subscribed(redis, "general", 1);
  settle();
  std::vector<std::uint64_t> ids;
  for (const char* text : {"uno", "dos", "tres"}) {
    ASSERT_TRUE(ana.send(text));
    ids.push_back(expect_line(abe, "ana", text));
  }

  auto& b = node({redis.url()}, "b");
  auto late = ChatClient::connect(b.port("chat"));
  late->read_welcome();
  EXPECT_EQ(late->next(), "* the last 3 messages in general:");
  for (const char* text : {"uno", "dos", "tres"}) EXPECT_EQ(late->next(), std::string("[t] <ana> ") + text);
  // Under the numbers everyone saw: line #N is the stream's entry N-0.
  const std::string entries = redis_cli(redis, {"XRANGE", "enchufe:room-log:general", "-", "+"});
  for (const auto id : ids) EXPECT_NE(entries.find(std::to_string(id) + "-0\n"), std::string::npos) << entries;
  EXPECT_EQ(redis_cli(redis, {"XLEN", "enchufe:room-log:general"}), "3\n");  // messages only, not notices
}

TEST_F(ChatCluster, AClientResumesOnANodeItWasNeverOn) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana"}, {"bob"});
  auto &ana = *members[0], &bob = *members[1];
  ASSERT_TRUE(bob.send("antes"));
  const std::uint64_t last = expect_line(ana, "bob", "antes");
  ASSERT_TRUE(ana.send("/quit"));
  ASSERT_TRUE(ana.wait_for("* bye!"));
  for (const char* text : {"uno", "dos", "tres"}) ASSERT_TRUE(bob.send(text));

  // Node c has never had the room: its home reads the stream.
  auto& c = node({redis.url()}, "c");
  auto back = ChatClient::connect(c.port("chat"));
  back->read_welcome();
  EXPECT_EQ(back->next(), "* the last 4 messages in general:");
  for (const char* text : {"antes", "uno", "dos", "tres"}) EXPECT_EQ(back->next(), std::string("[t] <bob> ") + text);
  ASSERT_TRUE(back->send("/ids on"));
  EXPECT_NE(seen_up_to(back->next()), UINT64_MAX);
  ASSERT_TRUE(back->send("/nick ana\n/resume " + std::to_string(last)));
  EXPECT_EQ(back->wait_for_prefix("* you are "), "* you are ana now");
  EXPECT_EQ(back->wait_for_prefix("* back in "), "* back in general: 3 lines you missed since #" + std::to_string(last));
  std::uint64_t previous = last;
  for (const char* text : {"uno", "dos", "tres"}) {
    const auto [id, line] = numbered(back->raw_line());
    EXPECT_EQ(line, std::string("<bob> ") + text);
    EXPECT_GT(id, previous);
    previous = id;
  }
}

TEST_F(ChatCluster, HistoryAndSearchReadTheStreamFromAnyNode) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana"}, {"bob"});
  auto &ana = *members[0], &bob = *members[1];
  std::vector<std::uint64_t> ids;
  for (const char* text : {"vamos a la playa", "mejor al monte", "la PLAYA está llena"}) {
    ASSERT_TRUE(bob.send(text));
    ids.push_back(expect_line(ana, "bob", text));
  }
  auto page = [&](std::size_t lines) {
    std::vector<std::string> out{ana.raw_line()};
    for (std::size_t i = 0; i < lines; ++i) out.push_back(numbered(ana.raw_line()).second);
    return out;
  };
  ASSERT_TRUE(ana.send("/history 2"));
  EXPECT_EQ(page(2), (std::vector<std::string>{"* 2 earlier lines in general:", "<bob> mejor al monte",
                                               "<bob> la PLAYA está llena"}));
  EXPECT_EQ(ana.raw_line(), "* /history shows earlier ones");
  ASSERT_TRUE(ana.send("/search playa"));
  EXPECT_EQ(page(2), (std::vector<std::string>{"* 2 lines in general with 'playa', newest first:",
                                               "<bob> la PLAYA está llena", "<bob> vamos a la playa"}));
  ASSERT_TRUE(ana.send("/history since " + std::to_string(ids[0])));
  EXPECT_EQ(page(2), (std::vector<std::string>{"* 2 lines in general:", "<bob> mejor al monte",
                                               "<bob> la PLAYA está llena"}));
  ASSERT_TRUE(ana.send("/history 1h"));
  EXPECT_EQ(page(3), (std::vector<std::string>{"* 3 lines in general:", "<bob> vamos a la playa",
                                               "<bob> mejor al monte", "<bob> la PLAYA está llena"}));
}

}  // namespace
