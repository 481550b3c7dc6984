#pragma once
// Accounts, bans, operators, topics and the audit in the chat's SQLite
// file, beside its history (the tables of schema 3, sqlite_history.cpp).
// Opened once the history store has opened, locked and brought the file
// up to date; a connection of its own, used by the moderation worker only
// (and by load() before it starts).

#include "services/chat/moderation/store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace enchufe::services::chat::moderation {

class SqliteModeration final : public Store {
 public:
  // Throws RuntimeError naming the file if it cannot be opened.
  explicit SqliteModeration(const std::string& path);
  ~SqliteModeration() override;

  Snapshot load() override;
  void put_account(const Account& account) override;
  void put_ban(const Ban& ban) override;
  void remove_ban(const std::string& room_key, const std::string& target) override;
  void put_op(const Op& op) override;
  void remove_op(const Op& op) override;
  void put_topic(const Topic& topic) override;
  void audit(const AuditEntry& entry) override;

  // `enchufe chat-admin audit`: the newest `limit` entries, oldest first.
  std::vector<AuditEntry> recent_audit(std::size_t limit);

 private:
  // Runs a write; a failure is logged (the change holds in memory until
  // the restart), never thrown at the worker.
  template <typename F>
  void write(std::string_view what, F&& f);

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace enchufe::services::chat::moderation
