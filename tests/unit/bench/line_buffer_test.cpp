// bench::LineBuffer: whole lines out, reads in, a partial line kept across
// reads, the buffer compacted or grown, and a line over the limit refused.

#include "bench/line_buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

using enchufe::bench::LineBuffer;

namespace {

// Copies `bytes` into the buffer as one read would; false if there was no room.
bool feed(LineBuffer& in, std::string_view bytes) {
  const auto space = in.space();
  if (space.size() < bytes.size()) return false;
  std::memcpy(space.data(), bytes.data(), bytes.size());
  in.filled(bytes.size());
  return true;
}

}  // namespace

TEST(LineBuffer, GivesEveryCompleteLineWithItsNewlineAndKeepsThePartialOne) {
  LineBuffer in(64, 1024);
  EXPECT_EQ(in.next_line(), std::nullopt);
  ASSERT_TRUE(feed(in, "uno\ndos\r\ntr"));
  EXPECT_EQ(in.next_line(), "uno\n");
  EXPECT_EQ(in.next_line(), "dos\r\n");
  EXPECT_EQ(in.next_line(), std::nullopt);
  ASSERT_TRUE(feed(in, "es\n"));
  EXPECT_EQ(in.next_line(), "tres\n");
  EXPECT_EQ(in.next_line(), std::nullopt);
}

TEST(LineBuffer, FullBufferMovesThePartialLineToTheFront) {
  LineBuffer in(8, 8);
  ASSERT_TRUE(feed(in, "ab\ncdefg"));  // full: 8 of 8
  EXPECT_EQ(in.next_line(), "ab\n");
  EXPECT_EQ(in.space().size(), 3u);  // "cdefg" moved to the front, no growth
  ASSERT_TRUE(feed(in, "h\n"));
  EXPECT_EQ(in.next_line(), "cdefgh\n");
}

TEST(LineBuffer, ALongLineGrowsTheBufferUpToTheLimitThenIsRefused) {
  LineBuffer in(4, 16);
  ASSERT_TRUE(feed(in, "aaaa"));
  EXPECT_EQ(in.space().size(), 4u);  // doubled to 8
  ASSERT_TRUE(feed(in, "aaaa"));
  EXPECT_EQ(in.space().size(), 8u);  // doubled to 16
  ASSERT_TRUE(feed(in, "aaaaaaaa"));
  EXPECT_EQ(in.space().size(), 0u);  // 16 bytes and still no newline: over the limit
  EXPECT_EQ(in.next_line(), std::nullopt);
}
