// RedisModeration against a real redis-server: what one store writes a
// fresh one loads (expired bans left out), every write is heard on
// kModerationChannel as the change it made, an account is never
// overwritten, the audit reads back newest entries oldest first and is
// bounded, and a Redis that goes away costs a logged error, not a thrown
// one, with the next call connecting again.

#include "services/chat/cluster/redis_moderation.hpp"

#include "net/errors.hpp"
#include "services/chat/cluster/moderation_feed.hpp"
#include "support/moderation_ban.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace enchufe;
using enchufe::test::RedisServer;
using namespace std::chrono_literals;
using namespace enchufe::services::chat;
using cluster::RedisModeration;
using moderation::Change;
using moderation::Clock;

namespace {

// Redis holds milliseconds: times of that precision come back equal.
Clock::time_point in_ms(Clock::time_point t) { return std::chrono::floor<std::chrono::milliseconds>(t); }

moderation::Ban ban_of(std::string room, std::string target, Clock::time_point until, Clock::time_point at) {
  return test::test_ban(std::move(room), std::move(target), until, at);
}

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// A plain hiredis connection, to look behind the store's back.
Context raw(const RedisServer& server, std::string_view password = {}) {
  Context c(redisConnectWithTimeout("127.0.0.1", server.port(), {2, 0}));
  EXPECT_TRUE(c && c->err == 0);
  redisSetTimeout(c.get(), {2, 0});
  if (!password.empty())
    Reply(static_cast<redisReply*>(redisCommand(c.get(), "AUTH %b", password.data(), password.size())));
  return c;
}

Reply ask(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return Reply(
      static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
}

// Hears kModerationChannel as a node does.
class Listener {
 public:
  explicit Listener(const RedisServer& server) : c_(raw(server)) {
    Reply ok(static_cast<redisReply*>(redisCommand(c_.get(), "SUBSCRIBE %b", cluster::kModerationChannel.data(),
                                                   cluster::kModerationChannel.size())));
    EXPECT_TRUE(ok && ok->type == REDIS_REPLY_ARRAY);
  }

  // The next change published, decoded; nothing if none came within the
  // timeout (2 s) or it did not decode.
  std::optional<Change> next() {
    void* got = nullptr;
    if (redisGetReply(c_.get(), &got) != REDIS_OK) return std::nullopt;
    Reply message(static_cast<redisReply*>(got));
    if (message->type != REDIS_REPLY_ARRAY || message->elements != 3) return std::nullopt;
    return cluster::decode_change(std::string_view(message->element[2]->str, message->element[2]->len));
  }

 private:
  Context c_;
};

net::redis::Address address_of(const RedisServer& server) { return net::redis::parse_url(server.url()); }

}  // namespace

TEST(RedisModeration, WritesComeBackInAFreshStoresLoad) {
  auto server = RedisServer::start();
  const auto now = in_ms(Clock::now());
  const auto until = in_ms(now + 1h);
  {
    RedisModeration store(address_of(server), "node-a");
    store.put_account({"bob", "$argon2id$bob"});
    store.put_account({"Ana", "$argon2id$ana"});
    store.put_ban(ban_of("dev", "bob", until, now - 4s));                       // a nickname, timed
    store.put_ban(ban_of("", "192.0.2.0/24", moderation::kForever, now - 3s));  // an address, for ever
    store.put_ban(ban_of("dev", "2001:db8::/32", until, now - 2s));             // IPv6
    store.put_ban(ban_of("dev", "carol", now - 1s, now - 5s));                  // expired
    store.put_ban(ban_of("ops", "dave", until, now - 1s));
    store.remove_ban("ops", "dave");
    store.put_op({"dev", "ana"});
    store.put_op({"dev", "bob"});
    store.put_op({"dev", "ana"});  // once only
    store.remove_op({"dev", "bob"});
    store.put_topic({"dev", "old"});
    store.put_topic({"dev", "release \"today\"\n\xE2\x82\xAC"});
    store.put_topic({"ops", "quiet"});
  }
  const auto kept = RedisModeration(address_of(server), "node-b").load();

  ASSERT_EQ(kept.accounts.size(), 2u);
  EXPECT_EQ(kept.accounts[0].nick, "Ana");  // by folded nickname
  EXPECT_EQ(kept.accounts[0].hash, "$argon2id$ana");
  EXPECT_EQ(kept.accounts[1].nick, "bob");

  ASSERT_EQ(kept.bans.size(), 3u) << "the expired and the removed ban are left out";
  EXPECT_EQ(kept.bans[0].target, "bob");  // oldest first
  EXPECT_FALSE(kept.bans[0].address.has_value());
  EXPECT_EQ(kept.bans[0].until, until);
  EXPECT_EQ(kept.bans[0].at, now - 4s);
  EXPECT_EQ(kept.bans[0].by, "root");
  EXPECT_EQ(kept.bans[0].reason, "spam");
  EXPECT_EQ(kept.bans[1].room_key, "");
  EXPECT_EQ(kept.bans[1].until, moderation::kForever);
  ASSERT_TRUE(kept.bans[1].address.has_value());
  EXPECT_TRUE(kept.bans[1].address->contains(asio::ip::make_address("192.0.2.7")));
  ASSERT_TRUE(kept.bans[2].address.has_value());
  EXPECT_TRUE(kept.bans[2].address->contains(asio::ip::make_address("2001:db8::1")));

  ASSERT_EQ(kept.ops.size(), 1u);
  EXPECT_EQ(kept.ops[0].room_key, "dev");
  EXPECT_EQ(kept.ops[0].nick_key, "ana");

  ASSERT_EQ(kept.topics.size(), 2u);
  for (const auto& topic : kept.topics) {
    EXPECT_EQ(topic.text, topic.room_key == "dev" ? "release \"today\"\n\xE2\x82\xAC" : "quiet");
  }

  // The expired ban was removed as it was loaded.
  auto c = raw(server);
  EXPECT_EQ(ask(c.get(), {"HLEN", "enchufe:bans"})->integer, 3);
}

TEST(RedisModeration, MalformedEntriesAreSkippedNotGuessedAt) {
  auto server = RedisServer::start();
  RedisModeration store(address_of(server), "node-a");
  store.put_account({"ana", "h"});
  store.put_ban(ban_of("", "bob", moderation::kForever, Clock::now()));
  auto c = raw(server);
  ask(c.get(), {"HSET", "enchufe:accounts", "eve", "not json"});
  ask(c.get(), {"HSET", "enchufe:accounts", "mallory", R"({"nick":"someone-else","hash":"h"})"});
  ask(c.get(),
      {"HSET", "enchufe:bans", "\nx", R"({"room":"","target":"x","address":"nope","by":"r","reason":"","at":1})"});
  ask(c.get(), {"SADD", "enchufe:ops", "no-newline"});
  testing::internal::CaptureStderr();
  const auto kept = store.load();
  const auto log = testing::internal::GetCapturedStderr();
  ASSERT_EQ(kept.accounts.size(), 1u);
  EXPECT_EQ(kept.accounts[0].nick, "ana");
  ASSERT_EQ(kept.bans.size(), 1u);
  EXPECT_EQ(kept.bans[0].target, "bob");
  EXPECT_TRUE(kept.ops.empty());
  EXPECT_NE(log.find("enchufe:accounts"), std::string::npos) << log;
  EXPECT_NE(log.find("enchufe:bans"), std::string::npos) << log;
  EXPECT_NE(log.find("enchufe:ops"), std::string::npos) << log;
}

TEST(RedisModeration, EveryWriteIsHeardAsTheChangeItMade) {
  auto server = RedisServer::start();
  Listener listener(server);
  RedisModeration store(address_of(server), "node-a");
  const auto now = in_ms(Clock::now());

  store.put_account({"Ana", "h"});
  auto heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->kind, Change::Kind::account);
  EXPECT_EQ(heard->node, "node-a");
  EXPECT_EQ(heard->account.nick, "Ana");
  EXPECT_EQ(heard->account.hash, "h");

  store.put_ban(ban_of("", "2001:db8::/48", now + 1h, now));
  heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->kind, Change::Kind::ban);
  EXPECT_EQ(heard->node, "node-a");
  EXPECT_EQ(heard->ban.target, "2001:db8::/48");
  EXPECT_EQ(heard->ban.address, net::AddressPrefix::parse("2001:db8::/48"));
  EXPECT_EQ(heard->ban.until, now + 1h);
  EXPECT_EQ(heard->ban.at, now);

  store.remove_ban("", "2001:db8::/48");
  heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->kind, Change::Kind::unban);
  EXPECT_EQ(heard->ban.room_key, "");
  EXPECT_EQ(heard->ban.target, "2001:db8::/48");

  store.put_op({"dev", "ana"});
  heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->kind, Change::Kind::op);
  EXPECT_EQ(heard->op.room_key, "dev");
  EXPECT_EQ(heard->op.nick_key, "ana");

  store.remove_op({"dev", "ana"});
  heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->kind, Change::Kind::deop);

  // The audit is written only: the next thing heard is the topic.
  store.audit({now, "root", "topic", "", "dev", "hello"});
  store.put_topic({"dev", "hello"});
  heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->kind, Change::Kind::topic);
  EXPECT_EQ(heard->node, "node-a");
  EXPECT_EQ(heard->topic.room_key, "dev");
  EXPECT_EQ(heard->topic.text, "hello");
}

TEST(RedisModeration, AnAccountIsNeverOverwrittenNorAnnouncedTwice) {
  auto server = RedisServer::start();
  Listener listener(server);
  RedisModeration first(address_of(server), "node-a");
  RedisModeration second(address_of(server), "node-b");
  first.put_account({"Ana", "first"});
  testing::internal::CaptureStderr();
  second.put_account({"ANA", "second"});  // another node lost the race
  const auto log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("ANA"), std::string::npos) << "the lost account is told: " << log;
  EXPECT_FALSE(second.add_account_if_new({"ana", "third"}));
  EXPECT_TRUE(second.add_account_if_new({"bob", "b"}));

  const auto kept = RedisModeration(address_of(server), "node-c").load();
  ASSERT_EQ(kept.accounts.size(), 2u);
  EXPECT_EQ(kept.accounts[0].nick, "Ana");
  EXPECT_EQ(kept.accounts[0].hash, "first");

  // Only what was written was announced.
  auto heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->account.hash, "first");
  EXPECT_EQ(heard->node, "node-a");
  heard = listener.next();
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->account.nick, "bob");
  EXPECT_EQ(heard->node, "node-b");
}

TEST(RedisModeration, RecentAuditIsTheNewestEntriesOldestFirstAndBounded) {
  auto server = RedisServer::start();
  RedisModeration store(address_of(server), "node-a");
  const auto now = in_ms(Clock::now());
  for (int i = 1; i <= 5; ++i) {
    store.audit({now + std::chrono::seconds(i), "root", "kick", "bob" + std::to_string(i), i % 2 ? "dev" : "", "x"});
  }
  const auto newest = store.recent_audit(3);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[0].target, "bob3");
  EXPECT_EQ(newest[1].target, "bob4");
  EXPECT_EQ(newest[2].target, "bob5");
  EXPECT_EQ(newest[2].at, now + 5s);
  EXPECT_EQ(newest[2].actor, "root");
  EXPECT_EQ(newest[2].action, "kick");
  EXPECT_EQ(newest[2].room, "dev");
  EXPECT_EQ(newest[1].room, "");
  EXPECT_EQ(newest[2].detail, "x");
  EXPECT_EQ(store.recent_audit(100).size(), 5u);
  EXPECT_TRUE(store.recent_audit(0).empty());

  // Full: the oldest lines go.
  auto c = raw(server);
  std::vector<std::string> fill{"RPUSH", "enchufe:audit"};
  fill.insert(fill.end(), cluster::kAuditKept, "{}");
  ask(c.get(), fill);
  store.audit({now, "root", "ban", "newest", "", ""});
  EXPECT_EQ(ask(c.get(), {"LLEN", "enchufe:audit"})->integer, static_cast<long long>(cluster::kAuditKept));
  EXPECT_EQ(store.recent_audit(1).at(0).target, "newest");
}

TEST(RedisModeration, TheHandshakeAuthenticatesAndSelects) {
  auto server = RedisServer::start({"--requirepass", "s3cret"});
  auto address = address_of(server);
  address.password = "s3cret";
  address.db = 3;
  RedisModeration store(address, "node-a");
  store.put_topic({"dev", "in db 3"});
  auto c = raw(server, "s3cret");
  ask(c.get(), {"SELECT", "3"});
  const auto topic = ask(c.get(), {"HGET", "enchufe:topics", "dev"});
  ASSERT_EQ(topic->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(topic->str, topic->len), "in db 3");

  // A wrong password is a failed write, logged without the password.
  address.password = "wrong-one";
  RedisModeration refused(address, "node-b");
  testing::internal::CaptureStderr();
  refused.put_topic({"dev", "never"});
  const auto log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("could not keep"), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong-one"), std::string::npos) << log;
}

TEST(RedisModeration, ARedisGoneIsLoggedNotThrownAndReconnectedTo) {
  auto server = RedisServer::start();
  RedisModeration store(address_of(server), "node-a");
  store.put_account({"ana", "h"});
  server.kill();

  testing::internal::CaptureStderr();
  const auto kept = store.load();
  store.put_ban(ban_of("", "bob", moderation::kForever, Clock::now()));
  store.audit({Clock::now(), "root", "ban", "bob", "", ""});
  const auto log = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(kept.accounts.empty() && kept.bans.empty() && kept.ops.empty() && kept.topics.empty());
  EXPECT_NE(log.find("could not keep"), std::string::npos) << log;
  EXPECT_NE(log.find(server.url()), std::string::npos) << "the log names the Redis: " << log;
  EXPECT_NE(log.find("until it restarts"), std::string::npos) << log;

  // chat-admin's calls say so instead.
  EXPECT_THROW(store.load_or_throw(), RuntimeError);
  EXPECT_THROW(store.recent_audit(10), RuntimeError);
  EXPECT_THROW(store.add_account_if_new({"bob", "h"}), RuntimeError);

  server.restart();  // up again, empty
  store.put_topic({"dev", "back"});
  const auto again = store.load();
  ASSERT_EQ(again.topics.size(), 1u);
  EXPECT_EQ(again.topics[0].text, "back");
}
