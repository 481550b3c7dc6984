#include "stats/render.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace enchufe::stats {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

View sample_view() {
  View v;
  v.seconds = 1.0;
  v.uptime_seconds = 65;
  ServiceRates echo;
  echo.name = "echo";
  echo.connections = 12;
  echo.active = 5;
  echo.messages_in = 1200;
  echo.messages_out = 1200;
  echo.bytes_in = 16400;
  echo.bytes_out = 22300;
  echo.accepted_total = 50;
  echo.refused_total = 1;
  echo.messages_in_total = 500;
  echo.messages_out_total = 499;
  echo.bytes_in_total = 6010;
  echo.bytes_out_total = 8472;
  echo.errors_total = 1;
  echo.errors_recent = 1;
  echo.errors = {{"too_long", 1, 1}};
  echo.replies = 200;
  echo.p50 = LatencyEstimate{0.000048};
  echo.p99 = LatencyEstimate{0.00125};
  ServiceRates udp;
  udp.name = "udp-echo";
  udp.udp = true;
  udp.messages_in = 3;
  udp.messages_in_total = 3;
  v.services = {echo, udp};
  v.chat_rooms = 2;
  v.room_members = {{"general", 3}, {"dev", 1}};
  return v;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

TEST(Render, PlainBlockWithRatesTotalsErrorsAndRooms) {
  const auto text = render(sample_view(), {"http://127.0.0.1:9100/metrics", "12:00:03 UTC", false});
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_EQ(text.substr(text.size() - 2), "\n\n");  // blocks are separated by an empty line
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 12u) << text;
  EXPECT_EQ(lines[0], "enchufe stats: http://127.0.0.1:9100/metrics at 12:00:03 UTC; server up 1m05s");
  EXPECT_EQ(lines[1], "per second over the last 1.0 s");
  EXPECT_THAT(text, HasSubstr("conn/s"));
  // One row per service in each table, in order; UDP has no connections.
  EXPECT_THAT(text, HasSubstr("\n"
                              "service    conn/s  active   msg in/s  msg out/s     B in/s    B out/s  errors      p50      p99\n"
                              "echo         12.0       5       1.2k       1.2k      16.4k      22.3k       1     48us   1.25ms\n"
                              "udp-echo        -       -        3.0          0          0          0       0        -        -\n"
                              "\n"));
  EXPECT_THAT(text, HasSubstr("\n"
                              "totals      accepted  refused   msgs in  msgs out    bytes in   bytes out  errors\n"
                              "echo              50        1       500       499        6010        8472       1\n"
                              "udp-echo           -        -         3         0           0           0       0\n"
                              "\n"));
  EXPECT_THAT(text, HasSubstr("\nerrors: echo too_long 1 (+1)\n"));
  EXPECT_THAT(text, HasSubstr("\nchat: 2 rooms; members: general 3, dev 1\n"));
}

TEST(Render, PercentilesOutsideTheBucketsAreBounds) {
  auto v = sample_view();
  v.services[0].p50 = LatencyEstimate{0.00001, LatencyEstimate::Kind::at_most};
  v.services[0].p99 = LatencyEstimate{1, LatencyEstimate::Kind::above};
  EXPECT_THAT(render(v, {"u", "c", false}), HasSubstr("       1   <=10us   >1.00s\n"));
}

TEST(Render, TheFirstViewSaysItAveragesSinceTheStart) {
  auto v = sample_view();
  v.since_start = true;
  EXPECT_THAT(render(v, {"u", "c", false}), HasSubstr("averages since the server started"));
  v.since_start = false;
  v.counters_reset = true;
  EXPECT_THAT(render(v, {"u", "c", false}), HasSubstr("the server restarted"));
}

TEST(Render, OnATerminalRedrawsInPlace) {
  const auto text = render(sample_view(), {"u", "c", true});
  EXPECT_EQ(text.substr(0, 3), "\x1b[H");
  EXPECT_EQ(text.substr(text.size() - 3), "\x1b[J");
  for (const auto& line : lines_of(text.substr(3))) EXPECT_EQ(line.substr(line.size() - 3), "\x1b[K") << line;
}

TEST(Render, SaysSoWhenThereIsNothingToShow) {
  View v;
  EXPECT_THAT(render(v, {"u", "c", false}), HasSubstr("no enchufe services"));
}

TEST(Render, LongServiceNamesWidenTheFirstColumn) {
  auto v = sample_view();
  v.services[0].name = "a-very-long-service-name";
  const auto text = render(v, {"u", "c", false});
  EXPECT_THAT(text, HasSubstr("\na-very-long-service-name     12.0"));
}

TEST(Formats, Numbers) {
  EXPECT_EQ(format_rate(0), "0");
  EXPECT_EQ(format_rate(0.25), "0.2");
  EXPECT_EQ(format_rate(999.94), "999.9");
  EXPECT_EQ(format_rate(16400), "16.4k");
  EXPECT_EQ(format_rate(2.1e6), "2.1M");
  EXPECT_EQ(format_rate(3e9), "3.0G");
  EXPECT_EQ(format_rate(std::numeric_limits<double>::quiet_NaN()), "?");
  EXPECT_EQ(format_count(1338245139), "1338245139");
  EXPECT_EQ(format_latency(0.0000049), "5us");
  EXPECT_EQ(format_latency(0.000048), "48us");
  EXPECT_EQ(format_latency(0.00125), "1.25ms");
  EXPECT_EQ(format_latency(2), "2.00s");
  EXPECT_EQ(format_uptime(59.9), "59s");
  EXPECT_EQ(format_uptime(65), "1m05s");
  EXPECT_EQ(format_uptime(7380), "2h03m");
  EXPECT_EQ(format_uptime(273600), "3d04h");
}

}  // namespace
}  // namespace enchufe::stats
