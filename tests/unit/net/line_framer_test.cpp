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

// Feeds every chunk and collects the lines.
std::vector<Line> frame(LineFramer& framer, std::initializer_list<std::string_view> chunks,
                        LineFramer::Status* last = nullptr) {
  std::vector<Line> out;
  for (auto chunk : chunks) {
    const auto status = framer.feed(chunk, [&](std::string_view text, std::string_view term) {
      out.push_back({std::string(text), std::string(term)});
      return true;
    });
    if (last) *last = status;
  }
  return out;
}

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
  LineFramer::Status status{};
  EXPECT_EQ(frame(f, {"12345\n"}, &status), (std::vector<Line>{{"12345", "\n"}}));
  EXPECT_EQ(status, LineFramer::Status::ok);
  EXPECT_EQ(frame(f, {"12345\r\n"}, &status), (std::vector<Line>{{"12345", "\r\n"}}));
  EXPECT_EQ(status, LineFramer::Status::ok);
}

TEST(LineFramer, OverLongCompleteLineIsRejected) {
  LineFramer f(5);
  LineFramer::Status status{};
  EXPECT_TRUE(frame(f, {"123456\n"}, &status).empty());
  EXPECT_EQ(status, LineFramer::Status::line_too_long);
}

TEST(LineFramer, OverLongUnfinishedLineIsRejectedBeforeItsNewline) {
  // A client streaming megabytes without a newline is stopped at the limit,
  // not buffered until it stops.
  LineFramer f(5);
  LineFramer::Status status{};
  frame(f, {"123", "456"}, &status);
  EXPECT_EQ(status, LineFramer::Status::line_too_long);
}

TEST(LineFramer, OverLongLineAssembledAcrossReadsIsRejected) {
  LineFramer f(5);
  LineFramer::Status status{};
  EXPECT_TRUE(frame(f, {"1234", "56\n"}, &status).empty());
  EXPECT_EQ(status, LineFramer::Status::line_too_long);
}

TEST(LineFramer, LinesBeforeAnOverLongOneAreDelivered) {
  LineFramer f(3);
  LineFramer::Status status{};
  EXPECT_EQ(frame(f, {"ok\ntoolong\n"}, &status), (std::vector<Line>{{"ok", "\n"}}));
  EXPECT_EQ(status, LineFramer::Status::line_too_long);
}

TEST(LineFramer, CallbackCanStopTheRest) {
  // After "salir" nothing else in the same read is processed.
  LineFramer f(100);
  std::vector<std::string> seen;
  f.feed("a\nsalir\nb\n", [&](std::string_view text, std::string_view) {
    seen.emplace_back(text);
    return text != "salir";
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "salir"}));
}

TEST(LineFramer, EmptyInputDoesNothing) {
  LineFramer f(100);
  EXPECT_TRUE(frame(f, {""}).empty());
  EXPECT_FALSE(f.has_pending());
}

}  // namespace
}  // namespace enchufe::net
