// The RESP layer over hiredis: replies however the bytes are split, every
// reply type, a stream that is not RESP, and commands framed binary-safe.

#include "net/redis/resp.hpp"

#include <gtest/gtest.h>

using namespace enchufe::net::redis;

TEST(RedisResp, RepliesComeWholeHoweverTheBytesAreSplit) {
  const std::string stream =
      "+OK\r\n:42\r\n$-1\r\n-ERR wrong\r\n$5\r\na\r\nbc\r\n*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$2\r\nhi\r\n";
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    ReplyReader reader;
    std::vector<Reply> got;
    for (std::size_t at = 0; at < stream.size(); at += step) {
      reader.feed(std::string_view(stream).substr(at, step));
      while (auto reply = reader.next()) got.push_back(std::move(*reply));
    }
    ASSERT_EQ(got.size(), 6u) << "fed " << step << " bytes at a time";
    EXPECT_EQ(got[0].type, Reply::Type::status);
    EXPECT_EQ(got[0].text, "OK");
    EXPECT_EQ(got[1].integer, 42);
    EXPECT_EQ(got[2].type, Reply::Type::nil);
    EXPECT_TRUE(got[3].is_error());
    EXPECT_EQ(got[3].text, "ERR wrong");
    EXPECT_EQ(got[4].text, "a\r\nbc");
    EXPECT_EQ(got[5].kind(), "message");
    ASSERT_EQ(got[5].elements.size(), 3u);
    EXPECT_EQ(got[5].elements[2].text, "hi");
  }
}

TEST(RedisResp, NotRespIsAnError) {
  ReplyReader reader;
  reader.feed("HTTP/1.1 400 Bad Request\r\n");
  EXPECT_THROW(reader.next(), std::runtime_error);
  reader.reset();
  reader.feed(":1\r\n");
  EXPECT_EQ(reader.next()->integer, 1);
}

TEST(RedisResp, KindIsOnlyForArraysThatStartWithAString) {
  ReplyReader reader;
  reader.feed("*1\r\n:1\r\n*0\r\n$7\r\nmessage\r\n");
  EXPECT_EQ(reader.next()->kind(), "");
  EXPECT_EQ(reader.next()->kind(), "");
  EXPECT_EQ(reader.next()->kind(), "");
}

TEST(RedisResp, CommandsAreFramedAsBulkStrings) {
  std::string out;
  append_command(out, {"PUBLISH", "room", std::string_view("a b\r\n\0", 6)});
  constexpr char kFramed[] = "*3\r\n$7\r\nPUBLISH\r\n$4\r\nroom\r\n$6\r\na b\r\n\0\r\n";
  EXPECT_EQ(out, std::string(kFramed, sizeof kFramed - 1));
  append_command(out, std::vector<std::string_view>{"PING"});
  EXPECT_TRUE(out.ends_with("*1\r\n$4\r\nPING\r\n"));
}
