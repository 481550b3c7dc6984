#include "services/chat/cluster/directory.hpp"

#include "net/log.hpp"
#include "services/chat/names.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace enchufe::services::chat::cluster {

namespace {

namespace redis = net::redis;

// What every script starts with: ARGV[1] is the TTL in milliseconds; `now`
// is Redis's clock, so nodes whose clocks differ agree on what expired.
// owned(key, prefix): nil when the nickname is free, true when the value
// starts with `prefix` (it is that session's), false when someone else's.
// present(): the member is in the room until the TTL passes (`expires`),
// and so is the room (room_is_on).
constexpr std::string_view kPrelude = R"lua(
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + ttl
local function owned(key, prefix)
  local held = redis.call('GET', key)
  if not held then return nil end
  return string.sub(held, 1, #prefix) == prefix
end
local function room_is_on(room_key, room_name)
  local who = 'enchufe:who:' .. room_key
  redis.call('PEXPIRE', who, ttl)
  redis.call('ZADD', 'enchufe:rooms', expires, room_key)
  redis.call('HSETNX', 'enchufe:room-names', room_key, room_name)
end
local function present(nick, room_key, room_name)
  redis.call('ZADD', 'enchufe:who:' .. room_key, expires, nick)
  room_is_on(room_key, room_name)
end
)lua";

// ARGV: ttl, folded nick, owner prefix, nick, old folded nick ('' none),
// old nick, room key ('' none), room name, '1' to take it from whoever
// holds it. 1: taken for the session; 0: another session holds it. One
// script: the old name goes and the new one comes in the room's list
// together.
constexpr std::string_view kClaim = R"lua(
local key = 'enchufe:nick:' .. ARGV[2]
if ARGV[9] ~= '1' and owned(key, ARGV[3]) == false then return 0 end
redis.call('SET', key, ARGV[3] .. ARGV[4], 'PX', ttl)
local old = 'enchufe:nick:' .. ARGV[5]
if ARGV[5] ~= '' and ARGV[5] ~= ARGV[2] and owned(old, ARGV[3]) then redis.call('DEL', old) end
if ARGV[7] ~= '' then
  if ARGV[6] ~= '' then redis.call('ZREM', 'enchufe:who:' .. ARGV[7], ARGV[6]) end
  present(ARGV[4], ARGV[7], ARGV[8])
end
return 1
)lua";

// ARGV: ttl, then per member: folded nick, owner prefix, nick, room key
// ('' none), room name. Sets again what a restarted Redis forgot; returns
// the folded nicknames another session holds now. Two commands a member
// and one ZADD a room: the heartbeat is most of what names cost Redis.
constexpr std::string_view kRefresh = R"lua(
local lost, rooms = {}, {}
for i = 2, #ARGV, 5 do
  local key = 'enchufe:nick:' .. ARGV[i]
  local mine = owned(key, ARGV[i + 1])
  if mine == false then
    lost[#lost + 1] = ARGV[i]
  else
    if mine then redis.call('PEXPIRE', key, ttl) else redis.call('SET', key, ARGV[i + 1] .. ARGV[i + 2], 'PX', ttl) end
    if ARGV[i + 3] ~= '' then
      local room = rooms[ARGV[i + 3]]
      if not room then
        room = {name = ARGV[i + 4], members = {}}
        rooms[ARGV[i + 3]] = room
      end
      room.members[#room.members + 1] = expires
      room.members[#room.members + 1] = ARGV[i + 2]
    end
  end
end
for room_key, room in pairs(rooms) do
  redis.call('ZADD', 'enchufe:who:' .. room_key, unpack(room.members))
  room_is_on(room_key, room.name)
end
return lost
)lua";

// ARGV: ttl, folded nick, owner prefix, nick, room key ('' none).
constexpr std::string_view kRelease = R"lua(
local key = 'enchufe:nick:' .. ARGV[2]
if owned(key, ARGV[3]) then redis.call('DEL', key) end
if ARGV[5] ~= '' then redis.call('ZREM', 'enchufe:who:' .. ARGV[5], ARGV[4]) end
return 1
)lua";

// ARGV: ttl, room key. The members whose entries have not expired.
constexpr std::string_view kWho = R"lua(
local who = 'enchufe:who:' .. ARGV[2]
redis.call('ZREMRANGEBYSCORE', who, '-inf', now)
return redis.call('ZRANGE', who, 0, -1)
)lua";

// ARGV: ttl. name, count, name, count... of the rooms with members.
constexpr std::string_view kRooms = R"lua(
for _, room in ipairs(redis.call('ZRANGEBYSCORE', 'enchufe:rooms', '-inf', now)) do
  redis.call('HDEL', 'enchufe:room-names', room)
end
redis.call('ZREMRANGEBYSCORE', 'enchufe:rooms', '-inf', now)
local out = {}
for _, room in ipairs(redis.call('ZRANGE', 'enchufe:rooms', 0, -1)) do
  local who = 'enchufe:who:' .. room
  redis.call('ZREMRANGEBYSCORE', who, '-inf', now)
  local n = redis.call('ZCARD', who)
  if n > 0 then
    out[#out + 1] = redis.call('HGET', 'enchufe:room-names', room) or room
    out[#out + 1] = n
  end
end
return out
)lua";

// ARGV: ttl, folded nick, line. Publishes "<session> <line>" on the channel
// of the node that holds the nickname; returns the nickname as its owner
// spells it, or nil if nobody has it (or its node no longer listens).
constexpr std::string_view kPrivate = R"lua(
local held = redis.call('GET', 'enchufe:nick:' .. ARGV[2])
if not held then return false end
local node, session, nick = string.match(held, '^(%S+) (%d+) (.*)$')
if not node then return false end
if redis.call('PUBLISH', 'enchufe:node:' .. node, session .. ' ' .. ARGV[3]) == 0 then return false end
return nick
)lua";

// Names and rooms live on the first --cluster server (so do the nodes'
// private channels: Bus::node_channel).
constexpr std::size_t kDirectoryShard = 0;

}  // namespace

Directory::Directory(net::Runtime& runtime, Bus& bus, const ClusterOptions& options, Hooks hooks)
    : runtime_(runtime), bus_(bus), node_(options.node_name), ttl_(options.ttl), hooks_(std::move(hooks)) {}

void Directory::start() {
  for (std::size_t loop = 0; loop < runtime_.size(); ++loop) {
    timers_.push_back(std::make_unique<asio::steady_timer>(runtime_.loop(loop).context()));
    arm(loop);
  }
}

void Directory::stop() {
  for (std::size_t loop = 0; loop < timers_.size(); ++loop) {
    asio::post(runtime_.loop(loop).context(), [this, loop] { timers_[loop]->cancel(); });
  }
}

void Directory::arm(std::size_t loop) {
  timers_[loop]->expires_after(ttl_ / 3);
  timers_[loop]->async_wait([this, loop](const boost::system::error_code& ec) {
    if (ec) return;  // stopping
    beat();
    arm(loop);
  });
}

std::string Directory::owner(std::uint64_t session) const { return fmt::format("{} {} ", node_, session); }

void Directory::eval(std::string_view body, std::vector<std::string> args, redis::Client::Callback done) {
  bus_.when_link_known(kDirectoryShard, [this, body, args = std::move(args), done = std::move(done)]() mutable {
    const std::string script = std::string(kPrelude) + std::string(body);
    const std::string ttl = std::to_string(ttl_.count());
    std::vector<std::string_view> command{"EVAL", script, "0", ttl};
    command.insert(command.end(), args.begin(), args.end());
    bus_.client_here(kDirectoryShard).command(command, std::move(done));
  });
}

void Directory::claim(const Entry& member, const std::string& old_nick, ClaimDone done, bool take_over) {
  eval(kClaim,
       {fold(member.nick), owner(member.session), member.nick, old_nick.empty() ? "" : fold(old_nick), old_nick,
        member.room_key, member.room_name, take_over ? "1" : "0"},
       [done = std::move(done)](const redis::Reply& reply) {
         if (reply.is_error()) {
           done(Claim::unreachable, reply.text);
         } else {
           done(reply.integer == 1 ? Claim::done : Claim::taken, {});
         }
       });
}

void Directory::joined(const Entry& member) {
  eval(kRefresh, {fold(member.nick), owner(member.session), member.nick, member.room_key, member.room_name}, {});
}

void Directory::left(const std::string& nick, const std::string& room_key) {
  bus_.when_link_known(kDirectoryShard, [this, key = "enchufe:who:" + room_key, nick] {
    bus_.client_here(kDirectoryShard).command({"ZREM", key, nick});
  });
}

void Directory::release(const Entry& member) {
  eval(kRelease, {fold(member.nick), owner(member.session), member.nick, member.room_key}, {});
}

void Directory::who(const std::string& room_key, Answer<std::vector<std::string>> done) {
  eval(kWho, {room_key}, [done = std::move(done)](const redis::Reply& reply) {
    if (reply.type != redis::Reply::Type::array) {
      done(std::nullopt, reply.text);
      return;
    }
    std::vector<std::string> nicks;
    for (const auto& element : reply.elements) nicks.push_back(element.text);
    done(std::move(nicks), {});
  });
}

void Directory::send_private(const std::string& nick, const std::string& line, Answer<std::string> done) {
  eval(kPrivate, {fold(nick), line}, [done = std::move(done)](const redis::Reply& reply) {
    if (reply.type == redis::Reply::Type::string) {
      done(reply.text, {});
    } else {
      done(std::nullopt, reply.is_error() ? reply.text : std::string());
    }
  });
}

void Directory::rooms(Answer<std::vector<std::pair<std::string, std::size_t>>> done) {
  eval(kRooms, {}, [done = std::move(done)](const redis::Reply& reply) {
    if (reply.type != redis::Reply::Type::array) {
      done(std::nullopt, reply.text);
      return;
    }
    std::vector<std::pair<std::string, std::size_t>> rooms;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      rooms.emplace_back(reply.elements[i].text, static_cast<std::size_t>(reply.elements[i + 1].integer));
    }
    done(std::move(rooms), {});
  });
}

// One loop's members, kRefreshBatch per script. A nickname another session
// holds now (this node was away past the TTL) goes to `lost`.
void Directory::beat() {
  const std::vector<Entry> members = hooks_.members_here();
  for (std::size_t from = 0; from < members.size(); from += kRefreshBatch) {
    const std::size_t to = std::min(members.size(), from + kRefreshBatch);
    std::vector<std::string> args;
    args.reserve((to - from) * 5);
    // Folded nickname -> session, to map what comes back.
    auto sessions = std::make_shared<std::vector<std::pair<std::string, std::uint64_t>>>();
    for (std::size_t i = from; i < to; ++i) {
      const Entry& m = members[i];
      sessions->emplace_back(fold(m.nick), m.session);
      args.insert(args.end(), {fold(m.nick), owner(m.session), m.nick, m.room_key, m.room_name});
    }
    eval(kRefresh, std::move(args), [this, sessions](const redis::Reply& reply) {
      if (reply.is_error()) {
        log::debug("cluster: the names' heartbeat failed: {}", reply.text);
        return;
      }
      for (const auto& lost : reply.elements) {
        for (const auto& [key, session] : *sessions) {
          if (key == lost.text) hooks_.lost(session, key);
        }
      }
    });
  }
}

}  // namespace enchufe::services::chat::cluster
