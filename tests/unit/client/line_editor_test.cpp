#include "client/line_editor.hpp"

#include <gtest/gtest.h>

namespace enchufe::client {
namespace {

using Event = LineEditor::Event;

// Feeds keys and returns the last event that was not `none`.
Event type(LineEditor& e, std::string_view keys) {
  Event last = Event::none;
  for (unsigned char c : keys) {
    const Event ev = e.feed(c);
    if (ev != Event::none) last = ev;
  }
  return last;
}

constexpr std::string_view kLeft = "\x1b[D", kRight = "\x1b[C", kUp = "\x1b[A", kDown = "\x1b[B";
constexpr std::string_view kHome = "\x1b[H", kEnd = "\x1b[F", kDelete = "\x1b[3~";

TEST(LineEditor, TypingInsertsAndEnterEndsTheLine) {
  LineEditor e;
  EXPECT_EQ(type(e, "hola"), Event::changed);
  EXPECT_EQ(e.line(), "hola");
  EXPECT_EQ(e.cursor(), 4u);
  EXPECT_EQ(type(e, "\r"), Event::line);
  EXPECT_EQ(e.take_line(), "hola");
  EXPECT_EQ(e.line(), "");
  EXPECT_EQ(e.cursor(), 0u);
}

TEST(LineEditor, CursorMovesAndInsertsInTheMiddle) {
  LineEditor e;
  type(e, "hla");
  type(e, std::string(kLeft) + std::string(kLeft) + "o");
  EXPECT_EQ(e.line(), "hola");
  EXPECT_EQ(e.cursor(), 2u);
  type(e, kHome);
  EXPECT_EQ(e.cursor(), 0u);
  type(e, kEnd);
  EXPECT_EQ(e.cursor(), 4u);
  type(e, "\x01");  // Ctrl-A
  EXPECT_EQ(e.cursor(), 0u);
  type(e, "\x05");  // Ctrl-E
  EXPECT_EQ(e.cursor(), 4u);
  EXPECT_EQ(type(e, kRight), Event::none) << "nothing to the right of the end";
}

TEST(LineEditor, MovesOverWholeUtf8Characters) {
  LineEditor e;
  type(e, "añb");
  type(e, kLeft);
  type(e, kLeft);
  EXPECT_EQ(e.cursor(), 1u) << "before the two bytes of ñ";
  type(e, "\x7f");  // Backspace deletes 'a'
  EXPECT_EQ(e.line(), "ñb");
  type(e, kDelete);  // deletes both bytes of ñ
  EXPECT_EQ(e.line(), "b");
}

TEST(LineEditor, DeletionKeys) {
  LineEditor e;
  type(e, "uno dos tres");
  type(e, "\x17");  // Ctrl-W: the word before the cursor
  EXPECT_EQ(e.line(), "uno dos ");
  type(e, "\x08");  // Ctrl-H is Backspace too
  EXPECT_EQ(e.line(), "uno dos");
  type(e, "\x01\x06\x06\x06\x06");  // Home, then four Ctrl-F
  type(e, "\x0b");                  // Ctrl-K: to the end
  EXPECT_EQ(e.line(), "uno ");
  type(e, "\x15");  // Ctrl-U: to the start
  EXPECT_EQ(e.line(), "");
}

TEST(LineEditor, CtrlDEndsInputOnlyOnAnEmptyLine) {
  LineEditor e;
  type(e, "ab\x01");
  EXPECT_EQ(type(e, "\x04"), Event::changed);
  EXPECT_EQ(e.line(), "b");
  type(e, "\x04");
  EXPECT_EQ(type(e, "\x04"), Event::end_of_input);
}

TEST(LineEditor, CtrlCAndCtrlL) {
  LineEditor e;
  EXPECT_EQ(type(e, "\x03"), Event::interrupt);
  EXPECT_EQ(type(e, "\x0c"), Event::clear_screen);
}

TEST(LineEditor, HistoryWithArrowsKeepsTheDraft) {
  LineEditor e;
  type(e, "primera\r");
  e.take_line();
  type(e, "segunda\r");
  e.take_line();
  type(e, "borrador");
  type(e, kUp);
  EXPECT_EQ(e.line(), "segunda");
  type(e, kUp);
  EXPECT_EQ(e.line(), "primera");
  EXPECT_EQ(type(e, kUp), Event::none) << "nothing older";
  type(e, kDown);
  type(e, kDown);
  EXPECT_EQ(e.line(), "borrador");
  EXPECT_EQ(e.cursor(), 8u);
}

TEST(LineEditor, HistorySkipsEmptyAndRepeatedLinesAndIsBounded) {
  LineEditor e(2);
  for (const char* l : {"a", "a", "", "b", "c"}) {
    type(e, l);
    type(e, "\r");
    e.take_line();
  }
  type(e, kUp);
  EXPECT_EQ(e.line(), "c");
  type(e, kUp);
  EXPECT_EQ(e.line(), "b");
  EXPECT_EQ(type(e, kUp), Event::none) << "only the last two are kept";
}

TEST(LineEditor, UnknownEscapeSequencesAreIgnored) {
  LineEditor e;
  type(e, "x\x1b[15~\x1bOP\x1b" "ay");  // F5, F1, Alt-a
  EXPECT_EQ(e.line(), "xy");
}

TEST(LineEditor, TabBecomesASpaceAndOtherControlsAreIgnored) {
  LineEditor e;
  type(e, "a\tb\x07\x02");  // BEL ignored, Ctrl-B moves left
  EXPECT_EQ(e.line(), "a b");
  EXPECT_EQ(e.cursor(), 2u);
}

TEST(LineEditor, RenderDrawsPromptLineAndCursor) {
  LineEditor e;
  type(e, "hola");
  EXPECT_EQ(e.render("Tú: "), "\r\x1b[KTú: hola");
  type(e, kLeft);
  type(e, kLeft);
  EXPECT_EQ(e.render("> "), "\r\x1b[K> hola\x1b[2D");
  LineEditor utf8;
  type(utf8, "ñu");
  type(utf8, kLeft);
  type(utf8, kLeft);
  EXPECT_EQ(utf8.render(""), "\r\x1b[Kñu\x1b[2D") << "characters, not bytes";
}

}  // namespace
}  // namespace enchufe::client
