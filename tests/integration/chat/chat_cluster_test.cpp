// serve chat --cluster: several real nodes sharing rooms through real
// redis-server processes on free loopback ports. A line said on any node
// reaches every member of the room on every node once, numbered alike and
// in one order; when Redis goes away (killed, restarted, stopped) each node
// keeps its own members talking, tells them once, and comes back by itself;
// rooms spread over several Redis servers, each carrying its own.

#include "chat/cluster_fixture.hpp"
#include "net/redis/url.hpp"
#include "services/chat/cluster/bus.hpp"
#include "support/metrics.hpp"
#include "support/redis_server.hpp"
#include "support/websocket.hpp"

#include <fmt/format.h>

#include <deque>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

TEST_F(ChatCluster, MembersOnTwoNodesShareARoomWithTheSameLineNumbers) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana"}, {"bob", "cai"});
  auto &ana = *members[0], &bob = *members[1], &cai = *members[2];

  // From b to a (and to b's other member); the sender never gets its own.
  ASSERT_TRUE(bob.send("hola desde b"));
  const auto at_ana = expect_line(ana, "bob", "hola desde b");
  EXPECT_EQ(expect_line(cai, "bob", "hola desde b"), at_ana);
  // From a to b, numbered next on both.
  ASSERT_TRUE(ana.send("y desde a"));
  EXPECT_EQ(expect_line(bob, "ana", "y desde a"), at_ana + 1);
  EXPECT_EQ(expect_line(cai, "ana", "y desde a"), at_ana + 1);
  EXPECT_EQ(escape(ana.drain()), "");
  EXPECT_EQ(escape(bob.drain(5ms)), "");

  // Notices travel too: cai leaving b is seen on a.
  ASSERT_TRUE(cai.send("/quit"));
  EXPECT_EQ(numbered(ana.raw_line()).second, "* cai left (quit)");
  EXPECT_EQ(numbered(bob.raw_line()).second, "* cai left (quit)");
}

// The web page's members are members like the others: a page on one node
// and terminals on another share the room, with the same line numbers.
TEST_F(ChatCluster, APageOnOneNodeTalksWithTerminalsOnAnother) {
  auto redis = RedisServer::start();
  auto& a = node({redis.url()}, "a");
  auto& b = node({redis.url()}, "b");
  auto& ana = member(a, "ana");
  auto& cai = member(a, "cai");
  auto page = WsClient::connect("127.0.0.1", b.web_port());
  EXPECT_FALSE(page->wait_for("joined").empty());
  ASSERT_TRUE(page->type("web"));  // the first plain line is the nickname
  EXPECT_FALSE(page->wait_for("nick").empty());
  wait_subscribed(redis, "general", 2);
  settle();
  page->drain();

  ASSERT_TRUE(ana.send("hola, página"));
  const auto id = expect_line(cai, "ana", "hola, página");
  const auto message = page->wait_for("message", "hola, página");
  ASSERT_FALSE(message.empty());
  EXPECT_EQ(message.at("nick").as_string(), "ana") << to_string(message);
  EXPECT_EQ(message.at("id").as_int64(), static_cast<std::int64_t>(id)) << to_string(message);
  ASSERT_TRUE(page->type("hola, terminales"));
  EXPECT_EQ(expect_line(ana, "web", "hola, terminales"), id + 1);
  EXPECT_EQ(expect_line(cai, "web", "hola, terminales"), id + 1);
}

// Three nodes, many members each, all talking at once: every member sees
// every other member's lines exactly once, and a given number is the same
// line for all of them, the numbers rising: one order for the room.
TEST_F(ChatCluster, EveryLineReachesEveryMemberOnEveryNodeOnceInOneOrder) {
  constexpr std::size_t kNodes = 3, kPerNode = 67, kLinesEach = 5;  // 201 members
  constexpr std::size_t kMembers = kNodes * kPerNode;
  auto redis = RedisServer::start();
  std::vector<Server*> servers;
  for (std::size_t n = 0; n < kNodes; ++n) {
    // The flood limit is per member; 5 lines at once is within its burst.
    // 67 members a node from one address, past --max-per-address.
    servers.push_back(&node({redis.url()}, "node" + std::to_string(n), {"--trust-loopback"}));
  }

  struct Seen {
    std::mutex mutex;
    std::map<std::uint64_t, std::string> by_id;  // every member's lines, by number: must agree
    std::vector<std::vector<std::uint64_t>> ids;  // per member, in arrival order
    std::vector<std::size_t> received;           // per member: "m-" lines
    std::vector<bool> ready;                     // /ids on answered
    std::vector<std::string> problems;
  } seen;
  seen.ids.resize(kMembers);
  seen.received.resize(kMembers);
  seen.ready.resize(kMembers);

  const std::regex kMessage(R"(^#(\d+) \[\d\d:\d\d:\d\d\] <[^>]+> (m-\d+-\d+)$)");
  std::vector<std::unique_ptr<Crowd>> crowds;
  for (std::size_t n = 0; n < kNodes; ++n) {
    crowds.push_back(std::make_unique<Crowd>(servers[n]->port("chat")));
    crowds[n]->on_line([&, n](std::size_t c, std::string_view line) {
      const std::size_t member = n * kPerNode + c;
      std::lock_guard lock(seen.mutex);
      if (line.starts_with("* ids on: ")) seen.ready[member] = true;
      std::match_results<std::string_view::const_iterator> m;
      if (!std::regex_match(line.begin(), line.end(), m, kMessage)) return;
      const std::uint64_t id = std::stoull(m[1]);
      const std::string text = m[2];
      auto [at, fresh] = seen.by_id.emplace(id, text);
      if (!fresh && at->second != text) {
        seen.problems.push_back("#" + std::to_string(id) + " is " + at->second + " and " + text);
      }
      seen.ids[member].push_back(id);
      ++seen.received[member];
    });
    crowds[n]->on_close([&, n](std::size_t c) {
      std::lock_guard lock(seen.mutex);
      seen.problems.push_back("member " + std::to_string(n * kPerNode + c) + " was disconnected");
    });
    for (std::size_t c = 0; c < kPerNode; ++c) {
      crowds[n]->add();
      // A guest's first line that could be a nickname is taken as one.
      crowds[n]->send(c, fmt::format("u{}\n/ids on\n", n * kPerNode + c));
    }
  }
  // Each crowd pumped by its own thread, so the three nodes are driven at once.
  auto pump_all = [&](const std::function<bool()>& done, Duration timeout) {
    std::vector<std::thread> pumps;
    for (auto& crowd : crowds) pumps.emplace_back([&, c = crowd.get()] { c->pump(done, timeout); });
    for (auto& t : pumps) t.join();
    return done();
  };
  auto all_ready = [&] {
    std::lock_guard lock(seen.mutex);
    return std::count(seen.ready.begin(), seen.ready.end(), true) == static_cast<long>(kMembers);
  };
  ASSERT_TRUE(pump_all(all_ready, 10'000ms));
  wait_subscribed(redis, "general", kNodes);

  for (std::size_t n = 0; n < kNodes; ++n) {
    for (std::size_t c = 0; c < kPerNode; ++c) {
      std::string lines;
      for (std::size_t k = 0; k < kLinesEach; ++k) lines += fmt::format("m-{}-{}\n", n * kPerNode + c, k);
      crowds[n]->send(c, lines);
    }
  }
  constexpr std::size_t kExpected = (kMembers - 1) * kLinesEach;
  auto all_received = [&] {
    std::lock_guard lock(seen.mutex);
    return std::all_of(seen.received.begin(), seen.received.end(), [](std::size_t r) { return r >= kExpected; }) ||
           !seen.problems.empty();
  };
  pump_all(all_received, 30'000ms);
  // A moment more: a line that came twice would come now.
  pump_all([] { return false; }, 300ms);

  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(seen.problems, std::vector<std::string>{});
  EXPECT_EQ(seen.by_id.size(), kMembers * kLinesEach);
  for (std::size_t m = 0; m < kMembers; ++m) {
    EXPECT_EQ(seen.received[m], kExpected) << "member " << m;
    EXPECT_TRUE(std::is_sorted(seen.ids[m].begin(), seen.ids[m].end()) &&
                std::adjacent_find(seen.ids[m].begin(), seen.ids[m].end()) == seen.ids[m].end())
        << "member " << m << " did not get rising numbers";
  }
  // Each member's own lines, in the order it said them: the room's order
  // keeps every sender's.
  std::vector<std::size_t> next(kMembers);
  for (const auto& [id, text] : seen.by_id) {
    const std::size_t sender = std::stoul(text.substr(2, text.find('-', 2) - 2));
    EXPECT_EQ(text, fmt::format("m-{}-{}", sender, next[sender])) << "#" << id;
    ++next[sender];
  }
}

// Redis killed, then back (empty): each node's members go on talking among
// themselves, are told once when touch is lost and once when it is back,
// and numbering goes on from where the room was, not from 1.
TEST_F(ChatCluster, RedisRestartedKeepsEachNodeTalkingThenJoinsThemAgain) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana", "abe"}, {"bob"});
  auto &ana = *members[0], &abe = *members[1], &bob = *members[2];
  ASSERT_TRUE(ana.send("antes"));
  const auto before = expect_line(bob, "ana", "antes");
  expect_line(abe, "ana", "antes");

  const std::uint16_t metrics_a = nodes_.front().port("metrics");
  const std::string shard_up = "enchufe_cluster_shard_up{shard=\"" + redis.url() + "\"}";
  EXPECT_EQ(metric(scrape(metrics_a), shard_up), 1);

  redis.kill();
  for (auto* m : {&ana, &abe, &bob}) EXPECT_EQ(m->next(), kLostTouch) << m->nick;
  ASSERT_TRUE(ana.send("solo en a"));
  EXPECT_EQ(abe.next(), "[t] <ana> solo en a");  // unnumbered: the cluster numbers lines
  EXPECT_EQ(escape(bob.drain()), "");
  // The node shows it in its metrics too.
  const std::string away = scrape(metrics_a);
  EXPECT_EQ(metric(away, shard_up), 0);
  EXPECT_EQ(metric(away, "enchufe_cluster_rooms_out_of_touch"), 1);
  EXPECT_EQ(metric(away, "enchufe_cluster_lines_here_only_total"), 1);

  redis.restart();
  // The subscriber reconnects with backoff (100 ms growing, at most 5 s).
  for (auto* m : {&ana, &abe, &bob}) EXPECT_EQ(m->next(8000ms), kBackInTouch) << m->nick;
  wait_subscribed(redis, "general", 2);
  const std::string back = scrape(metrics_a);
  EXPECT_EQ(metric(back, shard_up), 1);
  EXPECT_EQ(metric(back, "enchufe_cluster_rooms_out_of_touch"), 0);
  ASSERT_TRUE(bob.send("de vuelta"));
  const auto after = expect_line(ana, "bob", "de vuelta");
  EXPECT_EQ(expect_line(abe, "bob", "de vuelta"), after);
  EXPECT_GT(after, before);
  EXPECT_EQ(escape(bob.drain()), "");
}

// Redis stopped (SIGSTOP) for 5 s: nobody is disconnected, a node's own
// members get each other's lines within a few seconds (the reply timeout),
// and when Redis goes on the room is whole again.
TEST_F(ChatCluster, RedisStoppedFiveSecondsCutsNobody) {
  auto redis = RedisServer::start();
  const auto members = two_nodes(redis, {"ana", "abe"}, {"bob"});
  auto &ana = *members[0], &abe = *members[1], &bob = *members[2];

  ASSERT_TRUE(redis.pause());
  const auto paused = Clock::now();
  ASSERT_TRUE(ana.send("mientras tanto"));
  // Lost touch (ping or reply unanswered) and ana's line to abe, in either
  // order, well before Redis goes on.
  std::set<std::string> got;
  for (int i = 0; i < 2; ++i) got.insert(abe.next(4000ms));
  EXPECT_EQ(got, (std::set<std::string>{std::string(kLostTouch), "[t] <ana> mientras tanto"}));
  EXPECT_LT(Clock::now() - paused, 4500ms);
  EXPECT_EQ(ana.next(), kLostTouch);
  EXPECT_EQ(bob.next(), kLostTouch);

  std::this_thread::sleep_for(5000ms - (Clock::now() - paused));
  ASSERT_TRUE(redis.resume());
  for (auto* m : {&ana, &abe}) EXPECT_EQ(m->next(8000ms), kBackInTouch) << m->nick;
  // bob may hear ana's line once if Redis ran her publish as it went on;
  // never twice.
  std::vector<std::string> skipped;
  EXPECT_TRUE(bob.wait_for(kBackInTouch, 8000ms, &skipped));
  EXPECT_LE(skipped.size(), 1u) << ::testing::PrintToString(skipped);
  wait_subscribed(redis, "general", 2);
  ASSERT_TRUE(bob.send("sigo aquí"));
  expect_line(ana, "bob", "sigo aquí");
  expect_line(abe, "bob", "sigo aquí");
}

// No Redis at start: the node serves anyway, its members talk among
// themselves, and they are told once why nobody else hears them.
TEST_F(ChatCluster, NoRedisAtStartServesThisNodesMembers) {
  auto redis = RedisServer::start();
  const std::string url = redis.url();
  redis.kill();
  auto& a = node({url}, "a");
  // Told as soon as the room is made, right after the welcome.
  auto first = ChatClient::connect(a.port("chat"));
  first->read_welcome();
  EXPECT_EQ(first->next(), kLostTouch);
  auto& abe = member(a, "abe");
  ASSERT_TRUE(abe.send("hay alguien?"));
  EXPECT_EQ(first->wait_for_prefix("[t] <abe>"), "[t] <abe> hay alguien?");
}

// Two Redis servers: each room lives on the one the hash picks (the same on
// every node), and losing one shard degrades only the rooms on it.
TEST_F(ChatCluster, RoomsSpreadOverShardsAndAShardLostTakesOnlyItsRooms) {
  auto first = RedisServer::start();
  auto second = RedisServer::start();
  const std::vector<std::string> urls{first.url(), second.url()};
  const auto shards = enchufe::net::redis::parse_urls(urls);
  // A room on each shard.
  std::string on_first, on_second;
  for (int i = 0; on_first.empty() || on_second.empty(); ++i) {
    const std::string room = "sala" + std::to_string(i);
    (enchufe::services::chat::cluster::shard_of(room, shards) == 0 ? on_first : on_second) = room;
  }
  auto& a = node(urls, "a");
  auto& b = node(urls, "b");
  auto& ana = member(a, "ana");
  auto& bob = member(b, "bob");
  auto& cai = member(a, "cai");
  auto& dan = member(b, "dan");
  for (auto* m : {&ana, &bob}) {
    ASSERT_TRUE(m->send("/join " + on_first));
    EXPECT_EQ(m->wait_for_prefix("* you are in "), "* you are in " + on_first + " now; /who lists who is here");
  }
  for (auto* m : {&cai, &dan}) {
    ASSERT_TRUE(m->send("/join " + on_second));
    EXPECT_EQ(m->wait_for_prefix("* you are in "), "* you are in " + on_second + " now; /who lists who is here");
  }
  wait_subscribed(first, on_first, 2);
  wait_subscribed(second, on_second, 2);
  settle();

  ASSERT_TRUE(ana.send("en la primera"));
  expect_line(bob, "ana", "en la primera");
  ASSERT_TRUE(dan.send("en la segunda"));
  expect_line(cai, "dan", "en la segunda");
  // Each room was numbered by its own shard only.
  auto counter = [](const RedisServer& redis, const std::string& room) {
    return redis_cli(redis, {"EXISTS", "enchufe:room-id:" + room});
  };
  EXPECT_EQ(counter(first, on_first), "1\n");
  EXPECT_EQ(counter(second, on_first), "0\n");
  EXPECT_EQ(counter(second, on_second), "1\n");
  EXPECT_EQ(counter(first, on_second), "0\n");

  second.kill();
  EXPECT_EQ(cai.next(), kLostTouch);
  EXPECT_EQ(dan.next(), kLostTouch);
  // The first shard's room still spans both nodes, untold of anything.
  ASSERT_TRUE(bob.send("aquí nada cambia"));
  expect_line(ana, "bob", "aquí nada cambia");
  EXPECT_EQ(escape(ana.drain()), "");
  EXPECT_EQ(escape(bob.drain(5ms)), "");
}

TEST(ChatClusterUsage, BadClusterFlagsAreRefusedBeforeServing) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases{
      {{"--cluster", "http://127.0.0.1:6379"}, "--cluster"},
      {{"--cluster", "redis://127.0.0.1:notaport"}, "--cluster"},
      {{"--cluster", "redis://127.0.0.1:6379/x"}, "--cluster"},
      {{"--node-name", "a"}, "--node-name: only with --cluster"},
      {{"--cluster", "redis://127.0.0.1:6379", "--node-name", "dos palabras"}, "--node-name"},
      {{"--cluster", "redis://127.0.0.1:6379", "--cluster-ttl", "500ms"}, "--cluster-ttl: at least 1s"},
      {{"--cluster", "redis://127.0.0.1:6379", "--cluster-ttl", "pronto"}, "--cluster-ttl"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"serve", "chat", "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = run_enchufe(args);
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r;
    EXPECT_EQ(r.out.find("listening:"), std::string::npos) << r;
  }
}

}  // namespace
