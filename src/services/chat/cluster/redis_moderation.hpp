#pragma once
// Accounts, bans, operators, topics and the audit of a cluster of chat
// nodes (serve chat --cluster), in one Redis (the first --cluster server):
//   enchufe:accounts  hash  folded nick -> {nick, hash}
//   enchufe:bans      hash  "<room_key>\n<target>" -> the ban
//   enchufe:ops       set   "<room_key>\n<nick_key>"
//   enchufe:topics    hash  room_key -> text
//   enchufe:audit     list  newest first, the last kAuditKept
// (values in moderation_feed.hpp's JSON). Each write is published, in the
// same transaction, as a moderation::Change on kModerationChannel: every
// node hears of exactly what was written, and applies it.
//
// hiredis's blocking API, on the moderation worker's thread only (and by
// load() before it starts): a call may block up to the timeouts below. The
// connection is made at the first call, and again after any failure.

#include "net/redis/url.hpp"
#include "services/chat/moderation/change.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace enchufe::services::chat::cluster {

// Audit lines kept in Redis: the list is in memory there, so it must not
// grow without bound; `chat-admin audit` shows far fewer.
inline constexpr std::size_t kAuditKept = 10000;

class RedisModeration final : public moderation::Store {
 public:
  // `node` goes into every change published (Change::node).
  RedisModeration(net::redis::Address address, std::string node);
  ~RedisModeration() override;

  // If Redis cannot be reached: a warning, and an empty snapshot. The node
  // starts anyway, and loads again once its subscription to
  // kModerationChannel comes up. Malformed entries are skipped with a
  // warning; expired bans are left out (and removed).
  moderation::Snapshot load() override;
  // load(), but an unreachable Redis throws RuntimeError naming its URL
  // (chat-admin: an empty list would be a lie).
  moderation::Snapshot load_or_throw();

  // Written and published; a failure is logged (the change holds on this
  // node until it restarts), never thrown at the worker. An account is
  // never overwritten: if another node made it first, theirs stays.
  void put_account(const moderation::Account& account) override;
  void put_ban(const moderation::Ban& ban) override;
  void remove_ban(const std::string& room_key, const std::string& target) override;
  void put_op(const moderation::Op& op) override;
  void remove_op(const moderation::Op& op) override;
  void put_topic(const moderation::Topic& topic) override;
  // Written only (the nodes keep no audit in memory).
  void audit(const moderation::AuditEntry& entry) override;

  // `chat-admin --cluster`: the newest `limit` entries, oldest first.
  // Throws RuntimeError if Redis cannot be reached.
  std::vector<moderation::AuditEntry> recent_audit(std::size_t limit);
  // `chat-admin --cluster add-account`, while nodes run: made and
  // published, or false if the nickname has an account already. Throws
  // RuntimeError if Redis cannot be reached.
  bool add_account_if_new(const moderation::Account& account);

 private:
  struct ContextFree {
    void operator()(redisContext* c) const;
  };
  struct ReplyFree {
    void operator()(redisReply* r) const;
  };
  using Reply = std::unique_ptr<redisReply, ReplyFree>;
  using Command = std::vector<std::string>;

  // Sends all, then reads all replies (one round trip). Throws
  // RuntimeError, and drops the connection, on a failure or an error reply.
  std::vector<Reply> run(const std::vector<Command>& commands);
  // `commands` and the PUBLISH of `change` in one MULTI/EXEC.
  void write_and_publish(std::vector<Command> commands, const moderation::Change& change);
  // HSETNX and, only if it set the field, PUBLISH; atomically (a script).
  bool put_account_once(const moderation::Account& account);
  // Runs a write; a failure is logged, never thrown.
  template <typename F>
  void write(std::string_view what, F&& f);
  void connect();

  net::redis::Address address_;
  std::string node_;
  std::unique_ptr<redisContext, ContextFree> context_;
};

}  // namespace enchufe::services::chat::cluster
