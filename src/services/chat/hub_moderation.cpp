// The hub's side of accounts and moderation: who may run each command, and
// reaching the members it acts on, wherever their loops are. The rules'
// state is in moderation/moderation.hpp; the commands' shapes in
// moderation/parse.cpp.

#include "services/chat/hub.hpp"
#include "net/log.hpp"
#include "services/chat/cluster/moderation_feed.hpp"
#include "services/chat/moderation/passwords.hpp"
#include "services/chat/names.hpp"
#include "services/chat/sanitize.hpp"
#include "services/chat/session.hpp"

#include <boost/asio/post.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

namespace enchufe::services::chat {

namespace {

using moderation::Clock;

// "for 10 minutes" style: how long a timed ban or mute lasts.
std::string lasting(std::uint64_t seconds) {
  if (seconds == 0) return "for good";
  if (seconds % 86400 == 0) return fmt::format("for {}d", seconds / 86400);
  if (seconds % 3600 == 0) return fmt::format("for {}h", seconds / 3600);
  if (seconds % 60 == 0) return fmt::format("for {}m", seconds / 60);
  return fmt::format("for {}s", seconds);
}

Clock::time_point until(std::uint64_t seconds) {
  return seconds == 0 ? moderation::kForever : Clock::now() + std::chrono::seconds(seconds);
}

std::string ban_text(const moderation::Ban& ban) {
  std::string out = ban.target;
  out += ban.room_key.empty() ? " (whole server)" : "";
  if (ban.until == moderation::kForever) {
    out += ", for good";
  } else {
    out += fmt::format(", until {:%Y-%m-%d %H:%M:%S} UTC", std::chrono::floor<std::chrono::seconds>(ban.until));
  }
  out += fmt::format(", by {}", ban.by);
  if (!ban.reason.empty()) out += ": " + ban.reason;
  return out;
}

// A sentence for whoever a ban keeps out.
std::string banned_sentence(const moderation::Ban& ban, std::string_view room) {
  std::string out = ban.room_key.empty() ? std::string("you are banned from this server")
                                         : fmt::format("you are banned from {}", room);
  if (ban.until != moderation::kForever) {
    out += fmt::format(" until {:%Y-%m-%d %H:%M:%S} UTC", std::chrono::floor<std::chrono::seconds>(ban.until));
  }
  if (!ban.reason.empty()) out += fmt::format(" ({})", ban.reason);
  return out;
}

}  // namespace

std::optional<std::string> ChatHub::refusal_for(const asio::ip::address& address) const {
  const auto ban = moderation_->server_ban(address);
  if (!ban) return std::nullopt;
  return "error: " + banned_sentence(*ban, {});
}

bool ChatHub::operates(const ChatSession& session) const {
  if (moderation_->is_admin(session.account())) return true;
  if (!session.in_room()) return false;
  if (moderation_->is_op(fold(session.current_room()), session.account())) return true;
  std::lock_guard lock(directory_mutex_);
  auto key = room_keys_.find(session.room());
  return key != room_keys_.end() && rooms_.at(key->second).creator == session.id();
}

std::optional<ChatHub::Member> ChatHub::find_member(std::string_view nick) const {
  std::lock_guard lock(directory_mutex_);
  auto it = members_.find(fold(nick));
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

void ChatHub::on_member(const Member& member, std::function<void(ChatSession&)> f) {
  on_loop(home_of(member.room), [this, loop = member.loop, id = member.session_id, f = std::move(f)]() mutable {
    on_loop(loop, [this, id, f = std::move(f)] {
      if (ChatSession* s = session_here(id)) f(*s);
    });
  });
}

void ChatHub::announce(const ChatSession& session, std::string text) {
  broadcast(session.room(), notice_line(session.current_room(), NoticeWhat::none, {}, {}, std::move(text)), 0, false);
}

// ---- accounts ------------------------------------------------------------------------

namespace {

// Why a password may not be sent on this connection, if it may not.
std::optional<std::string> password_refused(const ChatSession& session, const moderation::Moderation& rules) {
  if (!rules.keeps_accounts()) {
    return std::string("this server keeps no accounts: it runs with --history-db none, and a nickname claimed "
                       "until the next restart would protect nobody");
  }
  if (rules.settings().require_tls_for_login && !session.encrypted()) {
    return std::string("this server takes passwords over TLS only (--require-tls-for-login): connect to its TLS "
                       "port or its https:// page; a password sent in clear can be read on the way");
  }
  return std::nullopt;
}

}  // namespace

void ChatHub::register_account(ChatSession& session, std::string_view password) {
  if (auto why = password_refused(session, *moderation_)) {
    session.error(*why);
    return;
  }
  if (moderation_->settings().registration == moderation::Registration::closed) {
    session.error("registration is closed here: an admin creates accounts (enchufe chat-admin add-account)");
    return;
  }
  const std::string nick = session.nick();
  if (nick.starts_with("guest-")) {
    session.error("choose your nickname first (/nick NAME), then /register PASSWORD");
    return;
  }
  if (moderation_->registered(fold(nick))) {
    session.error(fmt::format("{} is registered already; /login {} PASSWORD if it is yours", nick, nick));
    return;
  }
  // Else whoever connects first under an admin's name would be admin.
  if (moderation_->settings().admins.contains(fold(nick))) {
    session.error(fmt::format("{} is an admin's nickname: its account is made with enchufe chat-admin add-account",
                              nick));
    return;
  }
  const bool queued = moderation_->worker().post([weak = weak_from_this(), loop = net::Loop::current()->index(),
                                                  id = session.id(), nick, password = std::string(password)] {
    auto hash = moderation::hash_password(password);
    const auto hub = weak.lock();
    if (!hub) return;
    asio::post(hub->runtime_.loop(loop).context(), [hub, id, nick, hash = std::move(hash)] {
      ChatSession* s = hub->session_here(id);
      if (s == nullptr) return;
      if (!hash) {
        s->error("the server could not hash your password just now (out of memory); try again later");
        return;
      }
      if (fold(s->nick()) != fold(nick)) {
        s->error(fmt::format("not registered: you are not {} any more", nick));
        return;
      }
      if (!hub->moderation_->add_account({nick, *hash}, nick)) {
        s->error(fmt::format("{} was registered by someone else a moment ago", nick));
        return;
      }
      s->logged_in(fold(nick));
      s->info(fmt::format("{} is registered to you: nobody else can take it, and /login {} PASSWORD takes it back",
                          nick, nick));
    });
  });
  if (!queued) session.error("the server is busy with other logins; try again in a moment");
}

void ChatHub::login(ChatSession& session, std::string_view typed, std::string_view password) {
  if (auto why = password_refused(session, *moderation_)) {
    session.error(*why);
    return;
  }
  const std::string key = fold(typed);
  const std::string shown = quoted_nick(typed);
  const auto account = moderation_->account(key);
  if (!account) {
    session.error(fmt::format("{} is not registered (/register PASSWORD claims your current nickname)", shown));
    return;
  }
  if (const auto ban = moderation_->ban_for({}, session.address(), key)) {  // the server's bans only
    session.error(banned_sentence(*ban, {}));
    return;
  }
  const std::string address_key = net::AddressPrefix::of(session.address()).to_string();
  if (const auto wait = moderation_->take_login_try(address_key, key)) {
    session.error(fmt::format("too many failed logins; try again in {} seconds", wait->count()));
    return;
  }
  const bool queued = moderation_->worker().post([weak = weak_from_this(), loop = net::Loop::current()->index(),
                                                  id = session.id(), key, address_key, hash = account->hash,
                                                  password = std::string(password)] {
    const bool right = moderation::password_matches(hash, password);
    const auto hub = weak.lock();
    if (!hub) return;
    asio::post(hub->runtime_.loop(loop).context(), [hub, id, key, address_key, right] {
      ChatSession* s = hub->session_here(id);
      if (s == nullptr) return;
      if (!right) {
        s->error("wrong password");
        return;
      }
      hub->moderation_->login_worked(address_key, key);
      hub->logged_in(id, key);
    });
  });
  if (!queued) {
    session.error("the server is busy with other logins; try again in a moment");
    moderation_->login_worked(address_key, key);  // not tried: not counted
  }
}

void ChatHub::logged_in(std::uint64_t session_id, const std::string& key) {
  ChatSession* session = session_here(session_id);
  const auto account = moderation_->account(key);
  if (session == nullptr || !account) return;
  session->logged_in(key);
  if (fold(session->nick()) == key) {
    session->info(fmt::format("you are logged in as {}", session->nick()));
    return;
  }
  if (!directory_) {
    take_account_nick(*session, *account);
    return;
  }
  // Clustered: the name is taken from whichever node's session has it.
  // Unreachable, it is this node's to give meanwhile (as in rename()).
  auto wanted = directory_entry(*session);
  wanted.nick = account->nick;
  directory_->claim(
      wanted, session->nick(),
      [this, wanted, account = *account](cluster::Directory::Claim result, const std::string&) {
        if (ChatSession* s = session_here(wanted.session)) {
          take_account_nick(*s, account);
        } else if (result == cluster::Directory::Claim::done) {
          directory_->release(wanted);
        }
      },
      true);
}

void ChatHub::take_account_nick(ChatSession& session, const moderation::Account& account) {
  const std::string key = fold(account.nick);
  std::optional<Member> ghost;
  std::string guest;
  {
    std::lock_guard lock(directory_mutex_);
    // The owner's other connection (one that dropped and has not timed out
    // yet, most often) gives the name up.
    if (auto other = members_.find(key); other != members_.end() && other->second.session_id != session.id()) {
      ghost = other->second;
      guest = free_guest_name_locked();
      rename_locked(ghost->nick, guest);
    }
    rename_locked(session.nick(), account.nick);
  }
  session.info(fmt::format("you are logged in as {}", account.nick));
  if (ghost) {
    on_member(*ghost, [guest, nick = account.nick](ChatSession& s) {
      s.renamed_by_server(guest, fmt::format("{} logged in from another connection; you are {} here", nick, guest));
    });
  }
  session.nick_answered(account.nick, std::nullopt, false);
}

// ---- other nodes' changes (clustered) ------------------------------------------------

void ChatHub::moderation_heard(std::string_view payload) {
  const auto change = cluster::decode_change(payload);
  if (!change) {
    log::warn("cluster: a message on {} that is not a moderation change: {:.80}", cluster::kModerationChannel,
              payload);
    return;
  }
  if (change->node == options_.cluster.node_name) return;  // made here, applied here
  if (const auto ban = moderation_->apply(*change)) enforce(*ban);
}

void ChatHub::moderation_reload() {
  moderation_->reload([weak = weak_from_this()](std::vector<moderation::Ban> bans) {
    if (const auto hub = weak.lock()) {
      for (const auto& ban : bans) hub->enforce(ban);
    }
  });
}

// ---- moderators' commands ---------------------------------------------------------------

void ChatHub::moderate(ChatSession& session, const Command& command) {
  if (command.kind == CommandKind::topic && command.text.empty()) {
    const std::string topic = moderation_->topic(fold(session.current_room()));
    session.info(topic.empty() ? fmt::format("{} has no topic", session.current_room())
                               : fmt::format("topic: {}", topic));
    return;
  }
  if (command.kind == CommandKind::wall) {
    wall(session, command);
    return;
  }
  if (!operates(session)) {
    session.error(fmt::format("only operators of {} (and admins) can do that", session.current_room()));
    return;
  }
  switch (command.kind) {
    case CommandKind::op: op(session, command, true); break;
    case CommandKind::deop: op(session, command, false); break;
    case CommandKind::kick: kick(session, command); break;
    case CommandKind::ban: ban(session, command); break;
    case CommandKind::unban: unban(session, command); break;
    case CommandKind::bans: list_bans(session); break;
    case CommandKind::mute: mute(session, command, true); break;
    case CommandKind::unmute: mute(session, command, false); break;
    case CommandKind::topic: topic(session, command); break;
    case CommandKind::ratelimit: ratelimit(session, command); break;
    default: break;
  }
}

namespace {

// "NICK is not here" in the user's spelling, bounded and made printable.
std::string not_here(std::string_view nick, std::string_view room) {
  return fmt::format("no one in {} is called '{}'", room, quoted_nick(nick));
}

}  // namespace

void ChatHub::op(ChatSession& session, const Command& command, bool on) {
  const std::string key = fold(command.target);
  const auto account = moderation_->account(key);
  if (!account) {
    session.error(fmt::format("only registered nicknames can be operators: '{}' is not one",
                              quoted_nick(command.target)));
    return;
  }
  const std::string room_key = fold(session.current_room());
  if (!moderation_->set_op(room_key, key, on, session.nick())) {
    session.error(fmt::format("{} is {} an operator of {}", account->nick, on ? "already" : "not",
                              session.current_room()));
    return;
  }
  announce(session, fmt::format("{} {} {} an operator of {}", session.nick(), on ? "made" : "no longer has",
                                account->nick, session.current_room()));
}

void ChatHub::kick(ChatSession& session, const Command& command) {
  const auto target = find_member(command.target);
  if (!target || target->room != session.room()) {
    session.error(not_here(command.target, session.current_room()));
    return;
  }
  if (target->session_id == session.id()) {
    session.error("that is you");
    return;
  }
  // Known from its account: an admin is logged in as its nickname, which
  // nobody else can hold.
  if (moderation_->is_admin(fold(target->nick)) && !moderation_->is_admin(session.account())) {
    session.error(fmt::format("{} is an admin: operators cannot kick admins", target->nick));
    return;
  }
  const std::string reason = sanitized(command.text);
  moderation_->audit({Clock::now(), session.nick(), "kick", target->nick, fold(session.current_room()), reason});
  announce(session, fmt::format("{} was kicked from {} by {}{}", target->nick, session.current_room(), session.nick(),
                                reason.empty() ? "" : " (" + reason + ")"));
  on_member(*target, [room = session.room(), why = fmt::format("you were kicked from {} by {}{}", session.current_room(),
                                                                 session.nick(), reason.empty() ? "" : ": " + reason)](
                         ChatSession& s) { s.removed_from(room, why, false); });
}

void ChatHub::ban(ChatSession& session, const Command& command) {
  const bool admin = moderation_->is_admin(session.account());
  moderation::Ban ban;
  ban.room_key = admin ? std::string() : fold(session.current_room());
  ban.until = until(command.number);
  ban.by = session.nick();
  ban.reason = sanitized(command.text);
  ban.at = Clock::now();
  std::string shown;  // what the room is told was banned
  if (auto prefix = net::AddressPrefix::parse(command.target)) {
    ban.address = prefix;
    ban.target = prefix->to_string();
    shown = ban.target;
  } else if (const auto account = moderation_->account(fold(command.target))) {
    if (moderation_->is_admin(fold(account->nick))) {
      session.error(fmt::format("{} is an admin and cannot be banned", account->nick));
      return;
    }
    ban.target = fold(account->nick);
    shown = account->nick;
  } else if (const auto member = find_member(command.target)) {
    // Not registered: the name is anyone's, so the ban is on where it
    // connects from.
    ban.address = net::AddressPrefix::of(member->address);
    ban.target = ban.address->to_string();
    shown = fmt::format("{} (by address, {})", member->nick, ban.target);
  } else {
    session.error(fmt::format("'{}' is neither a registered nickname, nor here, nor an address",
                              sanitized(command.target.substr(0, 64))));
    return;
  }
  if (ban.address && ban.address->contains(session.address())) {
    session.error(fmt::format("{} is your own address", ban.target));
    return;
  }
  moderation_->add_ban(ban);
  moderation_->audit({ban.at, session.nick(), "ban", ban.target, ban.room_key,
                      fmt::format("{}{}", lasting(command.number), ban.reason.empty() ? "" : ": " + ban.reason)});
  announce(session, fmt::format("{} banned {} from {} {}{}", session.nick(), shown,
                                admin ? std::string("this server") : session.current_room(), lasting(command.number),
                                ban.reason.empty() ? "" : " (" + ban.reason + ")"));
  enforce(ban);
}

void ChatHub::enforce(const moderation::Ban& ban) {
  std::vector<std::pair<Member, std::string>> covered;  // member, room name
  {
    std::lock_guard lock(directory_mutex_);
    for (const auto& [key, m] : members_) {
      const bool matches = ban.address ? ban.address->contains(m.address) : key == ban.target;
      if (!matches) continue;
      auto room = room_keys_.find(m.room);
      if (room == room_keys_.end()) continue;
      if (!ban.room_key.empty() && room->second != ban.room_key) continue;
      covered.push_back({m, rooms_.at(room->second).name});
    }
  }
  for (const auto& [member, room] : covered) {
    on_member(member, [ban, room = member.room, name = room](ChatSession& s) {
      s.removed_from(room, banned_sentence(ban, name), ban.room_key.empty());
    });
  }
}

void ChatHub::unban(ChatSession& session, const Command& command) {
  std::string target = fold(command.target);
  if (auto prefix = net::AddressPrefix::parse(command.target)) target = prefix->to_string();
  const std::string room_key = fold(session.current_room());
  const bool admin = moderation_->is_admin(session.account());
  // An admin lifts the room's ban or the server's; an operator the room's.
  if (moderation_->remove_ban(room_key, target, session.nick()) ||
      (admin && moderation_->remove_ban({}, target, session.nick()))) {
    announce(session, fmt::format("{} lifted the ban on {}", session.nick(), target));
    return;
  }
  session.error(fmt::format("no ban on '{}' here (/bans lists them)", sanitized(command.target.substr(0, 64))));
}

void ChatHub::list_bans(ChatSession& session) {
  const auto bans = moderation_->bans(fold(session.current_room()));
  if (bans.empty()) {
    session.info(fmt::format("no bans in {}", session.current_room()));
    return;
  }
  session.info(fmt::format("bans in {}:", session.current_room()));
  for (const auto& ban : bans) session.info("  " + ban_text(ban));
}

void ChatHub::mute(ChatSession& session, const Command& command, bool on) {
  const auto target = find_member(command.target);
  if (!target || target->room != session.room()) {
    session.error(not_here(command.target, session.current_room()));
    return;
  }
  if (on && moderation_->is_admin(fold(target->nick))) {
    session.error(fmt::format("{} is an admin and cannot be muted", target->nick));
    return;
  }
  const std::string room_key = fold(session.current_room());
  std::optional<Clock::time_point> muted;
  if (on) {
    muted = until(command.number);
    moderation_->mute(room_key, fold(target->nick), *muted);
  } else if (!moderation_->unmute(room_key, fold(target->nick))) {
    session.error(fmt::format("{} is not muted", target->nick));
    return;
  }
  moderation_->audit({Clock::now(), session.nick(), on ? "mute" : "unmute", target->nick, room_key,
                      on ? lasting(command.number) : std::string()});
  announce(session, on ? fmt::format("{} muted {} {}", session.nick(), target->nick, lasting(command.number))
                       : fmt::format("{} unmuted {}", session.nick(), target->nick));
  on_member(*target, [room = session.room(), muted](ChatSession& s) { s.muted(room, muted); });
}

void ChatHub::topic(ChatSession& session, const Command& command) {
  const std::string text = sanitized(command.text);
  const std::string room_key = fold(session.current_room());
  moderation_->set_topic(room_key, text);
  moderation_->audit({Clock::now(), session.nick(), "topic", {}, room_key, text});
  announce(session, fmt::format("{} set the topic: {}", session.nick(), text));
}

void ChatHub::ratelimit(ChatSession& session, const Command& command) {
  const double burst = static_cast<double>(command.number);
  if (command.rate > options_.flood_rate || burst > options_.flood_burst) {
    session.error(fmt::format("at most this server's own limits: {} lines per second, bursts of {} "
                              "(--flood-rate, --flood-burst)",
                              options_.flood_rate, options_.flood_burst));
    return;
  }
  const std::string room_key = fold(session.current_room());
  moderation_->set_limits(room_key, {command.rate, burst});
  moderation_->audit({Clock::now(), session.nick(), "ratelimit", {}, room_key,
                      fmt::format("{}/s, bursts of {}", command.rate, burst)});
  announce(session, fmt::format("{} set this room's limits: {} lines per second, bursts of {}", session.nick(),
                                command.rate, burst));
  for (std::size_t loop = 0; loop < loops_.size(); ++loop) {
    on_loop(loop, [this, room = session.room(), rate = command.rate, burst] {
      auto members = here().members.find(room);
      if (members == here().members.end()) return;
      for (ChatSession* s : members->second) s->room_limits_changed(room, rate, burst);
    });
  }
}

void ChatHub::wall(ChatSession& session, const Command& command) {
  if (!moderation_->is_admin(session.account())) {
    session.error("only admins can speak to every room");
    return;
  }
  const std::string text = fmt::format("[to every room] {}: {}", session.nick(), sanitized(command.text));
  std::vector<std::pair<RoomId, std::string>> rooms;
  {
    std::lock_guard lock(directory_mutex_);
    for (const auto& [key, room] : rooms_) rooms.emplace_back(room.id, room.name);
  }
  moderation_->audit({Clock::now(), session.nick(), "wall", {}, {}, sanitized(command.text)});
  for (const auto& [id, name] : rooms) broadcast(id, notice_line(name, NoticeWhat::none, {}, {}, text), 0, false);
}

}  // namespace enchufe::services::chat
