#include "services/chat/names.hpp"

#include <gtest/gtest.h>

namespace enchufe::services::chat {
namespace {

TEST(Nickname, AcceptsLettersDigitsAndUnderscoreDashDot) {
  for (const char* ok : {"a", "ana", "Ana_42", "x-y.z", "123456789012345678901234"}) {
    EXPECT_TRUE(valid_nickname(ok)) << ok;
  }
}

TEST(Nickname, RejectsEmptyLongAndOtherCharacters) {
  for (const char* bad : {"", "1234567890123456789012345", "ana maria", "ana!", "<ana>", "ñandú", "a\x1b", "#ana"}) {
    EXPECT_FALSE(valid_nickname(bad)) << bad;
  }
}

TEST(RoomName, DropsALeadingHashAndValidates) {
  EXPECT_EQ(room_name("#dev"), "dev");
  EXPECT_EQ(room_name("dev"), "dev");
  EXPECT_TRUE(valid_room_name("dev"));
  EXPECT_FALSE(valid_room_name(""));
  EXPECT_FALSE(valid_room_name(room_name("#")));
  EXPECT_FALSE(valid_room_name("a room"));
  EXPECT_FALSE(valid_room_name(std::string(33, 'r')));
}

TEST(Fold, IgnoresAsciiCase) {
  EXPECT_EQ(fold("AnA_1"), "ana_1");
  EXPECT_EQ(fold("ana"), fold("ANA"));
}

}  // namespace
}  // namespace enchufe::services::chat
