#include "bench/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace enchufe::bench {
namespace {

// The exact percentile of sorted values, with the histogram's definition:
// the smallest value with at least p% of the values at or below it.
std::uint64_t exact(const std::vector<std::uint64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void expect_within_precision(const Histogram& h, const std::vector<std::uint64_t>& sorted) {
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double want = static_cast<double>(exact(sorted, p));
    const double got = static_cast<double>(h.value_at(p));
    // Never below the true value, and above it by less than 2^-bits of it.
    EXPECT_GE(got, want) << "p" << p;
    EXPECT_LE(got, want * (1 + h.relative_error())) << "p" << p;
  }
}

TEST(BenchHistogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.value_at(50), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(BenchHistogram, SmallValuesAreExact) {
  Histogram h(8);
  for (std::uint64_t v = 0; v < 512; ++v) h.record(v);
  EXPECT_EQ(h.count(), 512u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 511u);
  EXPECT_EQ(h.value_at(50), 255u);
  EXPECT_EQ(h.value_at(100), 511u);
  EXPECT_DOUBLE_EQ(h.mean(), 255.5);
}

TEST(BenchHistogram, LayoutIsContiguousAndMonotonic) {
  for (unsigned bits : {1u, 3u, 8u, 10u}) {
    Histogram h(bits, std::uint64_t{1} << 40);
    std::size_t previous = 0;
    // Bucket bounds round-trip and consecutive buckets touch.
    for (std::size_t i = 0; i + 1 < h.buckets(); ++i) {
      ASSERT_EQ(h.index_of(h.lowest_of(i)), i) << bits << " bits, bucket " << i;
      ASSERT_EQ(h.index_of(h.highest_of(i)), i) << bits << " bits, bucket " << i;
      ASSERT_EQ(h.highest_of(i) + 1, h.lowest_of(i + 1)) << bits << " bits, bucket " << i;
    }
    for (std::uint64_t v = 1; v < (std::uint64_t{1} << 40); v = v * 3 / 2 + 1) {
      const std::size_t index = h.index_of(v);
      ASSERT_GE(index, previous);
      ASSERT_LE(h.lowest_of(index), v);
      ASSERT_GE(h.highest_of(index), v);
      // The bucket is narrow: its width is at most 2^-bits of its values.
      ASSERT_LE(static_cast<double>(h.highest_of(index) - h.lowest_of(index)),
                static_cast<double>(v) * h.relative_error());
      previous = index;
    }
  }
}

TEST(BenchHistogram, PercentilesOfUniformValuesWithinPrecision) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::uint64_t> dist(1'000, 10'000'000);
  for (unsigned bits : {6u, 8u, 10u}) {
    Histogram h(bits);
    std::vector<std::uint64_t> values(100'000);
    for (auto& v : values) {
      v = dist(rng);
      h.record(v);
    }
    std::sort(values.begin(), values.end());
    expect_within_precision(h, values);
    EXPECT_EQ(h.min(), values.front());
    EXPECT_EQ(h.max(), values.back());
  }
}

TEST(BenchHistogram, PercentilesOfALongTailWithinPrecision) {
  // Latency-like: most values near 50 us, a few near 100 ms.
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> body(std::log(50'000.0), 0.3);
  std::uniform_int_distribution<std::uint64_t> tail(10'000'000, 100'000'000);
  Histogram h;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    const std::uint64_t v = (i % 1000 == 0) ? tail(rng) : static_cast<std::uint64_t>(body(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  expect_within_precision(h, values);
  EXPECT_EQ(h.value_at(100), values.back());
}

TEST(BenchHistogram, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::uint64_t> dist(0, 1'000'000'000);
  Histogram all, a, b;
  for (int i = 0; i < 50'000; ++i) {
    const std::uint64_t v = dist(rng);
    all.record(v);
    (i % 3 ? a : b).record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.value_at(p), all.value_at(p));
}

TEST(BenchHistogram, MergeRejectsADifferentLayout) {
  Histogram a(8), b(10);
  EXPECT_THROW(a.merge(b), std::invalid_argument);
}

TEST(BenchHistogram, ValuesAboveTheHighestAreClampedAndCounted) {
  Histogram h(8, 1'000'000);
  h.record(10);
  h.record(5'000'000);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.saturated(), 1u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_EQ(h.value_at(100), 1'000'000u);
}

TEST(BenchHistogram, RecordManyAtOnce) {
  Histogram h;
  h.record(1000, 99);
  h.record(1'000'000, 1);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_GE(h.value_at(99), 1000u);
  EXPECT_LE(h.value_at(99), 1004u);
  EXPECT_EQ(h.value_at(99.5), 1'000'000u);
}

TEST(BenchHistogram, ResetEmptiesIt) {
  Histogram h;
  h.record(123);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.value_at(50), 0u);
  h.record(7);
  EXPECT_EQ(h.min(), 7u);
}

}  // namespace
}  // namespace enchufe::bench
