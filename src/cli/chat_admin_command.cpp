// `enchufe chat-admin`: the chat's accounts, bans and audit, offline, from
// its file (serve chat --history-db). Listing is safe while the server
// runs; making an account is not (the server reads accounts at start, and
// would not know it), so it takes the file's lock like a server does.
// With --cluster, from the Redis of a cluster's nodes instead: there an
// account may be made while they run, as it is published to them at once.

#include "cli/commands.hpp"
#include "cli/state_paths.hpp"
#include "net/errors.hpp"
#include "net/redis/url.hpp"
#include "services/chat/cluster/redis_moderation.hpp"
#include "services/chat/commands.hpp"
#include "services/chat/moderation/passwords.hpp"
#include "services/chat/moderation/sqlite_moderation.hpp"
#include "services/chat/names.hpp"
#include "services/chat/sqlite_history.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>

namespace enchufe::cli {

namespace {

namespace chat = services::chat;
namespace moderation = services::chat::moderation;

struct AdminArgs {
  std::string db = default_history_db();
  std::string cluster;      // --cluster: its Redis, not the file
  std::string nick;         // add-account
  std::size_t limit = 100;  // audit
};

// The node named in the changes chat-admin publishes to a cluster's nodes:
// none of them, so every one applies them.
constexpr std::string_view kAdminNode = "chat-admin";

std::string when(moderation::Clock::time_point t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", std::chrono::floor<std::chrono::seconds>(t));
}

// What the listings read, from the file or from the cluster's Redis.
struct Kept {
  std::function<moderation::Snapshot()> load;
  std::function<std::vector<moderation::AuditEntry>(std::size_t limit)> recent_audit;
};

// The file as it is: never created here, only read. Redis must answer:
// nothing listed because it is down would read as nothing there.
Kept open_kept(const AdminArgs& a) {
  if (!a.cluster.empty()) {
    auto store =
        std::make_shared<chat::cluster::RedisModeration>(net::redis::parse_url(a.cluster), std::string(kAdminNode));
    return {[store] { return store->load_or_throw(); }, [store](std::size_t n) { return store->recent_audit(n); }};
  }
  if (!std::filesystem::exists(a.db)) throw RuntimeError(fmt::format("{}: no such file", a.db));
  auto store = std::make_shared<moderation::SqliteModeration>(a.db);
  return {[store] { return store->load(); }, [store](std::size_t n) { return store->recent_audit(n); }};
}

int list_accounts(const AdminArgs& a) {
  auto kept = open_kept(a).load();
  for (const auto& account : kept.accounts) fmt::print("{}\n", account.nick);
  for (const auto& op : kept.ops) fmt::print("{} is an operator of {}\n", op.nick_key, op.room_key);
  return 0;
}

int list_bans(const AdminArgs& a) {
  auto kept = open_kept(a).load();
  for (const auto& ban : kept.bans) {
    fmt::print("{}\t{}\t{}\t{}\t{}\n", ban.room_key.empty() ? "*" : ban.room_key, ban.target,
               ban.until == moderation::kForever ? "forever" : "until " + when(ban.until) + " UTC", ban.by, ban.reason);
  }
  return 0;
}

int list_audit(const AdminArgs& a) {
  for (const auto& e : open_kept(a).recent_audit(a.limit)) {
    fmt::print("{} UTC\t{}\t{}\t{}\t{}\t{}\n", when(e.at), e.actor, e.action, e.target,
               e.room.empty() ? "*" : e.room, e.detail);
  }
  return 0;
}

// A new account's password, read from stdin: so that it is in neither the
// process list nor the shell's history.
std::string new_password(const AdminArgs& a) {
  if (!chat::valid_nickname(a.nick)) {
    throw UsageError(fmt::format("chat-admin add-account {}: not a nickname (1-{} letters, digits, '_', '-' or '.')",
                                 a.nick, chat::kMaxNicknameLength));
  }
  std::string password;
  std::getline(std::cin, password);
  if (password.size() < chat::kMinPassword || password.size() > chat::kMaxPassword) {
    throw UsageError("chat-admin add-account: give the password on stdin, 8 to 128 characters");
  }
  return password;
}

std::string hash_of(const std::string& password) {
  const auto hash = moderation::hash_password(password);
  if (!hash) throw RuntimeError("could not hash the password (out of memory)");
  return *hash;
}

moderation::AuditEntry registered(const AdminArgs& a) {
  return {moderation::Clock::now(), "chat-admin", "register", a.nick, {}, {}};
}

// In the cluster's Redis, while its nodes run: they hear of it at once.
int add_cluster_account(const AdminArgs& a) {
  const auto address = net::redis::parse_url(a.cluster);
  chat::cluster::RedisModeration store(address, std::string(kAdminNode));
  if (!store.add_account_if_new({a.nick, hash_of(new_password(a))})) {
    throw RuntimeError(fmt::format("{} has an account already", a.nick));
  }
  store.audit(registered(a));
  fmt::print("{}: account {} made\n", net::redis::to_string(address), a.nick);
  return 0;
}

int add_account(const AdminArgs& a) {
  if (!a.cluster.empty()) return add_cluster_account(a);
  const auto password = new_password(a);
  // Opens (creating it if new), migrates and locks the file as a server
  // would: refused while one runs on it.
  chat::SqliteHistory history({.path = a.db});
  moderation::SqliteModeration store(a.db);
  for (const auto& account : store.load().accounts) {
    if (chat::fold(account.nick) == chat::fold(a.nick)) {
      throw RuntimeError(fmt::format("{} has an account already", account.nick));
    }
  }
  store.put_account({a.nick, hash_of(password)});
  store.audit(registered(a));
  fmt::print("{}: account {} made\n", a.db, a.nick);
  return 0;
}

}  // namespace

void add_chat_admin_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<AdminArgs>();
  auto* cmd = app.add_subcommand(
      "chat-admin", "The chat's accounts, bans and moderation audit, from its file or its cluster's Redis");
  auto* db = cmd->add_option("--db", args->db, "The chat's file (serve chat --history-db)")->capture_default_str();
  cmd->add_option("--cluster", args->cluster,
                  "Instead of the file, the Redis of a cluster of nodes: the first of their --cluster servers, "
                  "redis://[:PASSWORD@]HOST[:PORT][/DB]")
      ->excludes(db);
  cmd->require_subcommand(1);
  const auto run = [&action, args](int (*what)(const AdminArgs&)) {
    return [&action, args, what] {
      action = [args, what] {
        if (args->cluster.empty() && args->db.empty()) {
          throw UsageError("chat-admin: --db: no default (neither XDG_STATE_HOME nor HOME is set)");
        }
        try {
          return what(*args);
        } catch (const RuntimeError& e) {
          fmt::print(stderr, "enchufe chat-admin: {}\n", e.what());
          return 1;
        }
      };
    };
  };
  cmd->add_subcommand("accounts", "The registered nicknames, and the rooms' operators")->callback(run(list_accounts));
  cmd->add_subcommand("bans", "The bans in force: room (* the whole server), target, until, by, reason")
      ->callback(run(list_bans));
  auto* audit = cmd->add_subcommand("audit", "The newest moderation actions, oldest first");
  audit->add_option("-n,--limit", args->limit, "How many")->capture_default_str();
  audit->callback(run(list_audit));
  auto* add = cmd->add_subcommand("add-account",
                                  "Make an account (an admin's, or any with --registration closed); the password is "
                                  "read from stdin. The server must be stopped: it reads accounts at start (with "
                                  "--cluster, nodes may run: they hear of it at once)");
  add->add_option("NICK", args->nick, "The nickname")->required();
  add->callback(run(add_account));
  cmd->footer(
      "Examples:\n"
      "  printf '%s\\n' \"$PASSWORD\" | enchufe chat-admin --db /var/lib/enchufe/chat.db add-account ana\n"
      "  enchufe chat-admin bans\n"
      "  enchufe chat-admin audit -n 20\n"
      "  printf '%s\\n' \"$PASSWORD\" | enchufe chat-admin --cluster redis://10.0.0.5:6379 add-account ana\n"
      "  enchufe chat-admin --cluster redis://10.0.0.5:6379 bans");
}

}  // namespace enchufe::cli
