#include "services/chat/cluster/bus.hpp"

#include "net/log.hpp"
#include "services/chat/cluster/moderation_feed.hpp"
#include "services/chat/cluster/stream_history.hpp"
#include "services/chat/cluster/wire.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>

namespace enchufe::services::chat::cluster {

namespace {

namespace redis = net::redis;

// Numbers the line and publishes it in one step: scripts run alone in
// Redis, so the numbers go up in the order the room's subscribers hear
// the lines, on every node. The number goes in front of the line. ARGV[2]
// is the newest number the node knows: a Redis restarted empty goes on
// from there instead of giving numbers clients have seen already. A line
// kept in history (ARGV[3], its time, is set) goes into the room's stream
// too, as entry <number>-0 (stream_history.hpp); pcall: a stream that
// cannot take it (its top is newer, after a restart) does not stop the line.
constexpr std::string_view kPublishScript =
    "local id = redis.call('INCR', KEYS[1]) "
    "local known = tonumber(ARGV[2]) "
    "if id <= known then id = known + 1 redis.call('SET', KEYS[1], id) end "
    "local line = id .. ' ' .. ARGV[1] "
    "if ARGV[3] ~= '' then redis.pcall('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], id .. '-0', "
    "'ms', ARGV[3], 't', string.lower(ARGV[4]), 'l', line) end "
    "redis.call('PUBLISH', KEYS[2], line) "
    "return id";

// Its SHA-1, as EVALSHA wants it: the script's 230 bytes are not sent
// with every line (about 10% more lines per Redis core, measured in
// docs/cluster.md). Each publisher loads it when it connects, before any
// line, so Redis always has it (a restarted Redis has forgotten it).
std::string script_sha1() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(kPublishScript.data(), kPublishScript.size(), digest, &size, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("cluster: SHA-1 of the publishing script failed");
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// FNV-1a, then a finaliser (MurmurHash3's fmix64): small, and the same on
// every node and build (std::hash is not promised to be). Without the
// finaliser, names that differ only at the end (room-1, room-2...) differ
// little in the top bits that decide the highest score, and bunch up.
std::uint64_t score(std::string_view a, std::string_view b) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::string_view part : {a, std::string_view("\n"), b}) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 1099511628211ull;
    }
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::string node_channel(std::string_view node) { return "enchufe:node:" + std::string(node); }

std::size_t shard_of(std::string_view room_key, const std::vector<redis::Address>& shards) {
  std::size_t best = 0;
  std::uint64_t best_score = 0;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const std::uint64_t s = score(redis::to_string(shards[i]), room_key);
    if (i == 0 || s > best_score) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

std::shared_ptr<Bus> Bus::start(net::Runtime& runtime, ClusterOptions options, Hooks hooks) {
  std::shared_ptr<Bus> bus(new Bus(runtime, std::move(options), std::move(hooks)));
  bus->start_clients();
  return bus;
}

Bus::Bus(net::Runtime& runtime, ClusterOptions options, Hooks hooks)
    : runtime_(runtime), options_(std::move(options)), hooks_(std::move(hooks)), script_sha1_(script_sha1()),
      node_channel_(node_channel(options_.node_name)), history_lines_(std::to_string(options_.history_lines)),
      loops_(runtime.size()), shards_(options_.shards.size()) {}

// Before the loops run: each client is made for its loop and, from then
// on, touched only by that loop's thread.
void Bus::start_clients() {
  for (std::size_t loop = 0; loop < loops_.size(); ++loop) {
    LoopState& state = loops_[loop];
    state.publisher_link.assign(shards_.size(), Link::unknown);
    state.link_waiters.resize(shards_.size());
    state.subscriber_link.assign(shards_.size(), Link::unknown);
    for (std::size_t s = 0; s < shards_.size(); ++s) {
      redis::Client::Options o;
      o.address = options_.shards[s];
      o.name = fmt::format("enchufe-{}-publish-{}", options_.node_name, loop);
      // Its events run on its own loop, where its rooms live.
      const auto changed = [this, s](Link link) {
        here().publisher_link[s] = link;
        links_changed(s);
      };
      state.publishers.push_back(redis::Client::start(
          runtime_.loop(loop).context(), o,
          {.up =
               [this, s, changed] {
                 // Ahead of every line in the pipeline, so each EVALSHA finds it.
                 here().publishers[s]->command({"SCRIPT", "LOAD", kPublishScript}, {});
                 changed(Link::up);
               },
           .down =
               [changed](const std::string& why) {
                 log::debug("cluster: a publishing connection lost {}", why);
                 changed(Link::down);
               },
           .message = {}}));
    }
  }
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    Shard& shard = shards_[s];
    shard.loop = s % loops_.size();
    redis::Client::Options o;
    o.address = options_.shards[s];
    o.name = fmt::format("enchufe-{}-subscribe", options_.node_name);
    shard.subscriber = redis::Client::start(
        runtime_.loop(shard.loop).context(), o,
        {.up =
             [this, s] {
               log::info("cluster: in touch with {}", redis::to_string(options_.shards[s]));
               shards_[s].up = true;
               subscriber_changed(s, true);
               if (s == 0) hooks_.moderation_listening();
             },
         .down =
             [this, s](const std::string& why) {
               log::warn("cluster: lost {} (rooms there reach only this node's members until it is back)", why);
               shards_[s].up = false;
               subscriber_changed(s, false);
             },
         .message = [this, s](std::string_view channel, std::string_view payload) { heard(s, channel, payload); }});
  }
  shards_.front().subscriber->subscribe({node_channel_, std::string(kModerationChannel)});
}

void Bus::stop() {
  for (std::size_t loop = 0; loop < loops_.size(); ++loop) {
    asio::post(runtime_.loop(loop).context(), [this, loop] {
      for (auto& client : loops_[loop].publishers) client->stop();
      for (auto& shard : shards_) {
        if (shard.loop == loop) shard.subscriber->stop();
      }
    });
  }
}

Bus::Stats Bus::stats() const {
  Stats out;
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    out.shards.emplace_back(redis::to_string(options_.shards[s]), shards_[s].up.load());
  }
  out.rooms_out_of_touch = rooms_out_of_touch_.load();
  out.lines_here_only = lines_here_only_.load();
  return out;
}

Bus::LoopState& Bus::here() { return loops_[net::Loop::current()->index()]; }

// ---- rooms, on their home loop --------------------------------------------------

void Bus::open(RoomId id, const std::string& key, const std::string& name) {
  const std::size_t shard = shard_of(key, options_.shards);
  Room& room = here().rooms[id];
  room.name = name;
  room.shard = shard;
  room.channel = "enchufe:room:" + key;
  room.counter = "enchufe:room-id:" + key;
  room.log = log_key(key);
  const std::size_t home = net::Loop::current()->index();
  // A link known to be down puts the room out of touch at once rather than
  // after the subscription fails; posted, so that the member whose join
  // opens the room is in it to be told.
  asio::post(runtime_.loop(home).context(), [this, id] {
    auto found = here().rooms.find(id);
    if (found == here().rooms.end() || found->second.touch != Touch::opening) return;
    if (touch_for(found->second) == Touch::out_of_touch) set_touch(id, found->second, Touch::out_of_touch);
  });
  asio::post(runtime_.loop(shards_[shard].loop).context(), [this, id, home, shard, channel = room.channel] {
    Shard& s = shards_[shard];
    s.listeners[channel] = {id, home};
    // Lines said before the subscription holds would not come back here:
    // the room waits for it (or for its failure) before publishing.
    s.subscriber->subscribe({channel}, [this, id, home](const redis::Reply& reply) {
      const bool ok = !reply.is_error();
      asio::post(runtime_.loop(home).context(), [this, id, ok] {
        auto found = here().rooms.find(id);
        if (found == here().rooms.end()) return;
        Room& room = found->second;
        if (room.touch != Touch::opening) return;
        if (!ok) {
          set_touch(id, room, Touch::out_of_touch);
          return;
        }
        room.subscribed = true;
        // The confirmation may come before the news that the subscriber is
        // up (both are posted from its loop, in an order it does not promise).
        here().subscriber_link[room.shard] = Link::up;
        if (const Touch touch = touch_for(room); touch != Touch::opening) set_touch(id, room, touch);
      });
    });
  });
}

void Bus::close(RoomId id) {
  auto found = here().rooms.find(id);
  if (found == here().rooms.end()) return;
  const std::size_t shard = found->second.shard;
  if (found->second.touch == Touch::out_of_touch) --rooms_out_of_touch_;
  std::string channel = std::move(found->second.channel);
  here().rooms.erase(found);
  asio::post(runtime_.loop(shards_[shard].loop).context(), [this, id, shard, channel = std::move(channel)] {
    Shard& s = shards_[shard];
    auto listener = s.listeners.find(channel);
    // The room may have been made again meanwhile, with another id.
    if (listener == s.listeners.end() || listener->second.room != id) return;
    s.listeners.erase(listener);
    s.subscriber->unsubscribe({channel});
  });
}

void Bus::publish(RoomId id, std::shared_ptr<ChatLine> draft, std::uint64_t sender, bool keep,
                  std::uint64_t known_id) {
  auto found = here().rooms.find(id);
  if (found == here().rooms.end()) return;
  Room& room = found->second;
  room.known_id = std::max(room.known_id, known_id);
  Pending pending{here().next_seq++, std::move(draft), sender, keep};
  switch (room.touch) {
    case Touch::opening: room.unsent.push_back(std::move(pending)); break;
    case Touch::in_touch: send(room, id, std::move(pending)); break;
    case Touch::out_of_touch: deliver_here(id, room, std::move(pending)); break;
  }
}

void Bus::send(Room& room, RoomId id, Pending pending) {
  const ChatLine& line = *pending.draft;
  const std::string payload = to_wire(line, options_.node_name, pending.sender, pending.seq, pending.keep);
  const std::string known = std::to_string(room.known_id);
  const std::string ms =
      pending.keep
          ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(line.time.time_since_epoch()).count())
          : std::string();
  here().publishers[room.shard]->command(
      {"EVALSHA", script_sha1_, "3", room.counter, room.channel, room.log, payload, known, ms, line.text,
       history_lines_},
      [this, id, seq = pending.seq](const redis::Reply& reply) { published(id, seq, reply); });
  room.awaiting.push_back(std::move(pending));
}

// The script's answer: the line's number, or why it failed.
void Bus::published(RoomId id, std::uint64_t seq, const redis::Reply& reply) {
  auto found = here().rooms.find(id);
  if (found == here().rooms.end()) return;
  Room& room = found->second;
  if (!reply.is_error()) return;  // it comes back through the subscription
  // Not published (or maybe, its answer lost): this node's members get it
  // now; a late copy from Redis is recognised by its sequence number.
  auto it = std::find_if(room.awaiting.begin(), room.awaiting.end(), [seq](const Pending& p) { return p.seq == seq; });
  if (it == room.awaiting.end()) return;
  Pending pending = std::move(*it);
  room.awaiting.erase(it);
  log::debug("cluster: a line of {} went to this node only: {}", room.name, reply.text);
  deliver_here(id, room, std::move(pending));
}

void Bus::deliver_here(RoomId id, Room& room, Pending pending) {
  ++lines_here_only_;
  room.delivered_here.push_back(pending.seq);
  if (room.delivered_here.size() > kDeliveredHereMemory) room.delivered_here.pop_front();
  pending.draft->id = 0;  // no number the other nodes would agree on
  hooks_.heard(id, std::move(pending.draft), pending.sender, pending.keep);
}

void Bus::set_touch(RoomId id, Room& room, Touch touch) {
  const Touch was = room.touch;
  room.touch = touch;
  if (was != touch && touch == Touch::out_of_touch) ++rooms_out_of_touch_;
  if (was == Touch::out_of_touch && touch != Touch::out_of_touch) --rooms_out_of_touch_;
  if (touch == Touch::out_of_touch) {
    // What was said here and not heard back yet will not be: the
    // subscription that would have brought it is gone.
    for (auto* queue : {&room.awaiting, &room.unsent}) {
      while (!queue->empty()) {
        Pending pending = std::move(queue->front());
        queue->pop_front();
        deliver_here(id, room, std::move(pending));
      }
    }
  } else if (touch == Touch::in_touch) {
    while (!room.unsent.empty()) {
      Pending pending = std::move(room.unsent.front());
      room.unsent.pop_front();
      send(room, id, std::move(pending));
    }
  }
  // Members are told of a change, not of the first subscription.
  const bool told_before = was != Touch::opening || touch == Touch::out_of_touch;
  if (was != touch && told_before) hooks_.touch(id, touch == Touch::in_touch);
}

// ---- what the subscription hears ------------------------------------------------

void Bus::heard(std::size_t shard, std::string_view channel, std::string_view payload) {
  if (shard == 0 && channel == node_channel_) {
    if (auto message = private_from_wire(payload)) {
      hooks_.private_heard(message->first, std::move(message->second.line));
    } else {
      log::warn("cluster: a message on {} that is not a private chat line: {:.80}", node_channel_, payload);
    }
    return;
  }
  if (shard == 0 && channel == kModerationChannel) {
    hooks_.moderation_heard(payload);
    return;
  }
  const auto& listeners = shards_[shard].listeners;
  auto listener = listeners.find(std::string(channel));
  if (listener == listeners.end()) return;  // unsubscribed meanwhile
  const RoomId room = listener->second.room;
  // Posted in the order heard: the room's home sees Redis's order.
  asio::post(runtime_.loop(listener->second.home).context(),
             [this, room, payload = std::string(payload)]() mutable { home_heard(room, std::move(payload)); });
}

void Bus::home_heard(RoomId id, std::string payload) {
  auto found = here().rooms.find(id);
  if (found == here().rooms.end()) return;
  Room& room = found->second;
  auto wire = from_wire(payload, room.name);
  if (!wire) {
    log::warn("cluster: a message on {} that is not a chat line: {:.80}", room.channel, payload);
    return;
  }
  std::uint64_t sender = 0;
  if (wire->node == options_.node_name) {
    // Our own line back: shown here now, unless it already was (sent when
    // its publishing seemed to fail).
    auto shown = std::find(room.delivered_here.begin(), room.delivered_here.end(), wire->seq);
    if (shown != room.delivered_here.end()) return;
    auto it = std::find_if(room.awaiting.begin(), room.awaiting.end(),
                           [&](const Pending& p) { return p.seq == wire->seq; });
    if (it != room.awaiting.end()) room.awaiting.erase(it);
    sender = wire->sender;
  }
  hooks_.heard(id, std::move(wire->line), sender, wire->keep);
}

Bus::Touch Bus::touch_for(const Room& room) {
  const Link publisher = here().publisher_link[room.shard];
  const Link subscriber = here().subscriber_link[room.shard];
  if (room.touch == Touch::opening) {
    // Not in touch before the subscription is confirmed and the publisher
    // is up; out of touch as soon as either is known to be down.
    if (publisher == Link::down || subscriber == Link::down) return Touch::out_of_touch;
    return room.subscribed && publisher == Link::up ? Touch::in_touch : Touch::opening;
  }
  return publisher == Link::up && subscriber == Link::up ? Touch::in_touch : Touch::out_of_touch;
}

void Bus::subscriber_changed(std::size_t shard, bool up) {
  // From the subscriber's loop to every home loop, after the messages it
  // heard before (posts between two loops keep their order). Up: its
  // handshake subscribed to every channel again.
  for (std::size_t loop = 0; loop < loops_.size(); ++loop) {
    asio::post(runtime_.loop(loop).context(), [this, shard, up] {
      here().subscriber_link[shard] = up ? Link::up : Link::down;
      links_changed(shard);
    });
  }
}

void Bus::when_link_known(std::size_t shard, std::function<void()> then) {
  LoopState& state = here();
  if (state.publisher_link[shard] != Link::unknown) {
    then();
  } else {
    state.link_waiters[shard].push_back(std::move(then));
  }
}

void Bus::links_changed(std::size_t shard) {
  if (here().publisher_link[shard] != Link::unknown) {
    for (auto& then : std::exchange(here().link_waiters[shard], {})) then();
  }
  for (auto& [id, room] : here().rooms) {
    if (room.shard != shard) continue;
    // An opening room whose subscription is not confirmed yet waits for
    // it (or for its failure), unless a link is known to be down.
    if (const Touch touch = touch_for(room); touch != room.touch && touch != Touch::opening) {
      set_touch(id, room, touch);
    }
  }
}

}  // namespace enchufe::services::chat::cluster
