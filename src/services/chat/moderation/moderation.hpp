#pragma once
// Who may do what in the chat: accounts, admins, room operators, bans,
// mutes, topics and rooms' flood limits. The state is read at every login,
// join and accept, and changed by a moderator's command now and then: it
// lives here under one mutex, off the message path (a muted member's
// session keeps its own copy of its mute, so a line costs no lock). Changes
// are written through to the store (store.hpp) on the worker thread, and
// every one is audited: a log line and a row.

#include "net/address_prefix.hpp"
#include "services/chat/moderation/change.hpp"
#include "services/chat/moderation/login_throttle.hpp"
#include "services/chat/moderation/settings.hpp"
#include "services/chat/moderation/store.hpp"
#include "services/chat/moderation/worker.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace enchufe::services::chat::moderation {

class Moderation {
 public:
  // `store`: where it all is kept; none (--history-db none): nothing is,
  // and accounts are refused, since a name claimed until the next restart
  // protects nobody.
  Moderation(Settings settings, std::unique_ptr<Store> store);
  ~Moderation();
  Moderation(const Moderation&) = delete;
  Moderation& operator=(const Moderation&) = delete;

  const Settings& settings() const { return settings_; }
  bool keeps_accounts() const { return store_ != nullptr; }
  // Hashes passwords and writes the store, in order, off the loops.
  Worker& worker() { return worker_; }
  // Ends the worker once what it has queued is written (before the store
  // goes away). Idempotent.
  void stop() { worker_.stop(); }

  // ---- accounts (nicknames folded) ----
  bool registered(const std::string& nick_key) const;
  std::optional<Account> account(const std::string& nick_key) const;
  // False if the nickname has an account already.
  bool add_account(const Account& account, const std::string& by);
  // A configured admin, logged in (`account_key` is what the session is
  // logged in as; empty: nobody).
  bool is_admin(const std::string& account_key) const;
  // A login try from `address_key` at `nick_key`: nothing if it may go on,
  // else how long until it may (login_throttle.hpp).
  std::optional<std::chrono::seconds> take_login_try(const std::string& address_key, const std::string& nick_key);
  void login_worked(const std::string& address_key, const std::string& nick_key);

  // ---- operators ----
  bool is_op(const std::string& room_key, const std::string& account_key) const;
  // False if nothing changed.
  bool set_op(const std::string& room_key, const std::string& nick_key, bool on, const std::string& by);

  // ---- bans ----
  // A ban that keeps `address` out of the whole server, if any (every accept asks).
  std::optional<Ban> server_ban(const asio::ip::address& address) const;
  // A ban that keeps this member out of `room_key` (its own or the server's).
  std::optional<Ban> ban_for(const std::string& room_key, const asio::ip::address& address,
                             const std::string& account_key) const;
  // Replaces a ban of the same target in the same place.
  void add_ban(Ban ban);
  bool remove_ban(const std::string& room_key, const std::string& target, const std::string& by);
  // The bans in force in `room_key` and the server's, oldest first.
  std::vector<Ban> bans(const std::string& room_key) const;

  // ---- mutes (not kept across restarts: a mute is for now) ----
  void mute(const std::string& room_key, const std::string& nick_key, Clock::time_point until);
  bool unmute(const std::string& room_key, const std::string& nick_key);
  // Until when the member is muted in the room; nothing if not.
  std::optional<Clock::time_point> muted_until(const std::string& room_key, const std::string& nick_key) const;

  // ---- topics and rooms' flood limits ----
  void set_topic(const std::string& room_key, const std::string& text);
  std::string topic(const std::string& room_key) const;
  struct Limits {
    double rate;
    double burst;
  };
  void set_limits(const std::string& room_key, Limits limits);
  std::optional<Limits> limits(const std::string& room_key) const;

  // A log line at once, and a row in the store's audit table.
  void audit(AuditEntry entry);

  // ---- what other nodes changed (serve chat --cluster) ----
  // Applies a change another node made and wrote (memory only: nothing is
  // written or audited again). Returns the ban to enforce on this node's
  // members, if the change is one.
  std::optional<Ban> apply(const Change& change);
  // Reads the store again on the worker and takes what it holds in place
  // of what is in memory (changes published while this node was not
  // listening are in it); `then` gets the bans that were not known here
  // before, to enforce, on the worker thread.
  void reload(std::function<void(std::vector<Ban>)> then);

 private:
  // Puts what `kept` holds in place of what is in memory; returns the bans
  // that were not known.
  std::vector<Ban> take(Snapshot kept);
  // With mutex_ held: a ban in place of any of the same target and place.
  void put_ban_locked(const Ban& ban);
  // With mutex_ held: false if there was no such ban.
  bool erase_ban_locked(const std::string& room_key, const std::string& target);
  // Queues a store write; it is never dropped (Worker::post's `must`).
  template <typename F>
  void write(F&& f);

  const Settings settings_;
  const std::unique_ptr<Store> store_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Account> accounts_;  // folded nick ->
  std::vector<Ban> bans_;
  std::set<std::pair<std::string, std::string>> ops_;  // (room key, nick key)
  std::map<std::pair<std::string, std::string>, Clock::time_point> mutes_;  // (room, nick) -> until
  std::unordered_map<std::string, std::string> topics_;
  std::unordered_map<std::string, Limits> limits_;
  LoginThrottle throttle_;
  Worker worker_;  // last: stopped (its jobs done) before the rest goes
};

}  // namespace enchufe::services::chat::moderation
