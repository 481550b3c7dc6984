// Accounts and bans when nodes share rooms (issue 15, serve chat
// --cluster): they live in Redis, and a change made on one node reaches
// the others at once on kModerationChannel. Real nodes on a real
// redis-server, over loopback; 127.0.0.2 is "another address" for bans.

#include "chat/cluster_fixture.hpp"

#include <chrono>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

class ChatClusterModeration : public ChatCluster {
 protected:
  // `enchufe chat-admin --cluster URL add-account NICK`, password on stdin.
  static void add_account(const RedisServer& redis, const std::string& nick, const std::string& password) {
    const auto r = run_enchufe({"chat-admin", "--cluster", redis.url(), "add-account", nick}, {.input = password + "\n"});
    ASSERT_TRUE(r.exited_with(0)) << r;
  }

  static std::string chat_admin(const RedisServer& redis, const std::string& what) {
    const auto r = run_enchufe({"chat-admin", "--cluster", redis.url(), what});
    EXPECT_TRUE(r.exited_with(0)) << r;
    return r.out;
  }

  // A client of `server` from `from`, named `nick` (no /ids: lines read as
  // "[t] <nick> text").
  ChatClient& join(Server& server, const std::string& nick, const char* from = "127.0.0.1") {
    auto client = std::make_unique<ChatClient>(TcpClient::connect("127.0.0.1", server.port("chat"), 5000ms, from));
    client->read_welcome();
    EXPECT_TRUE(client->send(nick));
    EXPECT_EQ(client->wait_for_prefix("* you are "), "* you are " + nick + " now");
    client->nick = nick;
    members_.push_back(std::move(client));
    return *members_.back();
  }

  // /login NICK PASSWORD, checked.
  static void log_in(ChatClient& c, const std::string& nick, const std::string& password) {
    ASSERT_TRUE(c.send("/login " + nick + " " + password));
    EXPECT_EQ(c.wait_for_prefix("* you are logged in"), "* you are logged in as " + nick);
    EXPECT_EQ(c.wait_for_prefix("* you are "), "* you are " + nick + " now");
    c.nick = nick;
  }

  // The first line a new client from `from` gets from `server`.
  static std::string first_line(Server& server, const char* from) {
    ChatClient c(TcpClient::connect("127.0.0.1", server.port("chat"), 5000ms, from));
    return c.next();
  }
};

}  // namespace

TEST_F(ChatClusterModeration, ABanOnOneNodeHoldsOnEveryNodeWithinASecondAndAfterARestart) {
  auto redis = RedisServer::start();
  add_account(redis, "root", "admin password");
  auto& a = node({redis.url()}, "a", {"--admin", "root"});
  node({redis.url()}, "b", {"--admin", "root"});
  auto& root = join(a, "boss");
  log_in(root, "root", "admin password");
  auto& ana = join(nodes_[1], "ana");
  auto& flooder = join(nodes_[1], "flood", "127.0.0.2");
  wait_subscribed(redis, "general", 2);
  settle();
  ASSERT_TRUE(flooder.send("spam spam spam"));
  EXPECT_TRUE(root.wait_for("[t] <flood> spam spam spam"));
  EXPECT_TRUE(ana.wait_for("[t] <flood> spam spam spam"));

  // Node b cuts the flooder, whose ban was made on node a.
  const auto banned_at = Clock::now();
  ASSERT_TRUE(root.send("/ban 127.0.0.2 10m flooding"));
  std::string rest;
  EXPECT_TRUE(flooder.closed_within(1000ms, &rest));
  const auto took = Clock::now() - banned_at;
  EXPECT_LT(took, 1000ms) << "the other node cut the flooder after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_NE(rest.find("* you are banned from this server until "), std::string::npos) << escape(rest);
  for (auto* c : {&root, &ana}) {
    EXPECT_TRUE(c->wait_for("[t] * root banned 127.0.0.2 from this server for 10m (flooding)")) << c->nick;
  }
  // Refused at accept on both nodes; everyone else chats on.
  for (auto& n : nodes_) EXPECT_TRUE(first_line(n, "127.0.0.2").starts_with("error: you are banned from this server"));
  ASSERT_TRUE(ana.send("por fin"));
  EXPECT_TRUE(root.wait_for("[t] <ana> por fin"));

  // A node started after the ban reads it from Redis.
  auto& c = node({redis.url()}, "c", {"--admin", "root"});
  EXPECT_TRUE(first_line(c, "127.0.0.2").starts_with("error: you are banned from this server until "));
  const auto bans = chat_admin(redis, "bans");
  EXPECT_TRUE(bans.starts_with("*\t127.0.0.2\tuntil ")) << bans;

  // Lifted on one node, lifted on all.
  ASSERT_TRUE(root.send("/unban 127.0.0.2"));
  EXPECT_TRUE(root.wait_for("[t] * root lifted the ban on 127.0.0.2"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(first_line(nodes_[1], "127.0.0.2"), "* Welcome to enchufe chat! /help lists the commands.")
      << "the unban made on node a did not reach node b";
}

TEST_F(ChatClusterModeration, AnAccountMadeOnOneNodeIsKeptOnEveryNode) {
  auto redis = RedisServer::start();
  // A short TTL: the heartbeat that hands a taken name over runs every second.
  const std::vector<std::string> ttl{"--cluster-ttl", "3s"};
  auto& a = node({redis.url()}, "a", ttl);
  auto& b = node({redis.url()}, "b", ttl);
  auto& ana = join(a, "ana");
  ASSERT_TRUE(ana.send("/register ana's password"));
  EXPECT_EQ(ana.wait_for_prefix("* ana is registered"),
            "* ana is registered to you: nobody else can take it, and /login ana PASSWORD takes it back");

  // Node b knows the name is registered, and takes its password.
  auto& other = join(b, "other");
  ASSERT_TRUE(other.send("/nick ana"));
  EXPECT_EQ(other.wait_for_prefix("error: "), "error: nickname 'ana' is registered; if it is yours: /login ana PASSWORD");
  ASSERT_TRUE(other.send("/login ana wrong password"));
  EXPECT_EQ(other.wait_for_prefix("error: "), "error: wrong password");
  log_in(other, "ana", "ana's password");
  // The owner's old connection, on node a, gives the name up.
  EXPECT_TRUE(ana.wait_for_prefix("* your nickname ana is held by someone on another server; you are guest-", 5000ms)
                  .starts_with("* your nickname ana is held"));
  EXPECT_EQ(chat_admin(redis, "accounts"), "ana\n");

  // An account made with chat-admin while the nodes run is known at once.
  add_account(redis, "root", "admin password");
  std::this_thread::sleep_for(300ms);
  auto& late = join(a, "late");
  log_in(late, "root", "admin password");
}
