// A chat line's two encodings: the terminal's text, byte for byte as the
// TCP chat has always sent it, and the web's JSON event (docs/web.md).
#include "services/chat/lines.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <regex>

namespace enchufe::services::chat {
namespace {

namespace json = boost::json;

// 2026-12-01 12:04:05.123 UTC
const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'796'126'645'123));

ChatLine encoded(std::shared_ptr<ChatLine> line, std::uint64_t id = 0) {
  line->time = kTime;
  line->id = id;
  encode(*line, {});
  return *line;
}

json::object event_of(const ChatLine& line) {
  auto value = json::parse(line.as_json);
  return value.as_object();
}

TEST(ChatLines, TerminalFormsAreTheTutorialChatsBytes) {
  EXPECT_EQ(encoded(said_line(LineKind::message, "general", "ana", "hola")).as_text, "[12:04:05] <ana> hola\n");
  EXPECT_EQ(encoded(said_line(LineKind::action, "general", "ana", "waves")).as_text, "[12:04:05] * ana waves\n");
  EXPECT_EQ(encoded(notice_line("general", NoticeWhat::joined, "ana", {}, "ana joined general")).as_text,
            "[12:04:05] * ana joined general\n");
  EXPECT_EQ(encoded(private_line(LineKind::private_message, "ana", "bob", "psst")).as_text,
            "[12:04:05] *ana* psst\n");
  EXPECT_EQ(encoded(private_line(LineKind::private_echo, "ana", "bob", "psst")).as_text,
            "[12:04:05] -> *bob* psst\n");
}

TEST(ChatLines, UserTextIsSanitisedOnceForBothForms) {
  const auto line = encoded(said_line(LineKind::message, "general", "ana", "\x1b[31mrojo\xff"), 3);
  EXPECT_EQ(line.text, "^[[31mrojo\xEF\xBF\xBD");
  EXPECT_EQ(line.as_text, "[12:04:05] <ana> ^[[31mrojo\xEF\xBF\xBD\n");
  EXPECT_EQ(event_of(line).at("text").as_string(), "^[[31mrojo\xEF\xBF\xBD");
}

TEST(ChatLines, JsonEventsCarryTheirFields) {
  const auto message = event_of(encoded(said_line(LineKind::message, "general", "ana", "<b>\"hola\"</b>"), 41));
  EXPECT_EQ(json::serialize(message),
            R"({"type":"message","room":"general","id":41,"nick":"ana","text":"<b>\"hola\"</b>","ts":"2026-12-01T12:04:05.123Z"})");
  const auto renamed =
      event_of(encoded(notice_line("general", NoticeWhat::renamed, "guest-1", "ana", "guest-1 is now known as ana"), 7));
  EXPECT_EQ(renamed.at("type").as_string(), "notice");
  EXPECT_EQ(renamed.at("what").as_string(), "renamed");
  EXPECT_EQ(renamed.at("nick").as_string(), "guest-1");
  EXPECT_EQ(renamed.at("to").as_string(), "ana");
  const auto plain = event_of(encoded(notice_line("general", NoticeWhat::none, {}, {}, "something happened"), 8));
  EXPECT_FALSE(plain.contains("what"));
  EXPECT_FALSE(plain.contains("nick"));
  const auto secret = event_of(encoded(private_line(LineKind::private_echo, "ana", "bob", "psst")));
  EXPECT_EQ(secret.at("type").as_string(), "private");
  EXPECT_EQ(secret.at("nick").as_string(), "ana");
  EXPECT_EQ(secret.at("to").as_string(), "bob");
  EXPECT_FALSE(secret.contains("room"));
  EXPECT_FALSE(secret.contains("id"));
}

TEST(ChatLines, UtcTimestampsHaveMilliseconds) {
  EXPECT_EQ(utc_timestamp(kTime), "2026-12-01T12:04:05.123Z");
  EXPECT_EQ(utc_timestamp(kTime + std::chrono::milliseconds(877)), "2026-12-01T12:04:06.000Z");
  EXPECT_EQ(utc_timestamp(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(ChatLines, EncodingsShareTheLinesLife) {
  SharedLine line = [] {
    auto l = said_line(LineKind::message, "general", "ana", "hola");
    encode(*l, {});
    return l;
  }();
  const net::SharedText text = text_of(line);
  const net::SharedText event = json_of(line);
  line.reset();
  EXPECT_EQ(text->substr(11), "<ana> hola\n") << "the text outlives the caller's reference";
  EXPECT_EQ(event->front(), '{');
}


// A line read back from the store's queue is a copy of an encoded one: the
// hub encodes it again, and must get the same bytes, not twice the text.
TEST(ChatLines, EncodingAgainGivesTheSameForms) {
  auto line = said_line(LineKind::message, "general", "ana", "hola");
  encode(*line, {});
  const std::string text = line->as_text, json = line->as_json;
  ChatLine copy = *line;
  encode(copy, {});
  EXPECT_EQ(copy.as_text, text);
  EXPECT_EQ(copy.as_json, json);
}

}  // namespace
}  // namespace enchufe::services::chat
