#include "services/chat/moderation/sqlite_moderation.hpp"

#include "net/errors.hpp"
#include "net/log.hpp"
#include "services/chat/history_rows.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

namespace enchufe::services::chat::moderation {

namespace {

// The history's writer commits on the same file: wait for it, do not fail.
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

SqliteModeration::SqliteModeration(const std::string& path) : path_(path) {
  try {
    db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE);
    db_->setBusyTimeout(kBusyTimeoutMs);
  } catch (const SQLite::Exception& e) {
    throw RuntimeError(fmt::format("--history-db {}: cannot open it for accounts and bans: {}", path, e.what()));
  }
}

SqliteModeration::~SqliteModeration() = default;

Snapshot SqliteModeration::load() {
  Snapshot kept;
  try {
    SQLite::Statement accounts(*db_, "SELECT nick, hash FROM accounts ORDER BY key");
    while (accounts.executeStep()) kept.accounts.push_back({accounts.getColumn(0), accounts.getColumn(1)});
    SQLite::Statement bans(*db_,
                           "SELECT room, target, address, until_ms, by, reason, at_ms FROM bans "
                           "WHERE until_ms IS NULL OR until_ms > ? ORDER BY at_ms");
    bans.bind(1, to_ms(Clock::now()));
    while (bans.executeStep()) {
      Ban ban;
      ban.room_key = bans.getColumn(0).getString();
      ban.target = bans.getColumn(1).getString();
      if (bans.getColumn(2).getInt() != 0) {
        ban.address = net::AddressPrefix::parse(ban.target);
        if (!ban.address) continue;  // not one this build reads: skipped, not guessed at
      }
      if (!bans.getColumn(3).isNull()) ban.until = from_ms(bans.getColumn(3).getInt64());
      ban.by = bans.getColumn(4).getString();
      ban.reason = bans.getColumn(5).getString();
      ban.at = from_ms(bans.getColumn(6).getInt64());
      kept.bans.push_back(std::move(ban));
    }
    SQLite::Statement ops(*db_, "SELECT room, nick FROM ops ORDER BY room, nick");
    while (ops.executeStep()) kept.ops.push_back({ops.getColumn(0), ops.getColumn(1)});
    SQLite::Statement topics(*db_, "SELECT room, text FROM topics");
    while (topics.executeStep()) kept.topics.push_back({topics.getColumn(0), topics.getColumn(1)});
  } catch (const SQLite::Exception& e) {
    throw RuntimeError(fmt::format("--history-db {}: cannot read its accounts and bans: {}", path_, e.what()));
  }
  return kept;
}

std::vector<AuditEntry> SqliteModeration::recent_audit(std::size_t limit) {
  std::vector<AuditEntry> out;
  try {
    SQLite::Statement rows(*db_,
                           "SELECT at_ms, actor, action, target, room, detail FROM "
                           "(SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id");
    rows.bind(1, static_cast<std::int64_t>(limit));
    while (rows.executeStep()) {
      out.push_back({from_ms(rows.getColumn(0).getInt64()), rows.getColumn(1), rows.getColumn(2), rows.getColumn(3),
                     rows.getColumn(4), rows.getColumn(5)});
    }
  } catch (const SQLite::Exception& e) {
    throw RuntimeError(fmt::format("--history-db {}: cannot read its audit: {}", path_, e.what()));
  }
  return out;
}

template <typename F>
void SqliteModeration::write(std::string_view what, F&& f) {
  try {
    f();
  } catch (const SQLite::Exception& e) {
    log::at(log::Level::error, {.service = "chat", .event = "moderation_store_failed"},
            "--history-db {}: could not keep {} ({}); it holds until the server restarts", path_, what, e.what());
  }
}

void SqliteModeration::put_account(const Account& account) {
  write("an account", [&] {
    SQLite::Statement put(*db_, "INSERT OR REPLACE INTO accounts (key, nick, hash, created_ms) VALUES (lower(?), ?, ?, ?)");
    put.bind(1, account.nick);
    put.bind(2, account.nick);
    put.bind(3, account.hash);
    put.bind(4, to_ms(Clock::now()));
    put.exec();
  });
}

void SqliteModeration::put_ban(const Ban& ban) {
  write("a ban", [&] {
    SQLite::Statement put(*db_,
                          "INSERT OR REPLACE INTO bans (room, target, address, until_ms, by, reason, at_ms) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)");
    put.bind(1, ban.room_key);
    put.bind(2, ban.target);
    put.bind(3, ban.address ? 1 : 0);
    if (ban.until == kForever) {
      put.bind(4);
    } else {
      put.bind(4, to_ms(ban.until));
    }
    put.bind(5, ban.by);
    put.bind(6, ban.reason);
    put.bind(7, to_ms(ban.at));
    put.exec();
  });
}

void SqliteModeration::remove_ban(const std::string& room_key, const std::string& target) {
  write("an unban", [&] {
    SQLite::Statement remove(*db_, "DELETE FROM bans WHERE room = ? AND target = ?");
    remove.bind(1, room_key);
    remove.bind(2, target);
    remove.exec();
  });
}

void SqliteModeration::put_op(const Op& op) {
  write("an operator", [&] {
    SQLite::Statement put(*db_, "INSERT OR IGNORE INTO ops (room, nick) VALUES (?, ?)");
    put.bind(1, op.room_key);
    put.bind(2, op.nick_key);
    put.exec();
  });
}

void SqliteModeration::remove_op(const Op& op) {
  write("a deop", [&] {
    SQLite::Statement remove(*db_, "DELETE FROM ops WHERE room = ? AND nick = ?");
    remove.bind(1, op.room_key);
    remove.bind(2, op.nick_key);
    remove.exec();
  });
}

void SqliteModeration::put_topic(const Topic& topic) {
  write("a topic", [&] {
    SQLite::Statement put(*db_, "INSERT OR REPLACE INTO topics (room, text) VALUES (?, ?)");
    put.bind(1, topic.room_key);
    put.bind(2, topic.text);
    put.exec();
  });
}

void SqliteModeration::audit(const AuditEntry& entry) {
  write("an audit line", [&] {
    SQLite::Statement put(*db_,
                          "INSERT INTO audit (at_ms, actor, action, target, room, detail) VALUES (?, ?, ?, ?, ?, ?)");
    put.bind(1, to_ms(entry.at));
    put.bind(2, entry.actor);
    put.bind(3, entry.action);
    put.bind(4, entry.target);
    put.bind(5, entry.room);
    put.bind(6, entry.detail);
    put.exec();
  });
}

}  // namespace enchufe::services::chat::moderation
