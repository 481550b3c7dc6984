#include "stats/rates.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace enchufe::stats {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(HistogramQuantile, InterpolatesInsideTheBucket) {
  // 10 observations: 4 in (0, 1], 4 in (1, 2], 2 in (2, 4].
  const std::vector<std::pair<double, double>> b = {{1, 4}, {2, 8}, {4, 10}, {kInf, 10}};
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.5, b), 1.25);  // rank 5: 1 of 4 into (1, 2]
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.2, b), 0.5);   // rank 2 of 4 in (0, 1]
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.9, b), 3.0);   // rank 9: 1 of 2 into (2, 4]
  EXPECT_DOUBLE_EQ(*histogram_quantile(1.0, b), 4.0);
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.0, b), 0.0);
}

TEST(HistogramQuantile, SkipsEmptyBucketsAndStopsAtTheLastFiniteBound) {
  const std::vector<std::pair<double, double>> b = {{0.001, 0}, {0.01, 0}, {0.1, 5}, {1, 5}, {kInf, 10}};
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.5, b), 0.1);  // rank 5 is the last of (0.01, 0.1]
  EXPECT_NEAR(*histogram_quantile(0.1, b), 0.01 + 0.09 * (1.0 / 5), 1e-12);
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.99, b), 1.0);  // in +Inf: the highest finite bound
}

TEST(HistogramQuantile, NothingToSayWithoutObservations) {
  EXPECT_FALSE(histogram_quantile(0.5, {}));
  EXPECT_FALSE(histogram_quantile(0.5, {{1, 0}, {kInf, 0}}));
  EXPECT_FALSE(histogram_quantile(0.5, {{kInf, 3}}));  // only +Inf: no bound known
}

TEST(EstimateQuantile, TheFirstAndTheLastBucketsGiveOnlyABound) {
  using K = LatencyEstimate::Kind;
  const std::vector<std::pair<double, double>> b = {{0.00001, 60}, {0.001, 90}, {1, 98}, {kInf, 100}};
  // 60 of 100 at or under 10 us: the median is "<= 10us", not an interpolated 8.3us.
  EXPECT_EQ(estimate_quantile(0.5, b), (LatencyEstimate{0.00001, K::at_most}));
  EXPECT_EQ(estimate_quantile(0.7, b)->kind, K::within);
  EXPECT_NEAR(estimate_quantile(0.7, b)->seconds, 0.00001 + (0.001 - 0.00001) * (10.0 / 30), 1e-12);
  // 2 of 100 over 1 s: the p99 is "> 1s".
  EXPECT_EQ(estimate_quantile(0.99, b), (LatencyEstimate{1, K::above}));
  EXPECT_FALSE(estimate_quantile(0.5, {{1, 0}, {kInf, 0}}));
}

TEST(HistogramDelta, SubtractsBucketByBucket) {
  Histogram before{{{0.1, 2}, {1, 3}, {kInf, 3}}, 0.5, 3};
  Histogram now{{{0.1, 5}, {1, 9}, {kInf, 10}}, 4.5, 10};
  const auto d = histogram_delta(now, &before);
  ASSERT_EQ(d.buckets.size(), 3u);
  EXPECT_EQ(d.buckets[0].second, 3);
  EXPECT_EQ(d.buckets[1].second, 6);
  EXPECT_EQ(d.buckets[2].second, 7);
  EXPECT_DOUBLE_EQ(d.sum, 4.0);
  EXPECT_EQ(d.count, 7);
  EXPECT_EQ(histogram_delta(now, nullptr).count, 10);
  // A shrinking bucket means a restart: everything now is new.
  EXPECT_EQ(histogram_delta(before, &now).count, 3);
}

Snapshot snapshot_with(double uptime, double accepted, double messages, double bytes, double too_long,
                       std::vector<std::pair<double, double>> latency) {
  Snapshot s;
  s.uptime_seconds = uptime;
  ServiceSnapshot e;
  e.name = "echo";
  e.accepted = accepted;
  e.closed = accepted > 2 ? accepted - 2 : 0;
  e.active = accepted - e.closed;
  e.messages_in = messages;
  e.messages_out = messages;
  e.bytes_in = bytes;
  e.bytes_out = bytes * 2;
  e.errors = {{"reset", 0}, {"too_long", too_long}};
  e.latency.buckets = std::move(latency);
  e.latency.count = e.latency.buckets.empty() ? 0 : e.latency.buckets.back().second;
  s.services.push_back(e);
  return s;
}

TEST(ComputeView, RatesOverTheIntervalAndPercentilesFromBucketDeltas) {
  const auto before = snapshot_with(10, 10, 100, 1000, 1, {{0.0001, 100}, {0.001, 100}, {kInf, 100}});
  // In 2 s: 4 connections, 200 messages, 3000 bytes, 1 more too_long; all
  // 200 new replies between 100 us and 1 ms.
  const auto now = snapshot_with(12, 14, 300, 4000, 2, {{0.0001, 100}, {0.001, 300}, {kInf, 300}});
  const auto v = compute_view(now, &before, 2.0);
  EXPECT_FALSE(v.since_start);
  EXPECT_FALSE(v.counters_reset);
  EXPECT_EQ(v.seconds, 2.0);
  ASSERT_EQ(v.services.size(), 1u);
  const auto& e = *v.service("echo");
  EXPECT_DOUBLE_EQ(e.connections, 2);
  EXPECT_DOUBLE_EQ(e.messages_in, 100);
  EXPECT_DOUBLE_EQ(e.messages_out, 100);
  EXPECT_DOUBLE_EQ(e.bytes_in, 1500);
  EXPECT_DOUBLE_EQ(e.bytes_out, 3000);
  EXPECT_EQ(e.active, 2);
  EXPECT_EQ(e.accepted_total, 14);
  EXPECT_EQ(e.errors_total, 2);
  EXPECT_EQ(e.errors_recent, 1);
  ASSERT_EQ(e.errors.size(), 1u);  // only kinds seen at all
  EXPECT_EQ(e.errors[0].kind, "too_long");
  EXPECT_EQ(e.errors[0].recent, 1);
  EXPECT_EQ(e.replies, 200);
  // The 100 old fast replies do not count: the median is inside (100us, 1ms].
  ASSERT_TRUE(e.p50);
  EXPECT_EQ(e.p50->kind, LatencyEstimate::Kind::within);
  EXPECT_NEAR(e.p50->seconds, 0.0001 + 0.0009 * 0.5, 1e-12);
  EXPECT_NEAR(e.p99->seconds, 0.0001 + 0.0009 * 0.99, 1e-12);
}

TEST(ComputeView, NoRepliesInTheIntervalMeansNoPercentiles) {
  const auto s = snapshot_with(10, 10, 100, 1000, 0, {{0.001, 100}, {kInf, 100}});
  const auto v = compute_view(s, &s, 1.0);
  EXPECT_EQ(v.services[0].replies, 0);
  EXPECT_FALSE(v.services[0].p50);
  EXPECT_FALSE(v.services[0].p99);
  EXPECT_EQ(v.services[0].messages_in, 0);
}

TEST(ComputeView, TheFirstViewAveragesOverTheUptime) {
  const auto s = snapshot_with(4, 8, 100, 1000, 0, {{0.001, 100}, {kInf, 100}});
  const auto v = compute_view(s, nullptr, 0);
  EXPECT_TRUE(v.since_start);
  EXPECT_EQ(v.seconds, 4);
  EXPECT_DOUBLE_EQ(v.services[0].connections, 2);
  EXPECT_DOUBLE_EQ(v.services[0].messages_in, 25);
  EXPECT_EQ(v.services[0].replies, 100);
  // Without an uptime there is no time base: rates are 0, totals still shown.
  auto no_uptime = s;
  no_uptime.uptime_seconds.reset();
  const auto w = compute_view(no_uptime, nullptr, 0);
  EXPECT_EQ(w.services[0].connections, 0);
  EXPECT_EQ(w.services[0].accepted_total, 8);
}

TEST(ComputeView, ARestartedServerCountsFromZeroNotNegative) {
  const auto before = snapshot_with(100, 50, 500, 5000, 3, {{0.001, 400}, {kInf, 400}});
  const auto after = snapshot_with(2, 4, 40, 400, 0, {{0.001, 40}, {kInf, 40}});
  const auto v = compute_view(after, &before, 1.0);
  EXPECT_TRUE(v.counters_reset);
  const auto& e = v.services[0];
  EXPECT_DOUBLE_EQ(e.connections, 4);
  EXPECT_DOUBLE_EQ(e.messages_in, 40);
  EXPECT_EQ(e.errors_recent, 0);
  EXPECT_EQ(e.replies, 40);

  // Without an uptime, a counter going down gives the restart away.
  auto b2 = before, a2 = after;
  b2.uptime_seconds.reset();
  a2.uptime_seconds.reset();
  const auto w = compute_view(a2, &b2, 1.0);
  EXPECT_TRUE(w.counters_reset);
  EXPECT_DOUBLE_EQ(w.services[0].bytes_in, 400);
}

TEST(ComputeView, AServiceNewSinceTheLastScrapeCountsFromZero) {
  Snapshot before;
  before.uptime_seconds = 1;
  const auto now = snapshot_with(2, 6, 60, 600, 0, {});
  const auto v = compute_view(now, &before, 2.0);
  EXPECT_FALSE(v.counters_reset);
  EXPECT_DOUBLE_EQ(v.services[0].connections, 3);
  EXPECT_FALSE(v.services[0].p50);
}

TEST(ComputeView, CarriesChatRoomsAndMembers) {
  Snapshot s;
  s.chat_rooms = 2;
  s.room_members = {{"general", 3}, {"dev", 1}};
  const auto v = compute_view(s, nullptr, 0);
  EXPECT_EQ(v.chat_rooms, 2);
  EXPECT_EQ(v.room_members.size(), 2u);
  EXPECT_TRUE(v.services.empty());
}

}  // namespace
}  // namespace enchufe::stats
