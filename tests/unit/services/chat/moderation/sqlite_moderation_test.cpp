// SqliteModeration on a real file: what it puts, a later one on the same
// file loads (accounts, bans of every kind and length, operators, topics),
// expired bans are left behind, and the audit reads back newest entries
// oldest first. The file is made by SqliteHistory, as the server does: it
// owns the schema (version 3 holds these tables).

#include "services/chat/moderation/sqlite_moderation.hpp"

#include "net/errors.hpp"
#include "services/chat/sqlite_history.hpp"
#include "support/files.hpp"
#include "support/moderation_ban.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace enchufe::services::chat::moderation {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

// The file holds milliseconds: times of that precision come back equal.
Clock::time_point in_ms(Clock::time_point t) { return std::chrono::floor<std::chrono::milliseconds>(t); }

// A chat file with the current schema, closed again.
std::string chat_file(const TempDir& dir) {
  const std::string path = (dir.path / "chat.db").string();
  SqliteHistory history({path});
  return path;
}

Ban ban_of(std::string room_key, std::string target, Clock::time_point until, Clock::time_point at) {
  return test::test_ban(std::move(room_key), std::move(target), until, at);
}

std::vector<std::string> rows(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(op.room_key + ":" + op.nick_key);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SqliteModeration, AccountsOutliveTheStore) {
  TempDir dir;
  const auto path = chat_file(dir);
  {
    SqliteModeration store(path);
    store.put_account({"Ana", "$argon2id$ana"});
    store.put_account({"bob", "$argon2id$bob"});
  }
  const auto kept = SqliteModeration(path).load();
  ASSERT_EQ(kept.accounts.size(), 2u);
  std::vector<std::string> accounts;
  for (const auto& a : kept.accounts) accounts.push_back(a.nick + " " + a.hash);
  std::sort(accounts.begin(), accounts.end());
  EXPECT_EQ(accounts, (std::vector<std::string>{"Ana $argon2id$ana", "bob $argon2id$bob"}));
}

TEST(SqliteModeration, AnAccountPutAgainInAnyCaseReplacesItsRow) {
  // One row per folded nickname: a new password is not a second account.
  TempDir dir;
  SqliteModeration store(chat_file(dir));
  store.put_account({"Ana", "old"});
  store.put_account({"ANA", "new"});
  const auto kept = store.load();
  ASSERT_EQ(kept.accounts.size(), 1u);
  EXPECT_EQ(kept.accounts[0].hash, "new");
}

TEST(SqliteModeration, BansOfEveryKindOutliveTheStore) {
  TempDir dir;
  const auto path = chat_file(dir);
  const auto now = in_ms(Clock::now());
  const auto until = in_ms(now + 1h);
  {
    SqliteModeration store(path);
    store.put_ban(ban_of("dev", "bob", until, now - 3s));              // a nickname, timed
    store.put_ban(ban_of("", "192.0.2.0/24", kForever, now - 2s));     // an address prefix, for ever
    store.put_ban(ban_of("dev", "2001:db8::/32", until, now - 1s));    // IPv6
  }
  const auto kept = SqliteModeration(path).load();
  ASSERT_EQ(kept.bans.size(), 3u);
  // Oldest first, as /bans shows them.
  const Ban& nick = kept.bans[0];
  EXPECT_EQ(nick.room_key, "dev");
  EXPECT_EQ(nick.target, "bob");
  EXPECT_FALSE(nick.address.has_value()) << "a nickname is not read as an address";
  EXPECT_EQ(nick.until, until);
  EXPECT_EQ(nick.by, "root");
  EXPECT_EQ(nick.reason, "spam");
  EXPECT_EQ(nick.at, now - 3s);
  const Ban& v4 = kept.bans[1];
  EXPECT_EQ(v4.room_key, "");
  EXPECT_EQ(v4.until, kForever) << "no end stored is no end";
  ASSERT_TRUE(v4.address.has_value());
  EXPECT_TRUE(v4.address->contains(asio::ip::make_address("192.0.2.7")));
  EXPECT_FALSE(v4.address->contains(asio::ip::make_address("192.0.3.7")));
  const Ban& v6 = kept.bans[2];
  ASSERT_TRUE(v6.address.has_value());
  EXPECT_EQ(*v6.address, *net::AddressPrefix::parse("2001:db8::/32"));
}

TEST(SqliteModeration, ExpiredBansAreNotLoaded) {
  TempDir dir;
  SqliteModeration store(chat_file(dir));
  const auto now = in_ms(Clock::now());
  store.put_ban(ban_of("dev", "bob", now - 1s, now - 1h));
  store.put_ban(ban_of("dev", "carla", now + 1h, now - 1h));
  const auto kept = store.load();
  ASSERT_EQ(kept.bans.size(), 1u);
  EXPECT_EQ(kept.bans[0].target, "carla");
}

TEST(SqliteModeration, ABanPutAgainReplacesTheOneOfTheSameTargetAndPlace) {
  TempDir dir;
  SqliteModeration store(chat_file(dir));
  const auto now = in_ms(Clock::now());
  store.put_ban(ban_of("dev", "bob", kForever, now));
  auto again = ban_of("dev", "bob", now + 1h, now);
  again.reason = "flood";
  store.put_ban(again);
  store.put_ban(ban_of("", "bob", kForever, now));  // the server's: another ban
  const auto kept = store.load();
  ASSERT_EQ(kept.bans.size(), 2u);
  const auto dev = std::find_if(kept.bans.begin(), kept.bans.end(), [](const Ban& b) { return b.room_key == "dev"; });
  ASSERT_NE(dev, kept.bans.end());
  EXPECT_EQ(dev->reason, "flood");
  EXPECT_EQ(dev->until, now + 1h);
}

TEST(SqliteModeration, RemoveBanRemovesThatTargetInThatPlaceOnly) {
  TempDir dir;
  SqliteModeration store(chat_file(dir));
  const auto now = in_ms(Clock::now());
  store.put_ban(ban_of("dev", "bob", kForever, now));
  store.put_ban(ban_of("", "bob", kForever, now));
  store.put_ban(ban_of("dev", "192.0.2.0/24", kForever, now));
  store.remove_ban("dev", "bob");
  store.remove_ban("dev", "nadie");  // nothing to remove: no harm
  const auto kept = store.load();
  std::vector<std::string> left;
  for (const auto& b : kept.bans) left.push_back(b.room_key + ":" + b.target);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{":bob", "dev:192.0.2.0/24"}));
}

TEST(SqliteModeration, OperatorsArePutOnceAndRemoved) {
  TempDir dir;
  const auto path = chat_file(dir);
  {
    SqliteModeration store(path);
    store.put_op({"dev", "ana"});
    store.put_op({"dev", "ana"});  // twice: one row
    store.put_op({"otra", "ana"});
    store.put_op({"dev", "bob"});
    store.remove_op({"dev", "bob"});
  }
  EXPECT_EQ(rows(SqliteModeration(path).load().ops), (std::vector<std::string>{"dev:ana", "otra:ana"}));
}

TEST(SqliteModeration, ATopicOutlivesTheStoreAndIsReplaced) {
  TempDir dir;
  const auto path = chat_file(dir);
  {
    SqliteModeration store(path);
    store.put_topic({"dev", "Hola"});
    store.put_topic({"dev", "Adiós, ñandú"});
    store.put_topic({"otra", ""});
  }
  auto topics = SqliteModeration(path).load().topics;
  std::sort(topics.begin(), topics.end(), [](const Topic& a, const Topic& b) { return a.room_key < b.room_key; });
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].room_key, "dev");
  EXPECT_EQ(topics[0].text, "Adiós, ñandú");
  EXPECT_EQ(topics[1].room_key, "otra");
  EXPECT_EQ(topics[1].text, "");
}

TEST(SqliteModeration, RecentAuditIsTheNewestEntriesOldestFirst) {
  TempDir dir;
  SqliteModeration store(chat_file(dir));
  const auto at = in_ms(Clock::now());
  for (int i = 1; i <= 5; ++i) {
    store.audit({at + std::chrono::seconds(i), "root", "kick", "bob" + std::to_string(i), "dev", "reason"});
  }
  const auto recent = store.recent_audit(3);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].target, "bob3");
  EXPECT_EQ(recent[1].target, "bob4");
  EXPECT_EQ(recent[2].target, "bob5");
  EXPECT_EQ(store.recent_audit(100).size(), 5u);
  EXPECT_TRUE(store.recent_audit(0).empty());
}

TEST(SqliteModeration, AnAuditEntryReadsBackAsWritten) {
  TempDir dir;
  const auto path = chat_file(dir);
  const auto at = in_ms(Clock::now());
  SqliteModeration(path).audit({at, "root", "ban", "192.0.2.0/24", "", "10m: flood"});
  const auto recent = SqliteModeration(path).recent_audit(10);
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].at, at);
  EXPECT_EQ(recent[0].actor, "root");
  EXPECT_EQ(recent[0].action, "ban");
  EXPECT_EQ(recent[0].target, "192.0.2.0/24");
  EXPECT_EQ(recent[0].room, "");
  EXPECT_EQ(recent[0].detail, "10m: flood");
}

TEST(SqliteModeration, WorksBesideTheHistoryStoreStillOpen) {
  // The server keeps both open on one file: the history's lock must not
  // keep the moderation connection out.
  TempDir dir;
  const std::string path = (dir.path / "chat.db").string();
  SqliteHistory history({path});
  SqliteModeration store(path);
  store.put_account({"Ana", "h"});
  store.put_op({"dev", "ana"});
  const auto kept = store.load();
  EXPECT_EQ(kept.accounts.size(), 1u);
  EXPECT_EQ(kept.ops.size(), 1u);
}

TEST(SqliteModeration, AFileThatIsNotThereIsNamedNotMade) {
  // Only the history store creates the file (with its schema).
  TempDir dir;
  const std::string path = (dir.path / "missing.db").string();
  try {
    SqliteModeration store(path);
    ADD_FAILURE() << "opened a file that was not there";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("--history-db " + path + ": cannot open it"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace enchufe::services::chat::moderation
