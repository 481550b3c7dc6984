#include "services/chat/cluster/moderation_feed.hpp"

#include "services/chat/history_rows.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace enchufe::services::chat::cluster {

namespace {

namespace json = boost::json;
using moderation::Change;
using moderation::Clock;

constexpr std::array<std::pair<Change::Kind, std::string_view>, 6> kKinds{{
    {Change::Kind::account, "account"},
    {Change::Kind::ban, "ban"},
    {Change::Kind::unban, "unban"},
    {Change::Kind::op, "op"},
    {Change::Kind::deop, "deop"},
    {Change::Kind::topic, "topic"},
}};

// The widest time a time_point holds in milliseconds: a number past it
// would overflow on the way in, so it is malformed.
constexpr std::int64_t kMaxMs = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::duration::max()).count();

std::optional<std::string> text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<Clock::time_point> time_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64() || v->get_int64() > kMaxMs || v->get_int64() < -kMaxMs) return std::nullopt;
  return Clock::time_point(std::chrono::milliseconds(v->get_int64()));
}

std::optional<json::object> object_of(std::string_view payload) {
  boost::system::error_code ec;
  json::value parsed = json::parse(payload, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  return std::move(parsed.get_object());
}

void put(json::object& o, const moderation::Account& account) {
  o["nick"] = account.nick;
  o["hash"] = account.hash;
}

std::optional<moderation::Account> account_of(const json::object& o) {
  auto nick = text(o, "nick"), hash = text(o, "hash");
  if (!nick || !hash) return std::nullopt;
  return moderation::Account{std::move(*nick), std::move(*hash)};
}

void put(json::object& o, const moderation::Ban& ban) {
  o["room"] = ban.room_key;
  o["target"] = ban.target;
  if (ban.address) o["address"] = ban.address->to_string();
  if (ban.until != moderation::kForever) o["until"] = to_ms(ban.until);
  o["by"] = ban.by;
  o["reason"] = ban.reason;
  o["at"] = to_ms(ban.at);
}

std::optional<moderation::Ban> ban_of(const json::object& o) {
  auto room = text(o, "room"), target = text(o, "target"), by = text(o, "by"), reason = text(o, "reason");
  const auto at = time_of(o, "at");
  if (!room || !target || !by || !reason || !at) return std::nullopt;
  moderation::Ban ban{.room_key = std::move(*room),
                      .target = std::move(*target),
                      .by = std::move(*by),
                      .reason = std::move(*reason),
                      .at = *at};
  if (const auto* address = o.if_contains("address"); address != nullptr && !address->is_null()) {
    if (!address->is_string()) return std::nullopt;
    ban.address = net::AddressPrefix::parse(address->get_string());
    if (!ban.address) return std::nullopt;
  }
  if (const auto* until = o.if_contains("until"); until != nullptr && !until->is_null()) {
    const auto t = time_of(o, "until");
    if (!t) return std::nullopt;
    ban.until = *t;
  }
  return ban;
}

}  // namespace

std::string encode(const Change& change) {
  json::object o;
  for (const auto& [kind, name] : kKinds) {
    if (kind == change.kind) o["kind"] = name;
  }
  o["node"] = change.node;
  switch (change.kind) {
    case Change::Kind::account:
      put(o, change.account);
      break;
    case Change::Kind::ban:
      put(o, change.ban);
      break;
    case Change::Kind::unban:
      o["room"] = change.ban.room_key;
      o["target"] = change.ban.target;
      break;
    case Change::Kind::op:
    case Change::Kind::deop:
      o["room"] = change.op.room_key;
      o["nick"] = change.op.nick_key;
      break;
    case Change::Kind::topic:
      o["room"] = change.topic.room_key;
      o["text"] = change.topic.text;
      break;
  }
  return json::serialize(o);
}

std::optional<Change> decode_change(std::string_view payload) {
  const auto o = object_of(payload);
  if (!o) return std::nullopt;
  const auto kind_name = text(*o, "kind");
  auto node = text(*o, "node");
  if (!kind_name || !node) return std::nullopt;
  Change change;
  const auto* known = std::find_if(kKinds.begin(), kKinds.end(), [&](const auto& k) { return k.second == *kind_name; });
  if (known == kKinds.end()) return std::nullopt;
  change.kind = known->first;
  change.node = std::move(*node);
  auto room = text(*o, "room");
  switch (change.kind) {
    case Change::Kind::account: {
      auto account = account_of(*o);
      if (!account) return std::nullopt;
      change.account = std::move(*account);
      return change;
    }
    case Change::Kind::ban: {
      auto ban = ban_of(*o);
      if (!ban) return std::nullopt;
      change.ban = std::move(*ban);
      return change;
    }
    case Change::Kind::unban: {
      auto target = text(*o, "target");
      if (!room || !target) return std::nullopt;
      change.ban.room_key = std::move(*room);
      change.ban.target = std::move(*target);
      return change;
    }
    case Change::Kind::op:
    case Change::Kind::deop: {
      auto nick = text(*o, "nick");
      if (!room || !nick) return std::nullopt;
      change.op = {std::move(*room), std::move(*nick)};
      return change;
    }
    case Change::Kind::topic: {
      auto words = text(*o, "text");
      if (!room || !words) return std::nullopt;
      change.topic = {std::move(*room), std::move(*words)};
      return change;
    }
  }
  return std::nullopt;
}

namespace {

// An account's or a ban's object alone, as the hashes keep it.
template <typename T>
std::string encoded(const T& value) {
  json::object o;
  put(o, value);
  return json::serialize(o);
}

}  // namespace

std::string encode(const moderation::Account& account) { return encoded(account); }

std::optional<moderation::Account> decode_account(std::string_view payload) {
  const auto o = object_of(payload);
  return o ? account_of(*o) : std::nullopt;
}

std::string encode(const moderation::Ban& ban) { return encoded(ban); }

std::optional<moderation::Ban> decode_ban(std::string_view payload) {
  const auto o = object_of(payload);
  return o ? ban_of(*o) : std::nullopt;
}

std::string encode(const moderation::AuditEntry& entry) {
  json::object o;
  o["at"] = to_ms(entry.at);
  o["actor"] = entry.actor;
  o["action"] = entry.action;
  o["target"] = entry.target;
  o["room"] = entry.room;
  o["detail"] = entry.detail;
  return json::serialize(o);
}

std::optional<moderation::AuditEntry> decode_audit(std::string_view payload) {
  const auto o = object_of(payload);
  if (!o) return std::nullopt;
  const auto at = time_of(*o, "at");
  auto actor = text(*o, "actor"), action = text(*o, "action"), target = text(*o, "target"), room = text(*o, "room"),
       detail = text(*o, "detail");
  if (!at || !actor || !action || !target || !room || !detail) return std::nullopt;
  return moderation::AuditEntry{
      *at, std::move(*actor), std::move(*action), std::move(*target), std::move(*room), std::move(*detail)};
}

}  // namespace enchufe::services::chat::cluster
