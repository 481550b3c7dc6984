#pragma once
// Where accounts, bans, operators, topics and the audit are kept across
// restarts: the chat's SQLite file (sqlite_moderation.hpp). The moderation
// state (moderation.hpp) loads it all at start, keeps it in memory, and
// writes each change through on the moderation worker: these calls are
// made on that thread only, and may block on the disk.

#include "net/address_prefix.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace enchufe::services::chat::moderation {

using Clock = std::chrono::system_clock;
// An untimed ban or mute.
inline constexpr Clock::time_point kForever = Clock::time_point::max();

struct Account {
  std::string nick;  // as registered
  std::string hash;  // crypto_pwhash_str's string (passwords.hpp)
};

struct Ban {
  std::string room_key;  // the room (folded); empty: the whole server
  // What is banned, as shown and stored: a registered nickname (folded), or
  // an address prefix (AddressPrefix::to_string).
  std::string target;
  std::optional<net::AddressPrefix> address;  // set for an address ban
  Clock::time_point until = kForever;
  std::string by;
  std::string reason;
  Clock::time_point at;
};

struct Op {
  std::string room_key;
  std::string nick_key;
};

struct Topic {
  std::string room_key;
  std::string text;
};

// One moderation action, for the audit log and its table.
struct AuditEntry {
  Clock::time_point at;
  std::string actor;   // the nickname that acted
  std::string action;  // "kick", "ban", "register"...
  std::string target;  // the nickname or address acted on
  std::string room;    // empty: server-wide
  std::string detail;  // the reason, duration or text
};

struct Snapshot {
  std::vector<Account> accounts;
  std::vector<Ban> bans;
  std::vector<Op> ops;
  std::vector<Topic> topics;
};

class Store {
 public:
  virtual ~Store() = default;
  // Everything kept (bans already expired left out), at start.
  virtual Snapshot load() = 0;
  virtual void put_account(const Account& account) = 0;
  virtual void put_ban(const Ban& ban) = 0;
  virtual void remove_ban(const std::string& room_key, const std::string& target) = 0;
  virtual void put_op(const Op& op) = 0;
  virtual void remove_op(const Op& op) = 0;
  virtual void put_topic(const Topic& topic) = 0;
  virtual void audit(const AuditEntry& entry) = 0;
};

}  // namespace enchufe::services::chat::moderation
