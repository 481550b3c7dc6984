#include "stats/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace enchufe::stats {
namespace {

TEST(ParseExposition, ReadsSamplesLabelsHelpAndType) {
  const auto e = parse_exposition(
      "# HELP enchufe_bytes_sent_total Bytes written to clients.\n"
      "# TYPE enchufe_bytes_sent_total counter\n"
      "enchufe_bytes_sent_total{service=\"echo\"} 1234\n"
      "enchufe_bytes_sent_total{service=\"greet\",kind=\"x\"} 5\n"
      "enchufe_uptime_seconds 4.26611695\n");
  EXPECT_TRUE(e.errors.empty());
  ASSERT_EQ(e.samples.size(), 3u);
  EXPECT_EQ(e.samples[0].name, "enchufe_bytes_sent_total");
  EXPECT_EQ(e.samples[0].label("service"), "echo");
  EXPECT_EQ(e.samples[0].value, 1234);
  EXPECT_EQ(e.samples[1].labels.size(), 2u);
  EXPECT_EQ(e.samples[1].label("kind"), "x");
  EXPECT_FALSE(e.samples[1].label("room"));
  EXPECT_EQ(e.samples[2].name, "enchufe_uptime_seconds");
  EXPECT_TRUE(e.samples[2].labels.empty());
  EXPECT_DOUBLE_EQ(e.samples[2].value, 4.26611695);
  EXPECT_EQ(e.type_of("enchufe_bytes_sent_total"), "counter");
  ASSERT_EQ(e.help.size(), 1u);
  EXPECT_EQ(e.help[0].second, "Bytes written to clients.");
}

TEST(ParseExposition, SpecialValuesExponentsAndTimestamps) {
  const auto e = parse_exposition(
      "a{le=\"1e-05\"} 3\n"
      "b +Inf\n"
      "c -Inf\n"
      "d NaN\n"
      "e 1.5e3 1700000000000\n"
      "f -0.25\n");
  ASSERT_TRUE(e.errors.empty()) << e.errors[0].message;
  ASSERT_EQ(e.samples.size(), 6u);
  EXPECT_EQ(parse_value(*e.samples[0].label("le")), 0.00001);
  EXPECT_TRUE(std::isinf(e.samples[1].value) && e.samples[1].value > 0);
  EXPECT_TRUE(std::isinf(e.samples[2].value) && e.samples[2].value < 0);
  EXPECT_TRUE(std::isnan(e.samples[3].value));
  EXPECT_EQ(e.samples[4].value, 1500);
  EXPECT_EQ(e.samples[4].timestamp_ms, 1700000000000LL);
  EXPECT_FALSE(e.samples[0].timestamp_ms);
  EXPECT_EQ(e.samples[5].value, -0.25);
}

TEST(ParseExposition, UnescapesLabelValues) {
  const auto e = parse_exposition(R"(m{path="C:\\dir",quote="say \"hi\"",nl="a\nb"} 1)"
                                  "\n");
  ASSERT_TRUE(e.errors.empty()) << e.errors[0].message;
  ASSERT_EQ(e.samples.size(), 1u);
  EXPECT_EQ(e.samples[0].label("path"), "C:\\dir");
  EXPECT_EQ(e.samples[0].label("quote"), "say \"hi\"");
  EXPECT_EQ(e.samples[0].label("nl"), "a\nb");
}

TEST(ParseExposition, ToleratesBlanksCrlfTrailingCommaAndOtherComments) {
  const auto e = parse_exposition(
      "\r\n"
      "# just a comment\n"
      "  m { a = \"1\" , b=\"2\", }   7   \r\n"
      "n\t8\n"
      "last 9");  // no final newline
  ASSERT_TRUE(e.errors.empty()) << e.errors[0].line << ": " << e.errors[0].message;
  ASSERT_EQ(e.samples.size(), 3u);
  EXPECT_EQ(e.samples[0].label("b"), "2");
  EXPECT_EQ(e.samples[0].value, 7);
  EXPECT_EQ(e.samples[1].value, 8);
  EXPECT_EQ(e.samples[2].value, 9);
}

TEST(ParseExposition, ReportsBadLinesWithTheirNumbersAndKeepsTheRest) {
  const auto e = parse_exposition(
      "good 1\n"
      "{service=\"x\"} 1\n"      // 2: no name
      "m{service=\"x} 1\n"       // 3: unterminated value
      "m{service=x} 1\n"         // 4: unquoted value
      "m{a=\"1\",a=\"2\"} 1\n"   // 5: label twice
      "m{a=\"\\t\"} 1\n"         // 6: unknown escape
      "m 12abc\n"                // 7: bad value
      "m\n"                      // 8: no value
      "m{a=\"1\"}2\n"            // 9: no space before the value
      "m 1 notatime\n"           // 10: bad timestamp
      "# TYPE m colour\n"        // 11: unknown type
      "also_good 2\n");
  ASSERT_EQ(e.samples.size(), 2u);
  EXPECT_EQ(e.samples[0].name, "good");
  EXPECT_EQ(e.samples[1].name, "also_good");
  ASSERT_EQ(e.errors.size(), 10u);
  for (std::size_t i = 0; i < e.errors.size(); ++i) EXPECT_EQ(e.errors[i].line, i + 2) << e.errors[i].message;
}

TEST(ParseValue, AcceptsTheFormatsSpellingsOnly) {
  EXPECT_EQ(parse_value("42"), 42);
  EXPECT_EQ(parse_value("+3.5"), 3.5);
  EXPECT_EQ(parse_value("1e-05"), 0.00001);
  EXPECT_FALSE(parse_value(""));
  EXPECT_FALSE(parse_value("+"));
  EXPECT_FALSE(parse_value("0x10"));
  EXPECT_FALSE(parse_value("1 2"));
  EXPECT_FALSE(parse_value("infinity"));
}

}  // namespace
}  // namespace enchufe::stats
