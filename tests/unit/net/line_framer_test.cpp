#include "net/line_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace enchufe::net {
namespace {

struct Line {
  std::string text, terminator;
  bool operator==(const Line&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Line& l) { return os << '{' << l.text << '|' << l.terminator.size() << '}'; }

// Feeds every chunk and collects the lines; an over-long line shows up as
// {"<too long>", ""}.
std::vector<Line> frame(LineFramer& framer, std::initializer_list<std::string_view> chunks) {
  std::vector<Line> out;
  for (auto chunk : chunks) {
    framer.feed(
        chunk,
        [&](std::string_view text, std::string_view term) {
          out.push_back({std::string(text), std::string(term)});
          return true;
        },
        [&] {
          out.push_back({"<too long>", ""});
          return true;
        });
  }
  return out;
}

const Line kTooLong{"<too long>", ""};

TEST(LineFramer, OneLine) {
  LineFramer f(100);
  EXPECT_EQ(frame(f, {"hola\n"}), (std::vector<Line>{{"hola", "\n"}}));
  EXPECT_FALSE(f.has_pending());
}

TEST(LineFramer, KeepsCrLfAsTheTerminator) {
  LineFramer f(100);
  EXPECT_EQ(frame(f, {"hola\r\n"}), (std::vector<Line>{{"hola", "\r\n"}}));
}

TEST(LineFramer, PipelinedLinesInOneReadComeOutInOrder) {
  LineFramer f(100);
  EXPECT_EQ(frame(f, {"a\nb\r\n\nc\n"}), (std::vector<Line>{{"a", "\n"}, {"b", "\r\n"}, {"", "\n"}, {"c", "\n"}}));
}

TEST(LineFramer, LineSplitAcrossReads) {
  LineFramer f(100);
  EXPECT_EQ(frame(f, {"ho", "la", " mundo\nsig"}), (std::vector<Line>{{"hola mundo", "\n"}}));
  EXPECT_EQ(f.pending(), "sig");
}

TEST(LineFramer, CrLfSplitBetweenReads) {
  LineFramer f(100);
  EXPECT_EQ(frame(f, {"hola\r", "\nx\n"}), (std::vector<Line>{{"hola", "\r\n"}, {"x", "\n"}}));
}

TEST(LineFramer, BytesWithoutNewlineStayPending) {
  // The tutorial's client: "Hola servidor" and no newline.
  LineFramer f(100);
  EXPECT_TRUE(frame(f, {"Hola servidor"}).empty());
  EXPECT_TRUE(f.has_pending());
  EXPECT_EQ(f.pending(), "Hola servidor");
  f.clear_pending();
  EXPECT_FALSE(f.has_pending());
}

TEST(LineFramer, LoneCarriageReturnIsContent) {
  LineFramer f(100);
  EXPECT_EQ(frame(f, {"a\rb\n"}), (std::vector<Line>{{"a\rb", "\n"}}));
}

TEST(LineFramer, LineOfExactlyTheMaximumIsAccepted) {
  LineFramer f(5);
  EXPECT_EQ(frame(f, {"12345\n"}), (std::vector<Line>{{"12345", "\n"}}));
  EXPECT_EQ(frame(f, {"12345\r\n"}), (std::vector<Line>{{"12345", "\r\n"}}));
  EXPECT_EQ(frame(f, {"123", "45\r", "\n"}), (std::vector<Line>{{"12345", "\r\n"}}));
}

TEST(LineFramer, OverLongCompleteLineIsReportedNotDelivered) {
  LineFramer f(5);
  EXPECT_EQ(frame(f, {"123456\n"}), (std::vector<Line>{kTooLong}));
}

TEST(LineFramer, OverLongUnfinishedLineIsReportedBeforeItsNewline) {
  // A client streaming megabytes without a newline is stopped at the limit,
  // not buffered until it stops.
  LineFramer f(5);
  EXPECT_EQ(frame(f, {"123", "4567"}), (std::vector<Line>{kTooLong}));
  EXPECT_FALSE(f.has_pending());
}

TEST(LineFramer, OverLongLineAssembledAcrossReadsIsReported) {
  LineFramer f(5);
  EXPECT_EQ(frame(f, {"1234", "56\n"}), (std::vector<Line>{kTooLong}));
}

TEST(LineFramer, AfterAnOverLongLineFramingGoesOnAtTheNextLine) {
  // The chat keeps the connection: the rest of the long line is skipped,
  // however many reads it takes, and the next line is delivered.
  LineFramer f(3);
  EXPECT_EQ(frame(f, {"ok\ntoolong", std::string(100, 'x'), "xx\nnxt\n"}),
            (std::vector<Line>{{"ok", "\n"}, kTooLong, {"nxt", "\n"}}));
}

TEST(LineFramer, TooLongCallbackCanStopTheRest) {
  // Echo closes on an over-long line: nothing after it is processed.
  LineFramer f(3);
  std::vector<std::string> seen;
  f.feed(
      "toolong\nnext\n", [&](std::string_view text, std::string_view) {
        seen.emplace_back(text);
        return true;
      },
      [] { return false; });
  EXPECT_TRUE(seen.empty());
}

TEST(LineFramer, CallbackCanStopTheRest) {
  // After "salir" nothing else in the same read is processed.
  LineFramer f(100);
  std::vector<std::string> seen;
  f.feed(
      "a\nsalir\nb\n",
      [&](std::string_view text, std::string_view) {
        seen.emplace_back(text);
        return text != "salir";
      },
      [] { return true; });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "salir"}));
}

TEST(LineFramer, EmptyInputDoesNothing) {
  LineFramer f(100);
  EXPECT_TRUE(frame(f, {""}).empty());
  EXPECT_FALSE(f.has_pending());
}

}  // namespace
}  // namespace enchufe::net
