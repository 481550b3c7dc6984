#include "services/chat/sanitize.hpp"

#include <gtest/gtest.h>

namespace enchufe::services::chat {
namespace {

TEST(Sanitize, PlainAndUtf8TextPassesUnchanged) {
  EXPECT_EQ(sanitized("hola, ¿cómo estás? 日本語 🙂"), "hola, ¿cómo estás? 日本語 🙂");
}

TEST(Sanitize, AnsiEscapesBecomeVisible) {
  // ESC [ 2 J would clear the recipient's screen.
  EXPECT_EQ(sanitized("\x1b[2J\x1b]0;pwned\x07"), "^[[2J^[]0;pwned^G");
}

TEST(Sanitize, ControlCharactersBecomeCaretNotation) {
  EXPECT_EQ(sanitized(std::string_view("a\0b\rc\x7f", 6)), "a^@b^Mc^?");
  EXPECT_EQ(sanitized("\x08\x08\x08"), "^H^H^H");
}

TEST(Sanitize, TabBecomesASpace) { EXPECT_EQ(sanitized("a\tb"), "a b"); }

TEST(Sanitize, C1ControlsAreReplaced) {
  // U+009B is CSI, which some terminals honour like ESC [.
  EXPECT_EQ(sanitized("\xC2\x9B" "31m"), "\xEF\xBF\xBD" "31m");
}

TEST(Sanitize, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(sanitized("a\xFFz"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(sanitized("\xC3"), "\xEF\xBF\xBD");                      // truncated sequence
  EXPECT_EQ(sanitized("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");      // overlong '/'
  EXPECT_EQ(sanitized("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitized("\xF4\x90\x80\x80").substr(0, 3), "\xEF\xBF\xBD");  // past U+10FFFF
}

TEST(Sanitize, BidiOverridesAreDropped) {
  // U+202E RIGHT-TO-LEFT OVERRIDE would make "txt.exe" read as "exe.txt".
  EXPECT_EQ(sanitized("a\xE2\x80\xAE" "b\xE2\x81\xA6" "c"), "abc");
}

TEST(Sanitize, AppendsToWhatIsThere) {
  std::string out = "[12:00:00] <ana> ";
  append_sanitized(out, "hi\x1b");
  EXPECT_EQ(out, "[12:00:00] <ana> hi^[");
}

}  // namespace
}  // namespace enchufe::services::chat
