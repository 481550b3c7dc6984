#include "services/chat/cluster/stream_history.hpp"

#include "net/log.hpp"
#include "services/chat/cluster/wire.hpp"
#include "services/chat/names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace enchufe::services::chat::cluster {

namespace {

namespace redis = net::redis;

// Every script below reads entries as the publishing script writes them:
// e[2] is {'ms', time, 't', lowercase text, 'l', line}.

// KEYS: counter, stream; ARGV: n. The room's last number, then its last n
// lines, newest first.
constexpr std::string_view kRecent = R"lua(
local out = {redis.call('GET', KEYS[1]) or '0'}
if tonumber(ARGV[1]) > 0 then
  for _, e in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[1])) do out[#out + 1] = e[2][6] end
end
return out
)lua";

// KEYS: stream; ARGV: 'XRANGE' (oldest first) or 'XREVRANGE' (newest
// first), n, since (ms), words (lowercase). The first n lines in that
// order said at or after `since` with every word (/history 1h, /search).
constexpr std::string_view kScan = R"lua(
local out = {}
local n, since = tonumber(ARGV[2]), tonumber(ARGV[3])
local from, to = '-', '+'
if ARGV[1] == 'XREVRANGE' then from, to = '+', '-' end
for _, e in ipairs(redis.call(ARGV[1], KEYS[1], from, to)) do
  local found = tonumber(e[2][2]) >= since
  for i = 4, #ARGV do
    if found and not string.find(e[2][4], ARGV[i], 1, true) then found = false end
  end
  if found then
    out[#out + 1] = e[2][6]
    if #out >= n then break end
  end
end
return out
)lua";

// "(12-0": after line 12.
std::string after(std::uint64_t id) { return fmt::format("({}-0", id); }

// The lines in a reply: an array of published lines, or of stream entries
// ([id, [field, value...]]) whose "l" is one.
std::vector<std::shared_ptr<ChatLine>> lines_of(const redis::Reply& reply, std::size_t from, std::string_view room) {
  std::vector<std::shared_ptr<ChatLine>> lines;
  for (std::size_t i = from; i < reply.elements.size(); ++i) {
    const redis::Reply* published = &reply.elements[i];
    if (published->type == redis::Reply::Type::array) {
      const redis::Reply& entry = *published;
      published = nullptr;
      if (entry.elements.size() != 2) continue;
      const auto& fields = entry.elements[1].elements;
      for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
        if (fields[f].text == "l") published = &fields[f + 1];
      }
      if (published == nullptr) continue;
    }
    if (auto wire = from_wire(published->text, room)) lines.push_back(std::move(wire->line));
  }
  return lines;
}

// kRecent's answer: the room's last number, then its lines newest first.
RecentLines recent_of(const redis::Reply& reply, const std::string& key) {
  RecentLines recent;
  if (reply.type != redis::Reply::Type::array || reply.elements.empty()) {
    log::warn("cluster: the history of {} could not be read ({}); it starts from what comes now", key, reply.text);
    return recent;
  }
  recent.last_id = std::strtoull(reply.elements[0].text.c_str(), nullptr, 10);
  recent.lines = lines_of(reply, 1, key);
  std::reverse(recent.lines.begin(), recent.lines.end());  // oldest first
  if (!recent.lines.empty()) recent.last_id = std::max(recent.last_id, recent.lines.back()->id);
  return recent;
}

}  // namespace

std::string log_key(std::string_view room_key) { return "enchufe:room-log:" + std::string(room_key); }

bool StreamHistory::append(SharedLine line) {
  if (line->room.empty()) {
    ++not_stored_;
    return false;
  }
  ++stored_;
  return true;
}

HistoryStats StreamHistory::stats() const { return {stored_.load(), not_stored_.load(), 0, false}; }

void StreamHistory::load_recent(std::string_view room_key, std::size_t n, std::function<void(RecentLines)> done) {
  // A node just started makes rooms before it is connected: their history
  // is asked for once the connection is up (or known to be down).
  bus_.when_link_known(bus_.room_shard(room_key), [this, key = std::string(room_key), n, done = std::move(done)] {
    bus_.client_for_room_here(key).command(
        {"EVAL", kRecent, "2", "enchufe:room-id:" + key, log_key(key), std::to_string(n)},
        [key, done](const redis::Reply& reply) { done(recent_of(reply, key)); });
  });
}

void StreamHistory::query(HistoryQuery query, std::function<void(HistoryPage)> answer) {
  const std::string key = log_key(query.room_key);
  // One more than asked for: whether there are more.
  const std::string count = std::to_string(query.limit + 1);
  std::vector<std::string> command;
  bool newest_first = false;
  switch (query.kind) {
    case HistoryQuery::Kind::before:
      command = {"XREVRANGE", key, query.id == 0 ? "+" : after(query.id), "-", "COUNT", count};
      newest_first = true;
      break;
    case HistoryQuery::Kind::since_id: command = {"XRANGE", key, after(query.id), "+", "COUNT", count}; break;
    case HistoryQuery::Kind::since_time: {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(query.since.time_since_epoch()).count();
      command = {"EVAL", std::string(kScan), "1", key, "XRANGE", count, std::to_string(ms)};
      break;
    }
    case HistoryQuery::Kind::search: {
      // Newest first, as /search shows them.
      command = {"EVAL", std::string(kScan), "1", key, "XREVRANGE", count, "0"};
      std::istringstream words(fold(query.text));
      for (std::string word; words >> word;) command.push_back(word);
      break;
    }
  }
  std::vector<std::string_view> args(command.begin(), command.end());
  bus_.client_for_room_here(query.room_key)
      .command(args, [query = std::move(query), newest_first, answer = std::move(answer)](const redis::Reply& reply) {
        HistoryPage page;
        if (reply.type != redis::Reply::Type::array) {
          page.error = fmt::format("the history cannot be read just now ({})", reply.text);
          answer(std::move(page));
          return;
        }
        page.lines = lines_of(reply, 0, query.room.empty() ? query.room_key : query.room);
        if (page.lines.size() > query.limit) {
          page.more = true;
          page.lines.pop_back();  // the one past the limit: oldest, or newest (since), or last found
        }
        if (newest_first) std::reverse(page.lines.begin(), page.lines.end());
        answer(std::move(page));
      });
}

}  // namespace enchufe::services::chat::cluster
