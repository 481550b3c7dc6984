#include "services/chat/moderation/moderation.hpp"

#include "net/log.hpp"
#include "services/chat/names.hpp"

#include <algorithm>

namespace enchufe::services::chat::moderation {

namespace {

bool in_force(const Ban& ban, Clock::time_point now) { return ban.until > now; }

}  // namespace

Moderation::Moderation(Settings settings, std::unique_ptr<Store> store)
    : settings_(std::move(settings)), store_(std::move(store)) {
  if (!store_) {
    if (!settings_.admins.empty()) {
      log::warn("--admin: this server keeps no accounts (--history-db none), so nobody can log in as an admin");
    }
    return;
  }
  take(store_->load());
  for (const auto& admin : settings_.admins) {
    if (!accounts_.contains(admin)) {
      log::warn("--admin {}: no such account yet; make it with enchufe chat-admin add-account (/register will not)",
                admin);
    }
  }
}

Moderation::~Moderation() { stop(); }

std::vector<Ban> Moderation::take(Snapshot kept) {
  std::unordered_map<std::string, Account> accounts;
  for (auto& account : kept.accounts) {
    std::string key = fold(account.nick);
    accounts.emplace(std::move(key), std::move(account));
  }
  std::set<std::pair<std::string, std::string>> ops;
  for (auto& op : kept.ops) ops.emplace(std::move(op.room_key), std::move(op.nick_key));
  std::unordered_map<std::string, std::string> topics;
  for (auto& topic : kept.topics) topics[topic.room_key] = std::move(topic.text);
  std::vector<Ban> unknown;
  std::lock_guard lock(mutex_);
  for (const Ban& ban : kept.bans) {
    const bool known = std::any_of(bans_.begin(), bans_.end(), [&](const Ban& b) {
      return b.room_key == ban.room_key && b.target == ban.target && b.until == ban.until;
    });
    if (!known) unknown.push_back(ban);
  }
  accounts_ = std::move(accounts);
  bans_ = std::move(kept.bans);
  ops_ = std::move(ops);
  topics_ = std::move(topics);
  return unknown;
}

template <typename F>
void Moderation::write(F&& f) {
  if (store_) worker_.post([this, f = std::forward<F>(f)] { f(*store_); }, true);
}

// ---- accounts -------------------------------------------------------------------

bool Moderation::registered(const std::string& nick_key) const {
  std::lock_guard lock(mutex_);
  return accounts_.contains(nick_key);
}

std::optional<Account> Moderation::account(const std::string& nick_key) const {
  std::lock_guard lock(mutex_);
  auto it = accounts_.find(nick_key);
  if (it == accounts_.end()) return std::nullopt;
  return it->second;
}

bool Moderation::add_account(const Account& account, const std::string& by) {
  const std::string key = fold(account.nick);
  {
    std::lock_guard lock(mutex_);
    if (!accounts_.emplace(key, account).second) return false;
  }
  write([account](Store& store) { store.put_account(account); });
  audit({Clock::now(), by, "register", account.nick, {}, {}});
  return true;
}

bool Moderation::is_admin(const std::string& account_key) const {
  return !account_key.empty() && settings_.admins.contains(account_key) && registered(account_key);
}

std::optional<std::chrono::seconds> Moderation::take_login_try(const std::string& address_key,
                                                               const std::string& nick_key) {
  std::lock_guard lock(mutex_);
  return throttle_.take(address_key, nick_key);
}

void Moderation::login_worked(const std::string& address_key, const std::string& nick_key) {
  std::lock_guard lock(mutex_);
  throttle_.refund(address_key, nick_key);
}

// ---- operators ----------------------------------------------------------------------

bool Moderation::is_op(const std::string& room_key, const std::string& account_key) const {
  if (account_key.empty()) return false;
  std::lock_guard lock(mutex_);
  return ops_.contains({room_key, account_key});
}

bool Moderation::set_op(const std::string& room_key, const std::string& nick_key, bool on, const std::string& by) {
  {
    std::lock_guard lock(mutex_);
    const bool changed = on ? ops_.emplace(room_key, nick_key).second : ops_.erase({room_key, nick_key}) > 0;
    if (!changed) return false;
  }
  const Op op{room_key, nick_key};
  if (on) {
    write([op](Store& store) { store.put_op(op); });
  } else {
    write([op](Store& store) { store.remove_op(op); });
  }
  audit({Clock::now(), by, on ? "op" : "deop", nick_key, room_key, {}});
  return true;
}

// ---- bans -------------------------------------------------------------------------------

std::optional<Ban> Moderation::server_ban(const asio::ip::address& address) const {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (const Ban& ban : bans_) {
    if (ban.room_key.empty() && ban.address && in_force(ban, now) && ban.address->contains(address)) return ban;
  }
  return std::nullopt;
}

std::optional<Ban> Moderation::ban_for(const std::string& room_key, const asio::ip::address& address,
                                       const std::string& account_key) const {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (const Ban& ban : bans_) {
    if (!in_force(ban, now) || !(ban.room_key.empty() || ban.room_key == room_key)) continue;
    if (ban.address ? ban.address->contains(address) : (!account_key.empty() && ban.target == account_key)) {
      return ban;
    }
  }
  return std::nullopt;
}

void Moderation::put_ban_locked(const Ban& ban) {
  erase_ban_locked(ban.room_key, ban.target);
  bans_.push_back(ban);
}

bool Moderation::erase_ban_locked(const std::string& room_key, const std::string& target) {
  return std::erase_if(bans_, [&](const Ban& b) { return b.room_key == room_key && b.target == target; }) > 0;
}

void Moderation::add_ban(Ban ban) {
  {
    std::lock_guard lock(mutex_);
    put_ban_locked(ban);
  }
  write([ban](Store& store) { store.put_ban(ban); });
}

bool Moderation::remove_ban(const std::string& room_key, const std::string& target, const std::string& by) {
  {
    std::lock_guard lock(mutex_);
    if (!erase_ban_locked(room_key, target)) return false;
  }
  write([room_key, target](Store& store) { store.remove_ban(room_key, target); });
  audit({Clock::now(), by, "unban", target, room_key, {}});
  return true;
}

std::vector<Ban> Moderation::bans(const std::string& room_key) const {
  const auto now = Clock::now();
  std::vector<Ban> out;
  std::lock_guard lock(mutex_);
  for (const Ban& ban : bans_) {
    if (in_force(ban, now) && (ban.room_key.empty() || ban.room_key == room_key)) out.push_back(ban);
  }
  std::sort(out.begin(), out.end(), [](const Ban& a, const Ban& b) { return a.at < b.at; });
  return out;
}

// ---- mutes, topics, limits ------------------------------------------------------------

void Moderation::mute(const std::string& room_key, const std::string& nick_key, Clock::time_point until) {
  std::lock_guard lock(mutex_);
  mutes_[{room_key, nick_key}] = until;
}

bool Moderation::unmute(const std::string& room_key, const std::string& nick_key) {
  std::lock_guard lock(mutex_);
  return mutes_.erase({room_key, nick_key}) > 0;
}

std::optional<Clock::time_point> Moderation::muted_until(const std::string& room_key,
                                                         const std::string& nick_key) const {
  std::lock_guard lock(mutex_);
  auto it = mutes_.find({room_key, nick_key});
  if (it == mutes_.end() || it->second <= Clock::now()) return std::nullopt;
  return it->second;
}

void Moderation::set_topic(const std::string& room_key, const std::string& text) {
  {
    std::lock_guard lock(mutex_);
    topics_[room_key] = text;
  }
  write([topic = Topic{room_key, text}](Store& store) { store.put_topic(topic); });
}

std::string Moderation::topic(const std::string& room_key) const {
  std::lock_guard lock(mutex_);
  auto it = topics_.find(room_key);
  return it == topics_.end() ? std::string() : it->second;
}

void Moderation::set_limits(const std::string& room_key, Limits limits) {
  std::lock_guard lock(mutex_);
  limits_[room_key] = limits;
}

std::optional<Moderation::Limits> Moderation::limits(const std::string& room_key) const {
  std::lock_guard lock(mutex_);
  auto it = limits_.find(room_key);
  if (it == limits_.end()) return std::nullopt;
  return it->second;
}

// ---- other nodes' changes ------------------------------------------------------------

std::optional<Ban> Moderation::apply(const Change& change) {
  std::lock_guard lock(mutex_);
  switch (change.kind) {
    case Change::Kind::account: accounts_.emplace(fold(change.account.nick), change.account); break;
    case Change::Kind::ban: put_ban_locked(change.ban); return change.ban;
    case Change::Kind::unban: erase_ban_locked(change.ban.room_key, change.ban.target); break;
    case Change::Kind::op: ops_.emplace(change.op.room_key, change.op.nick_key); break;
    case Change::Kind::deop: ops_.erase({change.op.room_key, change.op.nick_key}); break;
    case Change::Kind::topic: topics_[change.topic.room_key] = change.topic.text; break;
  }
  return std::nullopt;
}

void Moderation::reload(std::function<void(std::vector<Ban>)> then) {
  // On the worker, after the writes queued before it: what it reads has them.
  write([this, then = std::move(then)](Store& store) { then(take(store.load())); });
}

// ---- audit -----------------------------------------------------------------------------

void Moderation::audit(AuditEntry entry) {
  log::at(log::Level::info, {.service = "chat", .event = "moderation"}, "{} {} {}{}{}{}", entry.actor, entry.action,
          entry.target, entry.room.empty() ? "" : " in ", entry.room, entry.detail.empty() ? "" : ": " + entry.detail);
  write([entry = std::move(entry)](Store& store) { store.audit(entry); });
}

}  // namespace enchufe::services::chat::moderation
