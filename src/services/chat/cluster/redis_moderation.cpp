#include "services/chat/cluster/redis_moderation.hpp"

#include "net/errors.hpp"
#include "net/log.hpp"
#include "services/chat/cluster/moderation_feed.hpp"
#include "services/chat/names.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <tuple>

namespace enchufe::services::chat::cluster {

namespace {

using namespace std::chrono_literals;
using moderation::Change;

constexpr std::string_view kAccounts = "enchufe:accounts";
constexpr std::string_view kBans = "enchufe:bans";
constexpr std::string_view kOps = "enchufe:ops";
constexpr std::string_view kTopics = "enchufe:topics";
constexpr std::string_view kAudit = "enchufe:audit";

// The worker waits at most this long for a Redis that does not answer, and
// the logins queued behind it wait too: long enough for a busy Redis, short
// enough that a dead one is given up on quickly (and retried next call).
constexpr auto kConnectTimeout = 2s;
constexpr auto kCommandTimeout = 2s;

// HSETNX, and the change published only if it set the field: a node that
// lost the race must not tell the others of an account Redis does not hold.
// A script, as MULTI cannot make the PUBLISH depend on the HSETNX.
constexpr std::string_view kPutAccountOnce =
    "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then "
    "redis.call('PUBLISH', ARGV[3], ARGV[4]) return 1 end return 0";
// An expired ban removed only if it is still the one read: another node may
// have banned the same target again since.
constexpr std::string_view kRemoveIfSame =
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
    "return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

// What went wrong, and the message chat-admin shows for it (naming the URL,
// never the password).
struct Failure : RuntimeError {
  Failure(const net::redis::Address& address, std::string why_)
      : RuntimeError(fmt::format("--cluster {}: {}", net::redis::to_string(address), why_)), why(std::move(why_)) {}
  std::string why;
};

timeval to_timeval(std::chrono::milliseconds d) {
  return {static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>(d.count() % 1000 * 1000)};
}

std::string_view text_of(const redisReply* r) {
  return r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len) : std::string_view();
}

// A reply that is, or holds (EXEC's), an error: its text.
std::optional<std::string> error_in(const redisReply* r) {
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  if (r->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < r->elements; ++i) {
      if (r->element[i]->type == REDIS_REPLY_ERROR) return std::string(r->element[i]->str, r->element[i]->len);
    }
  }
  return std::nullopt;
}

// Walks HGETALL's reply: field, value, field, value...
template <typename F>
void each_pair(const redisReply* r, F&& f) {
  for (std::size_t i = 0; i + 1 < r->elements; i += 2) f(text_of(r->element[i]), text_of(r->element[i + 1]));
}

std::string field_of(std::string_view room_key, std::string_view second) {
  return fmt::format("{}\n{}", room_key, second);
}

}  // namespace

void RedisModeration::ContextFree::operator()(redisContext* c) const { redisFree(c); }
void RedisModeration::ReplyFree::operator()(redisReply* r) const { freeReplyObject(r); }

RedisModeration::RedisModeration(net::redis::Address address, std::string node)
    : address_(std::move(address)), node_(std::move(node)) {}

RedisModeration::~RedisModeration() = default;

void RedisModeration::connect() {
  if (context_ && context_->err == 0) return;
  context_.reset();
  std::unique_ptr<redisContext, ContextFree> made(
      redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(kConnectTimeout)));
  if (!made) throw Failure(address_, "cannot connect: out of memory");
  if (made->err != 0) throw Failure(address_, fmt::format("cannot connect: {}", made->errstr));
  if (redisSetTimeout(made.get(), to_timeval(kCommandTimeout)) != REDIS_OK) {
    throw Failure(address_, fmt::format("cannot set a timeout: {}", made->errstr));
  }
  context_ = std::move(made);
  std::vector<Command> hello;
  if (!address_.password.empty()) hello.push_back({"AUTH", address_.password});
  if (address_.db != 0) hello.push_back({"SELECT", std::to_string(address_.db)});
  if (!hello.empty()) run(hello);
}

std::vector<RedisModeration::Reply> RedisModeration::run(const std::vector<Command>& commands) {
  connect();
  const auto fail = [this](std::string why) {  // a copy: it may be the context's own errstr
    context_.reset();                          // the next call connects again
    return Failure(address_, std::move(why));
  };
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& command : commands) {
    argv.clear();
    lengths.clear();
    for (const auto& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      throw fail(context_->errstr);
    }
  }
  std::vector<Reply> replies;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* got = nullptr;
    if (redisGetReply(context_.get(), &got) != REDIS_OK) throw fail(context_->errstr);
    replies.emplace_back(static_cast<redisReply*>(got));
  }
  for (const auto& reply : replies) {
    if (const auto error = error_in(reply.get())) throw fail(fmt::format("Redis refused: {}", *error));
  }
  return replies;
}

template <typename F>
void RedisModeration::write(std::string_view what, F&& f) {
  try {
    f();
  } catch (const Failure& e) {
    log::at(log::Level::error, {.service = "chat", .event = "moderation_store_failed"},
            "--cluster {}: could not keep {} ({}); it holds on this node until it restarts",
            net::redis::to_string(address_), what, e.why);
  }
}

void RedisModeration::write_and_publish(std::vector<Command> commands, const Change& change) {
  commands.insert(commands.begin(), Command{"MULTI"});
  commands.push_back({"PUBLISH", std::string(kModerationChannel), encode(change)});
  commands.push_back({"EXEC"});
  run(commands);
}

bool RedisModeration::put_account_once(const moderation::Account& account) {
  const Change change{.kind = Change::Kind::account, .node = node_, .account = account};
  const auto replies = run({{"EVAL", std::string(kPutAccountOnce), "1", std::string(kAccounts), fold(account.nick),
                             encode(account), std::string(kModerationChannel), encode(change)}});
  return replies[0]->type == REDIS_REPLY_INTEGER && replies[0]->integer == 1;
}

moderation::Snapshot RedisModeration::load() {
  try {
    return load_or_throw();
  } catch (const Failure& e) {
    log::at(log::Level::warn, {.service = "chat", .event = "moderation_load_failed"},
            "--cluster {}: could not read the accounts, bans, operators and topics ({}); none until they are read "
            "again, once it answers",
            net::redis::to_string(address_), e.why);
    return {};
  }
}

moderation::Snapshot RedisModeration::load_or_throw() {
  const auto replies = run({{"HGETALL", std::string(kAccounts)},
                            {"HGETALL", std::string(kBans)},
                            {"SMEMBERS", std::string(kOps)},
                            {"HGETALL", std::string(kTopics)}});
  const auto skip = [this](std::string_view key, std::string_view entry) {
    log::at(log::Level::warn, {.service = "chat", .event = "moderation_entry_skipped"},
            "--cluster {}: {} holds an entry this build does not read, skipped: {:?}", net::redis::to_string(address_),
            key, entry);
  };
  moderation::Snapshot kept;
  each_pair(replies[0].get(), [&](std::string_view key, std::string_view value) {
    auto account = decode_account(value);
    if (account && fold(account->nick) == key) {
      kept.accounts.push_back(std::move(*account));
    } else {
      skip(kAccounts, key);
    }
  });
  std::vector<Command> expired;
  const auto now = moderation::Clock::now();
  each_pair(replies[1].get(), [&](std::string_view field, std::string_view value) {
    auto ban = decode_ban(value);
    if (!ban) {
      skip(kBans, field);
    } else if (ban->until <= now) {
      expired.push_back(
          {"EVAL", std::string(kRemoveIfSame), "1", std::string(kBans), std::string(field), std::string(value)});
    } else {
      kept.bans.push_back(std::move(*ban));
    }
  });
  const auto* ops = replies[2].get();
  for (std::size_t i = 0; i < ops->elements; ++i) {
    const auto member = text_of(ops->element[i]);
    const auto cut = member.find('\n');
    if (cut == std::string_view::npos) {
      skip(kOps, member);
      continue;
    }
    kept.ops.push_back({std::string(member.substr(0, cut)), std::string(member.substr(cut + 1))});
  }
  each_pair(replies[3].get(), [&](std::string_view room, std::string_view text) {
    kept.topics.push_back({std::string(room), std::string(text)});
  });
  if (!expired.empty()) {
    try {
      run(expired);
    } catch (const Failure&) {
      // Tidying only: they are left out all the same, and the next load tries again.
    }
  }
  // In the order the SQLite store gives them: /bans shows the oldest first.
  std::sort(kept.accounts.begin(), kept.accounts.end(),
            [](const auto& a, const auto& b) { return fold(a.nick) < fold(b.nick); });
  std::sort(kept.bans.begin(), kept.bans.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  std::sort(kept.ops.begin(), kept.ops.end(), [](const auto& a, const auto& b) {
    return std::tie(a.room_key, a.nick_key) < std::tie(b.room_key, b.nick_key);
  });
  return kept;
}

void RedisModeration::put_account(const moderation::Account& account) {
  write("an account", [&] {
    if (!put_account_once(account)) {
      log::at(log::Level::warn, {.service = "chat", .event = "account_taken"},
              "--cluster {}: {} was registered on another node first: that account is kept, this node's holds "
              "here until it restarts",
              net::redis::to_string(address_), account.nick);
    }
  });
}

void RedisModeration::put_ban(const moderation::Ban& ban) {
  write("a ban", [&] {
    write_and_publish({{"HSET", std::string(kBans), field_of(ban.room_key, ban.target), encode(ban)}},
                      {.kind = Change::Kind::ban, .node = node_, .ban = ban});
  });
}

void RedisModeration::remove_ban(const std::string& room_key, const std::string& target) {
  write("an unban", [&] {
    Change change{.kind = Change::Kind::unban, .node = node_};
    change.ban.room_key = room_key;
    change.ban.target = target;
    write_and_publish({{"HDEL", std::string(kBans), field_of(room_key, target)}}, change);
  });
}

void RedisModeration::put_op(const moderation::Op& op) {
  write("an operator", [&] {
    write_and_publish({{"SADD", std::string(kOps), field_of(op.room_key, op.nick_key)}},
                      {.kind = Change::Kind::op, .node = node_, .op = op});
  });
}

void RedisModeration::remove_op(const moderation::Op& op) {
  write("a deop", [&] {
    write_and_publish({{"SREM", std::string(kOps), field_of(op.room_key, op.nick_key)}},
                      {.kind = Change::Kind::deop, .node = node_, .op = op});
  });
}

void RedisModeration::put_topic(const moderation::Topic& topic) {
  write("a topic", [&] {
    write_and_publish({{"HSET", std::string(kTopics), topic.room_key, topic.text}},
                      {.kind = Change::Kind::topic, .node = node_, .topic = topic});
  });
}

void RedisModeration::audit(const moderation::AuditEntry& entry) {
  write("an audit line", [&] {
    run({{"MULTI"},
         {"LPUSH", std::string(kAudit), encode(entry)},
         {"LTRIM", std::string(kAudit), "0", std::to_string(kAuditKept - 1)},
         {"EXEC"}});
  });
}

std::vector<moderation::AuditEntry> RedisModeration::recent_audit(std::size_t limit) {
  if (limit == 0) return {};  // LRANGE 0 -1 would be the whole list
  const auto replies = run({{"LRANGE", std::string(kAudit), "0", std::to_string(limit - 1)}});
  const auto* list = replies[0].get();
  std::vector<moderation::AuditEntry> out;
  for (std::size_t i = list->elements; i-- > 0;) {  // the list is newest first
    auto entry = decode_audit(text_of(list->element[i]));
    if (!entry) {
      log::at(log::Level::warn, {.service = "chat", .event = "moderation_entry_skipped"},
              "--cluster {}: {} holds an entry this build does not read, skipped", net::redis::to_string(address_),
              kAudit);
      continue;
    }
    out.push_back(std::move(*entry));
  }
  return out;
}

bool RedisModeration::add_account_if_new(const moderation::Account& account) { return put_account_once(account); }

}  // namespace enchufe::services::chat::cluster
