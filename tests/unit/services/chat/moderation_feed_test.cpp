// The moderation changes the nodes of a cluster tell each other, and the
// entries they keep in Redis: every kind must come back with every field it
// went out with (a ban timed or for ever, of a nickname or of an IPv4 or
// IPv6 prefix), and anything else must be nothing rather than a guess: a
// node that applied a half-read ban would enforce the wrong one.

#include "services/chat/cluster/moderation_feed.hpp"
#include "support/moderation_ban.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace enchufe::services::chat::cluster {
namespace {

using namespace std::chrono_literals;
using moderation::Change;
using moderation::Clock;

// 2026-12-01 12:04:05.123 UTC: milliseconds, as they travel.
const auto kAt = Clock::time_point(std::chrono::milliseconds(1'796'126'645'123));

moderation::Ban ban_of(std::string room, std::string target, Clock::time_point until) {
  return test::test_ban(std::move(room), std::move(target), until, kAt, "spam \"and\" \xC3\xB1 worse");
}

Change change_of(Change::Kind kind) {
  Change change;
  change.kind = kind;
  change.node = "node-a";
  return change;
}

Change round_trip(const Change& change) {
  const auto back = decode_change(encode(change));
  EXPECT_TRUE(back.has_value()) << encode(change);
  return back.value_or(Change{});
}

void expect_same(const moderation::Ban& got, const moderation::Ban& want) {
  EXPECT_EQ(got.room_key, want.room_key);
  EXPECT_EQ(got.target, want.target);
  EXPECT_EQ(got.address, want.address);
  EXPECT_EQ(got.until, want.until);
  EXPECT_EQ(got.by, want.by);
  EXPECT_EQ(got.reason, want.reason);
  EXPECT_EQ(got.at, want.at);
}

TEST(ModerationFeed, AnAccountComesBack) {
  auto change = change_of(Change::Kind::account);
  change.account = {"Ana", "$argon2id$v=19$m=65536,t=2,p=1$salt$hash"};
  const auto back = round_trip(change);
  EXPECT_EQ(back.kind, Change::Kind::account);
  EXPECT_EQ(back.node, "node-a");
  EXPECT_EQ(back.account.nick, "Ana");
  EXPECT_EQ(back.account.hash, change.account.hash);
}

TEST(ModerationFeed, BansOfEveryKindComeBack) {
  const std::vector<moderation::Ban> bans = {
      ban_of("dev", "bob", kAt + 1h),                       // a nickname, timed
      ban_of("", "carol", moderation::kForever),            // server-wide, for ever
      ban_of("dev", "192.0.2.0/24", moderation::kForever),  // an IPv4 prefix
      ban_of("", "2001:db8::/32", kAt + 10min),             // an IPv6 prefix
      ban_of("dev", "2001:db8::7", kAt + 1s),               // one IPv6 address
  };
  for (const auto& ban : bans) {
    SCOPED_TRACE(ban.target);
    auto change = change_of(Change::Kind::ban);
    change.ban = ban;
    const auto back = round_trip(change);
    EXPECT_EQ(back.kind, Change::Kind::ban);
    EXPECT_EQ(back.node, "node-a");
    expect_same(back.ban, ban);
    // As the bans hash keeps it, too.
    const auto kept = decode_ban(encode(ban));
    ASSERT_TRUE(kept.has_value());
    expect_same(*kept, ban);
  }
}

TEST(ModerationFeed, AForeverBanHasNoEnd) {
  // No end is no "until", so another version's reader cannot take a huge
  // number for a date.
  const auto text = encode(ban_of("", "bob", moderation::kForever));
  EXPECT_EQ(text.find("until"), std::string::npos) << text;
  // Written out as null, it is for ever too.
  const auto back = decode_ban(R"({"room":"","target":"bob","until":null,"by":"root","reason":"","at":5})");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->until, moderation::kForever);
}

TEST(ModerationFeed, UnbanOpDeopAndTopicComeBack) {
  auto unban = change_of(Change::Kind::unban);
  unban.ban.room_key = "dev";
  unban.ban.target = "192.0.2.0/24";
  auto back = round_trip(unban);
  EXPECT_EQ(back.kind, Change::Kind::unban);
  EXPECT_EQ(back.ban.room_key, "dev");
  EXPECT_EQ(back.ban.target, "192.0.2.0/24");

  for (const auto kind : {Change::Kind::op, Change::Kind::deop}) {
    auto op = change_of(kind);
    op.op = {"dev", "ana"};
    back = round_trip(op);
    EXPECT_EQ(back.kind, kind);
    EXPECT_EQ(back.op.room_key, "dev");
    EXPECT_EQ(back.op.nick_key, "ana");
  }

  auto topic = change_of(Change::Kind::topic);
  topic.topic = {"dev", "release on \xE2\x82\xAC day, \"maybe\"\t\\o/"};
  back = round_trip(topic);
  EXPECT_EQ(back.kind, Change::Kind::topic);
  EXPECT_EQ(back.node, "node-a");
  EXPECT_EQ(back.topic.room_key, "dev");
  EXPECT_EQ(back.topic.text, topic.topic.text);
}

TEST(ModerationFeed, AnAuditEntryComesBack) {
  const moderation::AuditEntry entry{kAt, "root", "ban", "bob", "dev", "1h: spam"};
  const auto back = decode_audit(encode(entry));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->at, kAt);
  EXPECT_EQ(back->actor, "root");
  EXPECT_EQ(back->action, "ban");
  EXPECT_EQ(back->target, "bob");
  EXPECT_EQ(back->room, "dev");
  EXPECT_EQ(back->detail, "1h: spam");
}

TEST(ModerationFeed, WhatIsNotAChangeIsNothing) {
  const std::vector<std::string> payloads = {
      "",
      "not json",
      "[1,2]",
      R"({"node":"a","nick":"ana","hash":"h"})",                                   // no kind
      R"({"kind":"account","nick":"ana","hash":"h"})",                             // no node
      R"({"kind":"promote","node":"a","room":"dev","nick":"ana"})",                // a kind this build does not know
      R"({"kind":7,"node":"a","room":"dev","nick":"ana"})",                        // a kind not a name
      R"({"kind":"account","node":"a","nick":"ana"})",                             // no hash
      R"({"kind":"op","node":"a","room":"dev"})",                                  // no nick
      R"({"kind":"deop","node":"a","nick":"ana"})",                                // no room
      R"({"kind":"topic","node":"a","room":"dev"})",                               // no text
      R"({"kind":"topic","node":"a","room":"dev","text":5})",                      // text not text
      R"({"kind":"unban","node":"a","room":"dev"})",                               // no target
      R"({"kind":"ban","node":"a","room":"","target":"b","by":"r","reason":""})",  // no time
      R"({"kind":"ban","node":"a","room":"","target":"b","by":"r","at":1})",       // no reason
      R"({"kind":"ban","node":"a","room":"","target":"b","by":"r","reason":"","at":"1"})",  // time as text
      R"({"kind":"ban","node":"a","room":"","target":"b","by":"r","reason":"","at":1,"until":"soon"})",
      R"({"kind":"ban","node":"a","room":"","target":"b","by":"r","reason":"","at":1e3})",  // not a whole number
      // Past what a time point holds: it would overflow, not be a date.
      R"({"kind":"ban","node":"a","room":"","target":"b","by":"r","reason":"","at":9223372036854775807})",
      // An address that is not one: never a nickname ban by mistake.
      R"({"kind":"ban","node":"a","room":"","target":"x","address":"300.1.2.3/8","by":"r","reason":"","at":1})",
      R"({"kind":"ban","node":"a","room":"","target":"x","address":"192.0.2.0/33","by":"r","reason":"","at":1})",
      R"({"kind":"ban","node":"a","room":"","target":"x","address":"2001:db8::/129","by":"r","reason":"","at":1})",
      R"({"kind":"ban","node":"a","room":"","target":"x","address":7,"by":"r","reason":"","at":1})",
  };
  for (const auto& payload : payloads) {
    EXPECT_FALSE(decode_change(payload).has_value()) << payload;
  }
}

TEST(ModerationFeed, WhatIsNotAKeptEntryIsNothing) {
  EXPECT_FALSE(decode_account("{}").has_value());
  EXPECT_FALSE(decode_account(R"({"nick":"ana"})").has_value());
  EXPECT_FALSE(decode_account("ana").has_value());
  EXPECT_FALSE(decode_ban(R"({"room":"","target":"x","address":"nope","by":"r","reason":"","at":1})").has_value());
  EXPECT_FALSE(decode_ban("").has_value());
  EXPECT_FALSE(decode_audit(R"({"at":1,"actor":"root","action":"ban","target":"bob","room":""})").has_value());
  EXPECT_FALSE(decode_audit("[]").has_value());
}

}  // namespace
}  // namespace enchufe::services::chat::cluster
