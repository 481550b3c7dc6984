// Moderation's state with a fake store: what the getters answer (accounts,
// admins, operators, bans by place and by kind, mutes, topics, limits),
// that the snapshot loaded at start is that state, and that every change
// that must outlive a restart reaches the store. The store is written on
// the worker thread: stop() waits for it before the fake's records are read.

#include "services/chat/moderation/moderation.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace enchufe::services::chat::moderation {
namespace {

using namespace std::chrono_literals;

// What the fake store was asked, in order.
struct Records {
  Snapshot snapshot;  // what load() answers
  int loads = 0;
  std::vector<Account> accounts;
  std::vector<Ban> bans;
  std::vector<std::pair<std::string, std::string>> removed_bans;
  std::vector<Op> ops;
  std::vector<Op> removed_ops;
  std::vector<Topic> topics;
  std::vector<AuditEntry> audit;
};

class FakeStore final : public Store {
 public:
  explicit FakeStore(std::shared_ptr<Records> records) : records_(std::move(records)) {}
  Snapshot load() override {
    ++records_->loads;
    return records_->snapshot;
  }
  void put_account(const Account& account) override { records_->accounts.push_back(account); }
  void put_ban(const Ban& ban) override { records_->bans.push_back(ban); }
  void remove_ban(const std::string& room_key, const std::string& target) override {
    records_->removed_bans.emplace_back(room_key, target);
  }
  void put_op(const Op& op) override { records_->ops.push_back(op); }
  void remove_op(const Op& op) override { records_->removed_ops.push_back(op); }
  void put_topic(const Topic& topic) override { records_->topics.push_back(topic); }
  void audit(const AuditEntry& entry) override { records_->audit.push_back(entry); }

 private:
  std::shared_ptr<Records> records_;
};

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

// A moderation state over a fake store whose records the test keeps.
struct Fixture {
  std::shared_ptr<Records> records = std::make_shared<Records>();
  std::unique_ptr<Moderation> moderation;

  explicit Fixture(Settings settings = {}, Snapshot snapshot = {}) {
    records->snapshot = std::move(snapshot);
    moderation = std::make_unique<Moderation>(std::move(settings), std::make_unique<FakeStore>(records));
  }
  // The store's records once every queued write is done.
  const Records& written() {
    moderation->stop();
    return *records;
  }
};

Ban address_ban(std::string room_key, const char* prefix, Clock::time_point until = kForever) {
  Ban ban;
  ban.room_key = std::move(room_key);
  ban.address = net::AddressPrefix::parse(prefix);
  ban.target = ban.address->to_string();
  ban.until = until;
  ban.by = "root";
  ban.at = Clock::now();
  return ban;
}

Ban nick_ban(std::string room_key, std::string nick_key, Clock::time_point until = kForever) {
  Ban ban;
  ban.room_key = std::move(room_key);
  ban.target = std::move(nick_key);
  ban.until = until;
  ban.by = "root";
  ban.at = Clock::now();
  return ban;
}

std::vector<std::string> targets(const std::vector<Ban>& bans) {
  std::vector<std::string> out;
  for (const auto& ban : bans) out.push_back(ban.room_key + ":" + ban.target);
  return out;
}

// ---- accounts ----

TEST(Moderation, AnAccountIsFoundByItsFoldedNickname) {
  Fixture f;
  ASSERT_TRUE(f.moderation->add_account({"Ana", "hash-1"}, "Ana"));
  EXPECT_TRUE(f.moderation->registered("ana"));
  EXPECT_FALSE(f.moderation->registered("bob"));
  const auto account = f.moderation->account("ana");
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->nick, "Ana") << "kept as registered";
  EXPECT_EQ(account->hash, "hash-1");
  EXPECT_FALSE(f.moderation->account("bob").has_value());
}

TEST(Moderation, ANicknameCannotBeRegisteredTwiceInAnyCase) {
  Fixture f;
  ASSERT_TRUE(f.moderation->add_account({"Ana", "hash-1"}, "Ana"));
  EXPECT_FALSE(f.moderation->add_account({"ANA", "hash-2"}, "ANA"));
  EXPECT_EQ(f.moderation->account("ana")->hash, "hash-1") << "the first owner keeps it";
  const auto& written = f.written();
  ASSERT_EQ(written.accounts.size(), 1u);
  EXPECT_EQ(written.accounts[0].nick, "Ana");
}

TEST(Moderation, ARegistrationIsStoredAndAudited) {
  Fixture f;
  ASSERT_TRUE(f.moderation->add_account({"Ana", "hash-1"}, "root"));
  const auto& written = f.written();
  ASSERT_EQ(written.accounts.size(), 1u);
  EXPECT_EQ(written.accounts[0].hash, "hash-1");
  ASSERT_EQ(written.audit.size(), 1u);
  EXPECT_EQ(written.audit[0].actor, "root");
  EXPECT_EQ(written.audit[0].action, "register");
  EXPECT_EQ(written.audit[0].target, "Ana");
}

TEST(Moderation, AnAdminIsAConfiguredNicknameThatHasAnAccount) {
  // --admin names a nickname; until someone owns it with a password,
  // whoever takes it must not get the server's powers.
  Settings settings;
  settings.admins = {"root", "ghost"};
  Fixture f(settings);
  f.moderation->add_account({"Root", "h"}, "console");
  f.moderation->add_account({"pepe", "h"}, "pepe");
  EXPECT_TRUE(f.moderation->is_admin("root"));
  EXPECT_FALSE(f.moderation->is_admin("ghost")) << "configured, but no account";
  EXPECT_FALSE(f.moderation->is_admin("pepe")) << "an account, but not configured";
  EXPECT_FALSE(f.moderation->is_admin("")) << "not logged in";
}

TEST(Moderation, WithoutAStoreItKeepsNoAccounts) {
  Moderation moderation({}, nullptr);
  EXPECT_FALSE(moderation.keeps_accounts());
  Fixture f;
  EXPECT_TRUE(f.moderation->keeps_accounts());
}

TEST(Moderation, LoginTriesAreThrottledAndAWorkingLoginGivesItsTryBack) {
  Fixture f;
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(f.moderation->take_login_try("192.0.2.1", "ana").has_value()) << i;
    f.moderation->login_worked("192.0.2.1", "ana");
  }
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(f.moderation->take_login_try("192.0.2.1", "ana").has_value()) << i;
  EXPECT_TRUE(f.moderation->take_login_try("192.0.2.1", "ana").has_value());
}

// ---- operators ----

TEST(Moderation, SetOpSaysWhetherAnythingChanged) {
  Fixture f;
  EXPECT_TRUE(f.moderation->set_op("dev", "ana", true, "root"));
  EXPECT_FALSE(f.moderation->set_op("dev", "ana", true, "root"));
  EXPECT_TRUE(f.moderation->set_op("dev", "ana", false, "root"));
  EXPECT_FALSE(f.moderation->set_op("dev", "ana", false, "root"));
}

TEST(Moderation, AnOperatorIsOneInItsRoomOnly) {
  Fixture f;
  f.moderation->set_op("dev", "ana", true, "root");
  EXPECT_TRUE(f.moderation->is_op("dev", "ana"));
  EXPECT_FALSE(f.moderation->is_op("otra", "ana"));
  EXPECT_FALSE(f.moderation->is_op("dev", "bob"));
  EXPECT_FALSE(f.moderation->is_op("dev", "")) << "not logged in";
  f.moderation->set_op("dev", "ana", false, "root");
  EXPECT_FALSE(f.moderation->is_op("dev", "ana"));
}

TEST(Moderation, OnlyChangesToOperatorsAreStoredAndAudited) {
  Fixture f;
  f.moderation->set_op("dev", "ana", true, "root");
  f.moderation->set_op("dev", "ana", true, "root");
  f.moderation->set_op("dev", "ana", false, "bob");
  f.moderation->set_op("dev", "ana", false, "bob");
  const auto& written = f.written();
  ASSERT_EQ(written.ops.size(), 1u);
  EXPECT_EQ(written.ops[0].room_key, "dev");
  EXPECT_EQ(written.ops[0].nick_key, "ana");
  ASSERT_EQ(written.removed_ops.size(), 1u);
  EXPECT_EQ(written.removed_ops[0].nick_key, "ana");
  ASSERT_EQ(written.audit.size(), 2u);
  EXPECT_EQ(written.audit[0].action, "op");
  EXPECT_EQ(written.audit[0].actor, "root");
  EXPECT_EQ(written.audit[0].room, "dev");
  EXPECT_EQ(written.audit[1].action, "deop");
  EXPECT_EQ(written.audit[1].actor, "bob");
}

// ---- bans ----

TEST(Moderation, ServerBanMatchesServerWideAddressBansOnly) {
  Fixture f;
  f.moderation->add_ban(address_ban("", "198.51.100.0/24"));
  f.moderation->add_ban(address_ban("dev", "192.0.2.0/24"));  // a room's: the server still lets it in
  f.moderation->add_ban(nick_ban("", "bob"));                  // a nickname's: known only at login
  const auto ban = f.moderation->server_ban(ip("198.51.100.9"));
  ASSERT_TRUE(ban.has_value());
  EXPECT_EQ(ban->target, "198.51.100.0/24");
  EXPECT_TRUE(f.moderation->server_ban(ip("::ffff:198.51.100.9")).has_value());
  EXPECT_FALSE(f.moderation->server_ban(ip("192.0.2.7")).has_value());
  EXPECT_FALSE(f.moderation->server_ban(ip("203.0.113.1")).has_value());
}

TEST(Moderation, ARoomBanKeepsOutOfThatRoomOnly) {
  Fixture f;
  f.moderation->add_ban(address_ban("dev", "192.0.2.0/24"));
  EXPECT_TRUE(f.moderation->ban_for("dev", ip("192.0.2.7"), "").has_value());
  EXPECT_FALSE(f.moderation->ban_for("otra", ip("192.0.2.7"), "").has_value());
  EXPECT_FALSE(f.moderation->ban_for("dev", ip("198.51.100.9"), "").has_value());
}

TEST(Moderation, AServerBanKeepsOutOfEveryRoom) {
  Fixture f;
  f.moderation->add_ban(address_ban("", "192.0.2.0/24"));
  f.moderation->add_ban(nick_ban("", "bob"));
  EXPECT_TRUE(f.moderation->ban_for("dev", ip("192.0.2.7"), "").has_value());
  EXPECT_TRUE(f.moderation->ban_for("otra", ip("192.0.2.7"), "").has_value());
  EXPECT_TRUE(f.moderation->ban_for("otra", ip("203.0.113.1"), "bob").has_value());
}

TEST(Moderation, ANicknameBanMatchesOnlyWhoIsLoggedInAsIt) {
  Fixture f;
  f.moderation->add_ban(nick_ban("dev", "bob"));
  const auto ban = f.moderation->ban_for("dev", ip("203.0.113.1"), "bob");
  ASSERT_TRUE(ban.has_value());
  EXPECT_EQ(ban->target, "bob");
  EXPECT_FALSE(f.moderation->ban_for("dev", ip("203.0.113.1"), "").has_value()) << "a guest is not bob";
  EXPECT_FALSE(f.moderation->ban_for("dev", ip("203.0.113.1"), "carla").has_value());
  EXPECT_FALSE(f.moderation->ban_for("otra", ip("203.0.113.1"), "bob").has_value());
}

TEST(Moderation, ExpiredBansAreIgnored) {
  Fixture f;
  const auto past = Clock::now() - 1s;
  f.moderation->add_ban(address_ban("", "192.0.2.0/24", past));
  f.moderation->add_ban(address_ban("dev", "198.51.100.0/24", past));
  f.moderation->add_ban(nick_ban("dev", "bob", past));
  EXPECT_FALSE(f.moderation->server_ban(ip("192.0.2.7")).has_value());
  EXPECT_FALSE(f.moderation->ban_for("dev", ip("198.51.100.9"), "").has_value());
  EXPECT_FALSE(f.moderation->ban_for("dev", ip("203.0.113.1"), "bob").has_value());
  EXPECT_TRUE(f.moderation->bans("dev").empty());
}

TEST(Moderation, ATimedBanHoldsUntilItsEnd) {
  Fixture f;
  f.moderation->add_ban(nick_ban("dev", "bob", Clock::now() + 1h));
  EXPECT_TRUE(f.moderation->ban_for("dev", ip("203.0.113.1"), "bob").has_value());
}

TEST(Moderation, ABanOfTheSameTargetInTheSamePlaceReplacesTheFirst) {
  Fixture f;
  auto first = nick_ban("dev", "bob");
  first.reason = "spam";
  auto second = nick_ban("dev", "bob", Clock::now() + 1h);
  second.reason = "flood";
  f.moderation->add_ban(first);
  f.moderation->add_ban(second);
  const auto bans = f.moderation->bans("dev");
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0].reason, "flood");
  EXPECT_EQ(bans[0].until, second.until);
}

TEST(Moderation, ABanOfTheSameTargetElsewhereIsAnotherBan) {
  Fixture f;
  f.moderation->add_ban(nick_ban("dev", "bob"));
  f.moderation->add_ban(nick_ban("", "bob"));
  f.moderation->add_ban(nick_ban("otra", "bob"));
  EXPECT_EQ(f.moderation->bans("dev").size(), 2u);
  EXPECT_EQ(f.moderation->bans("otra").size(), 2u);
}

TEST(Moderation, EveryBanIsStored) {
  Fixture f;
  f.moderation->add_ban(nick_ban("dev", "bob"));
  f.moderation->add_ban(address_ban("", "192.0.2.0/24"));
  f.moderation->add_ban(nick_ban("dev", "bob", Clock::now() + 1h));  // replaces the first, and its row
  const auto& written = f.written();
  ASSERT_EQ(written.bans.size(), 3u);
  EXPECT_EQ(written.bans[1].target, "192.0.2.0/24");
  ASSERT_TRUE(written.bans[1].address.has_value());
  EXPECT_NE(written.bans[2].until, kForever);
}

TEST(Moderation, RemoveBanSaysWhetherThereWasOne) {
  Fixture f;
  f.moderation->add_ban(nick_ban("dev", "bob"));
  f.moderation->add_ban(nick_ban("", "bob"));
  EXPECT_FALSE(f.moderation->remove_ban("otra", "bob", "root"));
  EXPECT_TRUE(f.moderation->remove_ban("dev", "bob", "root"));
  EXPECT_FALSE(f.moderation->remove_ban("dev", "bob", "root"));
  // The server's ban of the same nickname is another one: it holds.
  EXPECT_TRUE(f.moderation->ban_for("dev", ip("203.0.113.1"), "bob").has_value());
  EXPECT_EQ(targets(f.moderation->bans("dev")), (std::vector<std::string>{":bob"}));
}

TEST(Moderation, AnUnbanIsStoredAndAudited) {
  Fixture f;
  f.moderation->add_ban(address_ban("dev", "192.0.2.0/24"));
  f.moderation->remove_ban("dev", "192.0.2.0/24", "root");
  f.moderation->remove_ban("dev", "192.0.2.0/24", "root");  // nothing left: nothing written
  const auto& written = f.written();
  ASSERT_EQ(written.removed_bans.size(), 1u);
  EXPECT_EQ(written.removed_bans[0], (std::pair<std::string, std::string>{"dev", "192.0.2.0/24"}));
  ASSERT_EQ(written.audit.size(), 1u);
  EXPECT_EQ(written.audit[0].action, "unban");
  EXPECT_EQ(written.audit[0].target, "192.0.2.0/24");
  EXPECT_EQ(written.audit[0].room, "dev");
}

TEST(Moderation, BansListsTheRoomsAndTheServersOldestFirst) {
  Fixture f;
  const auto now = Clock::now();
  auto at = [](Ban ban, Clock::time_point when) {
    ban.at = when;
    return ban;
  };
  f.moderation->add_ban(at(nick_ban("dev", "carla"), now - 1min));
  f.moderation->add_ban(at(nick_ban("", "bob"), now - 3min));
  f.moderation->add_ban(at(nick_ban("otra", "dani"), now - 4min));
  f.moderation->add_ban(at(address_ban("dev", "192.0.2.0/24"), now - 2min));
  EXPECT_EQ(targets(f.moderation->bans("dev")), (std::vector<std::string>{":bob", "dev:192.0.2.0/24", "dev:carla"}));
  EXPECT_EQ(targets(f.moderation->bans("otra")), (std::vector<std::string>{"otra:dani", ":bob"}));
}

// ---- mutes ----

TEST(Moderation, AMuteHoldsUntilItsEndInItsRoom) {
  Fixture f;
  const auto until = Clock::now() + 10min;
  f.moderation->mute("dev", "bob", until);
  EXPECT_EQ(f.moderation->muted_until("dev", "bob"), std::optional(until));
  EXPECT_FALSE(f.moderation->muted_until("otra", "bob").has_value());
  EXPECT_FALSE(f.moderation->muted_until("dev", "ana").has_value());
}

TEST(Moderation, AMuteThatHasEndedIsNone) {
  Fixture f;
  f.moderation->mute("dev", "bob", Clock::now() - 1s);
  EXPECT_FALSE(f.moderation->muted_until("dev", "bob").has_value());
}

TEST(Moderation, AnUntimedMuteLastsUntilUnmute) {
  Fixture f;
  f.moderation->mute("dev", "bob", kForever);
  EXPECT_EQ(f.moderation->muted_until("dev", "bob"), std::optional(kForever));
  EXPECT_TRUE(f.moderation->unmute("dev", "bob"));
  EXPECT_FALSE(f.moderation->muted_until("dev", "bob").has_value());
  EXPECT_FALSE(f.moderation->unmute("dev", "bob")) << "nothing left to lift";
}

TEST(Moderation, MutesAreNotStored) {
  // A mute is for now: nothing of it outlives a restart.
  Fixture f;
  f.moderation->mute("dev", "bob", kForever);
  f.moderation->unmute("dev", "bob");
  const auto& written = f.written();
  EXPECT_TRUE(written.bans.empty());
  EXPECT_TRUE(written.removed_bans.empty());
  EXPECT_TRUE(written.ops.empty());
  EXPECT_TRUE(written.topics.empty());
}

// ---- topics and limits ----

TEST(Moderation, ATopicIsPerRoomAndReplaced) {
  Fixture f;
  EXPECT_EQ(f.moderation->topic("dev"), "");
  f.moderation->set_topic("dev", "Hola");
  f.moderation->set_topic("dev", "Adiós");
  EXPECT_EQ(f.moderation->topic("dev"), "Adiós");
  EXPECT_EQ(f.moderation->topic("otra"), "");
}

TEST(Moderation, EveryTopicIsStored) {
  Fixture f;
  f.moderation->set_topic("dev", "Hola");
  f.moderation->set_topic("dev", "");  // cleared: that too must outlive a restart
  const auto& written = f.written();
  ASSERT_EQ(written.topics.size(), 2u);
  EXPECT_EQ(written.topics[0].text, "Hola");
  EXPECT_EQ(written.topics[1].room_key, "dev");
  EXPECT_EQ(written.topics[1].text, "");
}

TEST(Moderation, ARoomsLimitsAreItsOwnAndReplaced) {
  Fixture f;
  EXPECT_FALSE(f.moderation->limits("dev").has_value()) << "none set: the server's";
  f.moderation->set_limits("dev", {2, 5});
  f.moderation->set_limits("dev", {0.5, 3});
  const auto limits = f.moderation->limits("dev");
  ASSERT_TRUE(limits.has_value());
  EXPECT_EQ(limits->rate, 0.5);
  EXPECT_EQ(limits->burst, 3.0);
  EXPECT_FALSE(f.moderation->limits("otra").has_value());
}

// ---- the snapshot and the audit ----

TEST(Moderation, TheSnapshotLoadedAtStartIsWhatItAnswers) {
  Settings settings;
  settings.admins = {"root"};
  Snapshot kept;
  kept.accounts = {{"Root", "hash-root"}, {"Ana", "hash-ana"}};
  kept.bans = {nick_ban("dev", "bob"), address_ban("", "192.0.2.0/24")};
  kept.ops = {{"dev", "ana"}};
  kept.topics = {{"dev", "Hola"}};
  Fixture f(settings, kept);
  EXPECT_EQ(f.records->loads, 1);
  EXPECT_TRUE(f.moderation->registered("ana")) << "found by the folded nickname";
  EXPECT_EQ(f.moderation->account("ana")->hash, "hash-ana");
  EXPECT_TRUE(f.moderation->is_admin("root"));
  EXPECT_TRUE(f.moderation->is_op("dev", "ana"));
  EXPECT_TRUE(f.moderation->ban_for("dev", ip("203.0.113.1"), "bob").has_value());
  EXPECT_TRUE(f.moderation->server_ban(ip("192.0.2.7")).has_value());
  EXPECT_EQ(f.moderation->topic("dev"), "Hola");
  EXPECT_FALSE(f.moderation->add_account({"ana", "h"}, "ana")) << "a kept account is taken";
  // Loading wrote nothing back.
  const auto& written = f.written();
  EXPECT_TRUE(written.accounts.empty());
  EXPECT_TRUE(written.bans.empty());
  EXPECT_TRUE(written.ops.empty());
  EXPECT_TRUE(written.topics.empty());
}

TEST(Moderation, AnAuditEntryReachesTheStoreAsGiven) {
  Fixture f;
  const auto at = Clock::now();
  f.moderation->audit({at, "root", "kick", "bob", "dev", "por spam"});
  const auto& written = f.written();
  ASSERT_EQ(written.audit.size(), 1u);
  const auto& entry = written.audit[0];
  EXPECT_EQ(entry.at, at);
  EXPECT_EQ(entry.actor, "root");
  EXPECT_EQ(entry.action, "kick");
  EXPECT_EQ(entry.target, "bob");
  EXPECT_EQ(entry.room, "dev");
  EXPECT_EQ(entry.detail, "por spam");
}

TEST(Moderation, WritesReachTheStoreInTheOrderMade) {
  // One worker, in order: an unban written before the ban it lifts would
  // leave the ban in the file.
  Fixture f;
  for (int i = 0; i < 200; ++i) f.moderation->set_topic("dev", std::to_string(i));
  const auto& written = f.written();
  ASSERT_EQ(written.topics.size(), 200u) << "store writes are never dropped, however many wait";
  for (int i = 0; i < 200; ++i) EXPECT_EQ(written.topics[i].text, std::to_string(i));
}


// ---- changes other nodes made (clustered) ----

TEST(Moderation, AChangeFromAnotherNodeIsAppliedButNeitherWrittenNorAudited) {
  Fixture f;
  Change account{.kind = Change::Kind::account, .node = "b", .account = {"Ana", "hash-b"}};
  EXPECT_FALSE(f.moderation->apply(account).has_value());
  EXPECT_EQ(f.moderation->account("ana")->hash, "hash-b");

  Change ban{.kind = Change::Kind::ban, .node = "b", .ban = address_ban({}, "10.0.0.0/8")};
  const auto enforce = f.moderation->apply(ban);
  ASSERT_TRUE(enforce.has_value()) << "a ban is handed back, to be enforced on this node's members";
  EXPECT_EQ(enforce->target, "10.0.0.0/8");
  EXPECT_TRUE(f.moderation->server_ban(ip("10.1.2.3")).has_value());

  Change op{.kind = Change::Kind::op, .node = "b", .op = {"dev", "ana"}};
  f.moderation->apply(op);
  EXPECT_TRUE(f.moderation->is_op("dev", "ana"));
  Change topic{.kind = Change::Kind::topic, .node = "b", .topic = {"dev", "sockets"}};
  f.moderation->apply(topic);
  EXPECT_EQ(f.moderation->topic("dev"), "sockets");

  Change unban{.kind = Change::Kind::unban, .node = "b"};
  unban.ban.target = "10.0.0.0/8";
  EXPECT_FALSE(f.moderation->apply(unban).has_value());
  EXPECT_FALSE(f.moderation->server_ban(ip("10.1.2.3")).has_value());
  op.kind = Change::Kind::deop;
  f.moderation->apply(op);
  EXPECT_FALSE(f.moderation->is_op("dev", "ana"));

  const auto& written = f.written();
  EXPECT_TRUE(written.accounts.empty() && written.bans.empty() && written.removed_bans.empty() &&
              written.ops.empty() && written.removed_ops.empty() && written.topics.empty() && written.audit.empty())
      << "the node that made the change wrote and audited it";
}

TEST(Moderation, AReloadTakesTheStoresStateAndHandsBackOnlyTheBansNotKnown) {
  Snapshot at_start;
  at_start.bans.push_back(nick_ban({}, "troll"));
  at_start.accounts.push_back({"Ana", "hash-1"});
  Fixture f({}, at_start);
  // What the store holds by the time the node listens again: a ban made
  // elsewhere meanwhile, an account made elsewhere, and one lifted.
  Snapshot now;
  now.bans.push_back(address_ban({}, "192.0.2.0/24"));
  now.accounts.push_back({"Ana", "hash-1"});
  now.accounts.push_back({"Bob", "hash-2"});
  f.records->snapshot = now;
  std::promise<std::vector<Ban>> handed;
  f.moderation->reload([&](std::vector<Ban> bans) { handed.set_value(std::move(bans)); });
  auto future = handed.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(targets(future.get()), std::vector<std::string>{":192.0.2.0/24"});
  EXPECT_TRUE(f.moderation->registered("bob"));
  EXPECT_FALSE(f.moderation->ban_for({}, ip("127.0.0.1"), "troll").has_value()) << "lifted meanwhile";
  EXPECT_TRUE(f.moderation->server_ban(ip("192.0.2.7")).has_value());
  EXPECT_EQ(f.written().loads, 2);
}

}  // namespace
}  // namespace enchufe::services::chat::moderation
