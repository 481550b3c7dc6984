#include "net/text.hpp"

#include <gtest/gtest.h>

namespace enchufe::net {
namespace {

TEST(Trim, StripsAsciiWhitespaceBothEnds) {
  EXPECT_EQ(trim("  hola \r\n"), "hola");
  EXPECT_EQ(trim("\t\v\f"), "");
  EXPECT_EQ(trim("a b"), "a b");
}

TEST(IsWord, IgnoresCaseAndSurroundingSpace) {
  EXPECT_TRUE(is_word("salir", "salir"));
  EXPECT_TRUE(is_word("SALIR", "salir"));
  EXPECT_TRUE(is_word("  Salir \r", "salir"));
  EXPECT_FALSE(is_word("salir ya", "salir"));
  EXPECT_FALSE(is_word("sali", "salir"));
  EXPECT_FALSE(is_word("", "salir"));
}

TEST(Preview, QuotesAndEscapesControlBytes) {
  EXPECT_EQ(preview("hola"), "\"hola\"");
  EXPECT_EQ(preview("a\r\n\t\"\\"), "\"a\\r\\n\\t\\\"\\\\\"");
  EXPECT_EQ(preview(std::string_view("\x1b[31m\0", 6)), "\"\\x1b[31m\\x00\"");
}

TEST(Preview, KeepsUtf8Readable) { EXPECT_EQ(preview("¿Cómo estás?"), "\"¿Cómo estás?\""); }

TEST(Preview, ShortensLongText) {
  const std::string long_text(100, 'x');
  EXPECT_EQ(preview(long_text, 4), "\"xxxx\"... (100 bytes)");
}

}  // namespace
}  // namespace enchufe::net
