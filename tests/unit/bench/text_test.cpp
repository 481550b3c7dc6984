#include "bench/report.hpp"
#include "bench/text.hpp"
#include "net/errors.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

namespace enchufe::bench {
namespace {

using namespace std::chrono_literals;

TEST(BenchEscapes, DecodesTheCommonOnes) {
  EXPECT_EQ(decode_escapes("PING\\r\\n"), "PING\r\n");
  EXPECT_EQ(decode_escapes("a\\tb\\\\c"), "a\tb\\c");
  EXPECT_EQ(decode_escapes("\\x1b[0m\\x41"), "\x1b[0mA");
  EXPECT_EQ(decode_escapes(std::string_view("x\\0y")), std::string("x\0y", 3));
  EXPECT_EQ(decode_escapes("plain {c} {n}"), "plain {c} {n}");
}

TEST(BenchEscapes, RejectsTypos) {
  EXPECT_THROW(decode_escapes("a\\q"), UsageError);
  EXPECT_THROW(decode_escapes("a\\"), UsageError);
  EXPECT_THROW(decode_escapes("\\x4"), UsageError);
  EXPECT_THROW(decode_escapes("\\xzz"), UsageError);
}

TEST(BenchSizes, UnitsArePowersOf1024) {
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_EQ(parse_size("100B"), 100u);
  EXPECT_EQ(parse_size("64k"), 65536u);
  EXPECT_EQ(parse_size("64KiB"), 65536u);
  EXPECT_EQ(parse_size("64KB"), 65536u);
  EXPECT_EQ(parse_size("1M"), 1048576u);
  EXPECT_EQ(parse_size("1.5k"), 1536u);
  EXPECT_EQ(parse_size("2G"), 2147483648u);
  EXPECT_EQ(parse_size("0"), 0u);
}

TEST(BenchSizes, RejectsNonsense) {
  for (const char* bad : {"", "k", "-1", "12q", "1.3", "1kk", "1 MiBs"}) {
    EXPECT_THROW(parse_size(bad), UsageError) << bad;
  }
}

TEST(BenchDurations, SecondsByDefault) {
  EXPECT_EQ(parse_duration("5"), 5s);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("250us"), 250us);
  EXPECT_EQ(parse_duration("2m"), 120s);
  EXPECT_EQ(parse_duration("1h"), 3600s);
  EXPECT_EQ(parse_duration("30d"), std::chrono::hours(30 * 24));
  for (const char* bad : {"", "0", "0s", "x", "5y", "-1", "1..2"}) {
    EXPECT_THROW(parse_duration(bad), UsageError) << bad;
  }
}

TEST(BenchRequest, PlaceholdersAndTerminator) {
  RequestTemplate t("hola {c}.{n}", 0, true);
  std::string out;
  t.render(out, 3, 17);
  EXPECT_EQ(out, "hola 3.17\n");
  EXPECT_TRUE(t.has_placeholders());
  EXPECT_TRUE(t.uses_seq());
  EXPECT_EQ(t.stem(3), "hola 3.");
  out.clear();
  t.render(out, 0, 0);
  EXPECT_EQ(out, "hola 0.0\n");
}

TEST(BenchRequest, KeepsItsOwnLineEnding) {
  std::string out;
  RequestTemplate("PING\r\n", 0, true).render(out, 0, 0);
  EXPECT_EQ(out, "PING\r\n");
  out.clear();
  RequestTemplate("PING\n", 0, true).render(out, 0, 0);
  EXPECT_EQ(out, "PING\n");
  EXPECT_FALSE(RequestTemplate("PING\n", 0, true).has_placeholders());
  EXPECT_THROW(RequestTemplate("two\nlines", 0, true), UsageError);
}

TEST(BenchRequest, DatagramsGetNoTerminator) {
  std::string out;
  RequestTemplate("hola {n}", 0, false).render(out, 0, 5);
  EXPECT_EQ(out, "hola 5");
}

TEST(BenchRequest, PaddedToTheSizeBeforeTheTerminator) {
  RequestTemplate t("r{n}", 10, true);
  std::string out;
  t.render(out, 0, 42);
  EXPECT_EQ(out, "r42xxxxxx\n");
  EXPECT_EQ(out.size(), 10u);
  out.clear();
  RequestTemplate("PING\r\n", 8, true).render(out, 0, 0);
  EXPECT_EQ(out, "PINGxx\r\n");
  out.clear();
  // Longer than the size: sent as it is.
  RequestTemplate("a long request", 4, true).render(out, 0, 0);
  EXPECT_EQ(out, "a long request\n");
  EXPECT_GE(t.max_length(), 10u);
}

TEST(BenchRequest, RenderDoesNotAllocateWithinCapacity) {
  RequestTemplate t("hola {c}.{n}", 64, true);
  std::string out;
  out.reserve(t.max_length() * 4);
  const char* data = out.data();
  for (int i = 0; i < 4; ++i) t.render(out, 123, 18'446'744'073'709'551'615ull);
  EXPECT_EQ(out.data(), data);
}

TEST(BenchRequest, SeqAfterTheStem) {
  EXPECT_EQ(seq_after("Eco UDP: hola 3.17", "hola 3."), 17u);
  EXPECT_EQ(seq_after("Eco UDP: hola 3.17\n", "hola 3."), 17u);
  EXPECT_EQ(seq_after("Eco UDP: hola 4.17", "hola 3."), std::nullopt);
  EXPECT_EQ(seq_after("Eco UDP: hola 3.", "hola 3."), std::nullopt);
  EXPECT_EQ(seq_after("12", ""), 12u);
}

TEST(BenchFanout, StampRoundTrip) {
  const Stamp s{123456789012345ull, 7, 99, 0xabcdef};
  std::string line;
  format_stamp_line(line, s, 0);
  EXPECT_EQ(line, "t=123456789012345 s=7 n=99 r=11259375\n");
  line.pop_back();
  EXPECT_EQ(parse_stamp(line), s);
}

TEST(BenchFanout, StampPaddedToSize) {
  std::string line;
  format_stamp_line(line, Stamp{1, 2, 3, 4}, 40);
  EXPECT_EQ(line.size(), 40u);
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  EXPECT_EQ(parse_stamp(line), (Stamp{1, 2, 3, 4}));
  EXPECT_LE(line.size() + 1, max_stamp_line(40));
}

TEST(BenchFanout, StampRejectsOtherText) {
  EXPECT_EQ(parse_stamp("hello"), std::nullopt);
  EXPECT_EQ(parse_stamp("t=1 s=2 n=3"), std::nullopt);
  EXPECT_EQ(parse_stamp("t=1 s=2 n=3 r=4x"), std::nullopt);
  EXPECT_EQ(parse_stamp("t=x s=2 n=3 r=4"), std::nullopt);
  EXPECT_EQ(parse_stamp("t=1 s=99999999999 n=3 r=4"), std::nullopt);  // sender over 32 bits
}

TEST(BenchFanout, ParsesChatMessages) {
  const auto m = parse_chat_message("[12:34:56] <b1a2b3c-s0> t=1 s=0 n=0 r=1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->nick, "b1a2b3c-s0");
  EXPECT_EQ(m->text, "t=1 s=0 n=0 r=1");
  // Notices, actions, private messages and server lines are not messages.
  EXPECT_FALSE(parse_chat_message("[12:34:56] * ana joined general"));
  EXPECT_FALSE(parse_chat_message("[12:34:56] *ana* psst"));
  EXPECT_FALSE(parse_chat_message("* you are in general now; /who lists who is here"));
  EXPECT_FALSE(parse_chat_message("error: slow down"));
  EXPECT_FALSE(parse_chat_message("[12:34:56] <> x"));
  EXPECT_FALSE(parse_chat_message("[12:34:56] <ana>"));
}

TEST(BenchReport, Numbers) {
  EXPECT_EQ(grouped(0), "0");
  EXPECT_EQ(grouped(999), "999");
  EXPECT_EQ(grouped(1000), "1,000");
  EXPECT_EQ(grouped(65778), "65,778");
  EXPECT_EQ(grouped(1234567), "1,234,567");
  EXPECT_EQ(nanos(850), "850 ns");
  EXPECT_EQ(nanos(183'000), "183 us");
  EXPECT_EQ(nanos(1'250'000), "1.25 ms");
  EXPECT_EQ(bytes(512), "512 B");
  EXPECT_EQ(bytes(1500), "1.5 kB");
  EXPECT_EQ(bytes(12.3e6), "12.3 MB");
}

TEST(BenchReport, JsonIsOneObject) {
  Report r("echo");
  r.add("target", std::string("127.0.0.1:6000"), "target");
  r.add("replies", std::uint64_t{42}, "replies");
  r.add("rate", 1.5);
  r.add("checked", true);
  Histogram h;
  h.record(2000);
  r.latency(h);
  r.samples({"a \"quoted\"\nline"});
  const std::string json = r.json();
  ASSERT_EQ(json.find('\n'), json.size() - 1) << "one line: " << json;
  const boost::json::value expected = {
      {"mode", "echo"},
      {"target", "127.0.0.1:6000"},
      {"replies", 42},
      {"rate", 1.5},
      {"checked", true},
      {"latency_us",
       {{"count", 1}, {"min", 2.0}, {"mean", 2.0}, {"p50", 2.0}, {"p90", 2.0}, {"p99", 2.0}, {"p99_9", 2.0}, {"max", 2.0}}},
      {"error_samples", boost::json::array{"a \"quoted\"\nline"}}};
  EXPECT_EQ(boost::json::parse(json), expected) << json;
  EXPECT_EQ(json.find("\"mode\""), 1u) << "the mode comes first: " << json;
  EXPECT_NE(r.table().find("replies  42"), std::string::npos) << r.table();
}

}  // namespace
}  // namespace enchufe::bench
