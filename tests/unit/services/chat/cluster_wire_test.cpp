// What the chat cluster puts through Redis and where: a room line's wire
// form ("<id> <json>", as the publish script sends it) must come back with
// every field it went out with, and anything else on the channel must be
// refused rather than stop the room; a room's shard (rendezvous hashing)
// must be the same on every node and move only the rooms a changed shard
// wins or loses, or nodes would listen on different Redises.
#include "services/chat/cluster/bus.hpp"
#include "services/chat/cluster/wire.hpp"

#include "net/redis/url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <array>
#include <limits>

namespace enchufe::services::chat::cluster {
namespace {

namespace json = boost::json;
using net::redis::Address;

// 2026-12-01 12:04:05.123 UTC
const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'796'126'645'123));

// UTF-8 (2, 3 and 4 bytes), JSON's own quote and backslash, a tab, C0 and
// DEL bytes: all must survive escaping and unescaping.
const std::string kAwkwardText = "ni\xC3\xB1o \xE2\x82\xAC 5 \xF0\x9F\x99\x82 \"quoted\" back\\slash \t tab \x01\x1F\x7F end";

ChatLine sample(LineKind kind, NoticeWhat what, std::string nick, std::string to, std::string text) {
  ChatLine line;
  line.kind = kind;
  line.what = what;
  line.room = "ignored-on-the-wire";
  line.nick = std::move(nick);
  line.to = std::move(to);
  line.text = std::move(text);
  line.time = kTime;
  line.id = 999;  // not encoded: the published number wins
  return line;
}

std::string published(std::uint64_t id, const std::string& wire) { return std::to_string(id) + " " + wire; }

void expect_same_line(const ChatLine& got, const ChatLine& sent, std::string_view room, std::uint64_t id) {
  EXPECT_EQ(got.kind, sent.kind);
  EXPECT_EQ(got.what, sent.what);
  EXPECT_EQ(got.room, room);
  EXPECT_EQ(got.nick, sent.nick);
  EXPECT_EQ(got.to, sent.to);
  EXPECT_EQ(got.text, sent.text);
  EXPECT_EQ(got.time, sent.time);
  EXPECT_EQ(got.id, id);
}

// A wire line every field of which is valid, as a JSON object to spoil.
json::object valid_object() {
  const auto line = sample(LineKind::notice, NoticeWhat::renamed, "guest-1", "ana", "guest-1 is now known as ana");
  return json::parse(to_wire(line, "node-a", 7, 12, false)).as_object();
}

std::string with(json::object o) { return "41 " + json::serialize(o); }

TEST(ChatClusterWire, MessageRoundTripsEveryField) {
  const auto sent = sample(LineKind::message, NoticeWhat::none, "ana", "bob", kAwkwardText);
  for (const bool keep : {true, false}) {
    const auto got = from_wire(published(41, to_wire(sent, "node-\xC3\xA9", 3, 17, keep)), "General");
    ASSERT_TRUE(got.has_value()) << "keep=" << keep;
    ASSERT_NE(got->line, nullptr);
    expect_same_line(*got->line, sent, "General", 41);
    EXPECT_EQ(got->node, "node-\xC3\xA9");
    EXPECT_EQ(got->sender, 3u);
    EXPECT_EQ(got->seq, 17u);
    EXPECT_EQ(got->keep, keep);
  }
}

TEST(ChatClusterWire, NoticeRoundTripsItsWhatAndTo) {
  const auto sent = sample(LineKind::notice, NoticeWhat::renamed, "guest-1", "ana", "guest-1 is now known as ana \"\\\"");
  for (const bool keep : {false, true}) {
    const auto got = from_wire(published(7, to_wire(sent, "node-b", 0, 1, keep)), "lobby");
    ASSERT_TRUE(got.has_value()) << "keep=" << keep;
    expect_same_line(*got->line, sent, "lobby", 7);
    EXPECT_EQ(got->line->what, NoticeWhat::renamed);
    EXPECT_EQ(got->line->to, "ana");
    EXPECT_EQ(got->node, "node-b");
    EXPECT_EQ(got->sender, 0u);
    EXPECT_EQ(got->seq, 1u);
    EXPECT_EQ(got->keep, keep);
  }
}

TEST(ChatClusterWire, EveryRoomKindAndWhatRoundTrips) {
  for (const auto kind : {LineKind::message, LineKind::action, LineKind::notice}) {
    for (const auto what : {NoticeWhat::none, NoticeWhat::joined, NoticeWhat::left, NoticeWhat::renamed}) {
      const auto sent = sample(kind, what, "ana", {}, "x");
      const auto got = from_wire(published(2, to_wire(sent, "n", 1, 2, true)), "r");
      ASSERT_TRUE(got.has_value()) << static_cast<int>(kind) << "/" << static_cast<int>(what);
      EXPECT_EQ(got->line->kind, kind);
      EXPECT_EQ(got->line->what, what);
    }
  }
}

// /msg to another node: "<session> <json>" on that node's channel.
TEST(ChatClusterWire, APrivateMessageRoundTripsForItsSession) {
  const auto sent = sample(LineKind::private_message, NoticeWhat::none, "ana", "Bob", kAwkwardText);
  const auto got = private_from_wire(published(77, to_wire(sent, "node-a", 5, 0, false)));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->first, 77u);  // the recipient's session, not a line number
  expect_same_line(*got->second.line, sent, "", 0);
  EXPECT_EQ(got->second.sender, 5u);
}

// A room's channel carries room lines only, a node's channel private
// messages only: a line in the wrong place is refused, not shown.
TEST(ChatClusterWire, EachChannelTakesOnlyItsOwnKindOfLine) {
  const auto message = sample(LineKind::private_message, NoticeWhat::none, "ana", "bob", "psst");
  EXPECT_FALSE(from_wire(published(3, to_wire(message, "n", 1, 0, false)), "r"));
  for (const auto kind : {LineKind::message, LineKind::action, LineKind::notice, LineKind::private_echo}) {
    const auto line = sample(kind, NoticeWhat::none, "ana", "bob", "x");
    EXPECT_FALSE(private_from_wire(published(3, to_wire(line, "n", 1, 0, false)))) << static_cast<int>(kind);
  }
  EXPECT_FALSE(private_from_wire("0 " + to_wire(message, "n", 1, 0, false)));  // sessions count from 1
  EXPECT_FALSE(private_from_wire(to_wire(message, "n", 1, 0, false)));         // no session
}

TEST(ChatClusterWire, MillisecondsAndLargeNumbersSurvive) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  auto sent = sample(LineKind::message, NoticeWhat::none, "ana", {}, "");
  sent.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'796'126'645'001));
  const auto got = from_wire(published(kMax, to_wire(sent, "n", kMax, (1ull << 63) + 5, true)), "r");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->line->time, sent.time);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(got->line->time.time_since_epoch()).count() % 1000, 1);
  EXPECT_EQ(got->line->id, kMax);
  EXPECT_EQ(got->line->text, "");
  EXPECT_EQ(got->sender, kMax);
  EXPECT_EQ(got->seq, (1ull << 63) + 5);
}

TEST(ChatClusterWire, ToIsOptional) {
  auto o = valid_object();
  ASSERT_TRUE(o.contains("to"));
  o.erase("to");
  const auto got = from_wire(with(o), "r");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->line->to, "");
  // And an empty `to` is not sent at all.
  const auto wire = to_wire(sample(LineKind::message, NoticeWhat::none, "ana", {}, "hola"), "n", 1, 1, true);
  EXPECT_FALSE(json::parse(wire).as_object().contains("to"));
}

TEST(ChatClusterWire, RefusesWhatIsNotIdSpaceJson) {
  const std::string json_text = json::serialize(valid_object());
  ASSERT_TRUE(from_wire("41 " + json_text, "r").has_value());  // the rest would prove nothing otherwise

  EXPECT_FALSE(from_wire("", "r"));
  EXPECT_FALSE(from_wire("41", "r"));                          // no space, no JSON
  EXPECT_FALSE(from_wire("41" + json_text, "r"));              // no space
  EXPECT_FALSE(from_wire(" " + json_text, "r"));               // no id
  EXPECT_FALSE(from_wire("abc " + json_text, "r"));            // id not a number
  EXPECT_FALSE(from_wire("-3 " + json_text, "r"));             // nor negative
  EXPECT_FALSE(from_wire("+3 " + json_text, "r"));
  EXPECT_FALSE(from_wire("0 " + json_text, "r"));              // rooms number from 1
  EXPECT_FALSE(from_wire("12x " + json_text, "r"));            // trailing junk
  EXPECT_FALSE(from_wire("x12 " + json_text, "r"));
  EXPECT_FALSE(from_wire("99999999999999999999 " + json_text, "r"));  // beyond 64 bits
  EXPECT_FALSE(from_wire("41 ", "r"));                         // no JSON
}

TEST(ChatClusterWire, RefusesJsonThatIsNotAnObject) {
  EXPECT_FALSE(from_wire("41 []", "r"));
  EXPECT_FALSE(from_wire("41 42", "r"));
  EXPECT_FALSE(from_wire("41 \"text\"", "r"));
  EXPECT_FALSE(from_wire("41 null", "r"));
  EXPECT_FALSE(from_wire("41 true", "r"));
}

TEST(ChatClusterWire, RefusesMalformedJson) {
  const std::string json_text = json::serialize(valid_object());
  EXPECT_FALSE(from_wire("41 {", "r"));
  EXPECT_FALSE(from_wire("41 {\"k\":", "r"));
  EXPECT_FALSE(from_wire("41 " + json_text.substr(0, json_text.size() - 1), "r"));  // cut short
  EXPECT_FALSE(from_wire("41 " + json_text + "}", "r"));                            // extra data
  EXPECT_FALSE(from_wire("41 " + json_text + " {}", "r"));
  EXPECT_FALSE(from_wire("41 hello world", "r"));
}

TEST(ChatClusterWire, RefusesAnyRequiredFieldMissing) {
  ASSERT_TRUE(from_wire(with(valid_object()), "r").has_value());
  for (const char* field : {"k", "w", "n", "t", "ms", "node", "s", "q", "keep"}) {
    auto o = valid_object();
    ASSERT_TRUE(o.contains(field)) << field;
    o.erase(field);
    EXPECT_FALSE(from_wire(with(o), "r")) << "without " << field;
  }
}

TEST(ChatClusterWire, RefusesFieldsOfTheWrongType) {
  const auto spoiled = [](std::string_view field, json::value value) {
    auto o = valid_object();
    o[field] = std::move(value);
    return from_wire(with(std::move(o)), "r");
  };
  EXPECT_FALSE(spoiled("keep", 1));
  EXPECT_FALSE(spoiled("keep", "true"));
  EXPECT_FALSE(spoiled("keep", nullptr));
  EXPECT_FALSE(spoiled("n", 5));
  EXPECT_FALSE(spoiled("n", nullptr));
  EXPECT_FALSE(spoiled("t", json::array{}));
  EXPECT_FALSE(spoiled("node", 1));
  EXPECT_FALSE(spoiled("s", -1));
  EXPECT_FALSE(spoiled("s", "7"));
  EXPECT_FALSE(spoiled("q", -12));
  EXPECT_FALSE(spoiled("q", 1.5));
  EXPECT_FALSE(spoiled("ms", -1));
  EXPECT_FALSE(spoiled("ms", "1796126645123"));
  EXPECT_FALSE(spoiled("k", "0"));
  EXPECT_FALSE(spoiled("w", true));
  // The same values of the right type pass: the refusals are about type.
  EXPECT_TRUE(spoiled("keep", true));
  EXPECT_TRUE(spoiled("n", "bob"));
  EXPECT_TRUE(spoiled("s", 0));
  EXPECT_TRUE(spoiled("q", 12));
}

TEST(ChatClusterWire, RefusesKindsAndWhatsOfNoRoomLine) {
  const auto with_numbers = [](std::int64_t k, std::int64_t w) {
    auto o = valid_object();
    o["k"] = k;
    o["w"] = w;
    return from_wire(with(std::move(o)), "r");
  };
  EXPECT_TRUE(with_numbers(static_cast<int>(LineKind::notice), static_cast<int>(NoticeWhat::renamed)));
  EXPECT_FALSE(with_numbers(static_cast<int>(LineKind::private_message), 0));  // private lines do not travel
  EXPECT_FALSE(with_numbers(static_cast<int>(LineKind::private_echo), 0));
  EXPECT_FALSE(with_numbers(5, 0));
  EXPECT_FALSE(with_numbers(255, 0));
  EXPECT_FALSE(with_numbers(256, 0));  // would wrap to message as a uint8_t
  EXPECT_FALSE(with_numbers(0, static_cast<int>(NoticeWhat::renamed) + 1));
  EXPECT_FALSE(with_numbers(0, 256));  // would wrap to none
  EXPECT_FALSE(with_numbers(-1, 0));
  EXPECT_FALSE(with_numbers(0, -1));
}

// --- shard_of --------------------------------------------------------------

const std::vector<std::string> kUrls = {"redis://10.0.0.1:6379", "redis://10.0.0.2:6379", "redis://10.0.0.3:6379",
                                        "redis://10.0.0.4:6379", "redis://10.0.0.5:6379"};

std::vector<Address> shards(std::size_t n) {
  return net::redis::parse_urls(std::vector<std::string>(kUrls.begin(), kUrls.begin() + static_cast<long>(n)));
}

// Room keys as fold() makes them: lowercase names.
std::vector<std::string> room_keys(std::size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.push_back("room-" + std::to_string(i));
  return keys;
}

constexpr std::size_t kRooms = 4000;

TEST(ChatClusterShard, OneShardTakesEveryRoom) {
  const auto one = shards(1);
  EXPECT_EQ(shard_of("", one), 0u);
  for (const auto& key : room_keys(500)) EXPECT_EQ(shard_of(key, one), 0u) << key;
}

TEST(ChatClusterShard, EveryNodeComputesTheSameShard) {
  const auto a = shards(4);
  std::vector<Address> b;  // another node's, parsed one by one
  for (std::size_t i = 0; i < 4; ++i) b.push_back(net::redis::parse_url(kUrls[i]));
  ASSERT_EQ(a, b);
  for (const auto& key : room_keys(1000)) {
    const auto first = shard_of(key, a);
    ASSERT_LT(first, 4u);
    EXPECT_EQ(shard_of(key, a), first) << key;
    EXPECT_EQ(shard_of(key, b), first) << key;
  }
}

TEST(ChatClusterShard, RoomsSpreadOverTheShards) {
  const auto four = shards(4);
  std::array<std::size_t, 4> count{};
  for (const auto& key : room_keys(kRooms)) ++count.at(shard_of(key, four));
  for (std::size_t i = 0; i < count.size(); ++i) {
    EXPECT_GE(count[i], kRooms * 15 / 100) << "shard " << i;
    EXPECT_LE(count[i], kRooms * 35 / 100) << "shard " << i;
  }
}

TEST(ChatClusterShard, AShardAddedTakesOnlyTheRoomsItWins) {
  const auto four = shards(4), five = shards(5);
  std::size_t moved = 0;
  for (const auto& key : room_keys(kRooms)) {
    const auto before = shard_of(key, four), after = shard_of(key, five);
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, 4u) << key << " moved from " << before << " to an old shard";
    }
  }
  EXPECT_GE(moved, kRooms * 10 / 100);
  EXPECT_LE(moved, kRooms * 30 / 100);
}

TEST(ChatClusterShard, AShardRemovedGivesUpOnlyItsRooms) {
  const auto four = shards(4), three = shards(3);  // the last one gone
  std::size_t orphans = 0;
  for (const auto& key : room_keys(kRooms)) {
    const auto before = shard_of(key, four), after = shard_of(key, three);
    ASSERT_LT(after, 3u);
    if (before < 3) {
      EXPECT_EQ(after, before) << key;
    } else {
      ++orphans;
    }
  }
  EXPECT_GT(orphans, 0u);

  // One from the middle gone: the others keep their rooms, under their new
  // index (shard 3 is now at index 2).
  const std::vector<Address> without_second = {four[0], four[2], four[3]};
  const std::array<std::size_t, 4> new_index = {0, 99, 1, 2};
  for (const auto& key : room_keys(kRooms)) {
    const auto before = shard_of(key, four), after = shard_of(key, without_second);
    ASSERT_LT(after, 3u);
    if (before != 1) {
      EXPECT_EQ(after, new_index[before]) << key;
    }
  }
}

}  // namespace
}  // namespace enchufe::services::chat::cluster
