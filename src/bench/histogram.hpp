#pragma once
// A log-linear latency histogram in the style of HdrHistogram: fixed memory,
// O(1) recording with no allocation, mergeable, and every reported value
// within a known relative error of the true one.
//
// Layout. With S "precision bits", values below 2^(S+1) get a counter each
// (exact). Above that, each power-of-two range [2^m, 2^(m+1)) is split into
// 2^S equal sub-buckets of width 2^(m-S). A value is therefore known to within
// one sub-bucket: the relative error is below 2^-S (S = 8: 0.39%, S = 10:
// 0.098%). Reported values are the *highest* value of the sub-bucket holding
// them (never an underestimate), clamped to the exact minimum and maximum
// seen, so max() and value_at(100) are exact.
//
// Values above `highest` are counted at `highest` (and in saturated()).
// Recording touches one counter plus min/max/sum: single-threaded by design,
// one histogram per thread, merged at the end.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace enchufe::bench {

class Histogram {
 public:
  static constexpr unsigned kDefaultPrecisionBits = 8;
  // 2^40 ns is about 18 minutes: longer than any request we time.
  static constexpr std::uint64_t kDefaultHighest = std::uint64_t{1} << 40;

  explicit Histogram(unsigned precision_bits = kDefaultPrecisionBits, std::uint64_t highest = kDefaultHighest);

  void record(std::uint64_t value) {
    if (value > highest_) [[unlikely]] {
      value = highest_;
      ++saturated_;
    }
    ++counts_[index_of(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  // `n` occurrences of `value` at once.
  void record(std::uint64_t value, std::uint64_t n);

  // Adds `other`'s counts; both must have the same precision and highest.
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  std::uint64_t saturated() const { return saturated_; }
  unsigned precision_bits() const { return bits_; }
  std::uint64_t highest() const { return highest_; }

  // The value at `percentile` (0..100): the smallest recorded value v such
  // that at least percentile% of the values are <= v, as the highest value of
  // its sub-bucket (clamped to [min, max]). 0 when empty.
  std::uint64_t value_at(double percentile) const;

  // The largest relative error of a reported value: 2^-precision_bits.
  double relative_error() const { return 1.0 / static_cast<double>(std::uint64_t{1} << bits_); }

  // ---- layout (public for tests) ----
  std::size_t index_of(std::uint64_t value) const {
    // Values below 2^(S+1) map to themselves; above, shift away all but the
    // top S+1 bits and skip the ranges already laid out.
    const unsigned magnitude = 63u - static_cast<unsigned>(__builtin_clzll(value | 1));
    const unsigned shift = magnitude > bits_ ? magnitude - bits_ : 0;
    return (static_cast<std::size_t>(shift) << bits_) + static_cast<std::size_t>(value >> shift);
  }
  // The lowest and highest value sharing `index`'s counter.
  std::uint64_t lowest_of(std::size_t index) const;
  std::uint64_t highest_of(std::size_t index) const;
  std::size_t buckets() const { return counts_.size(); }

 private:
  unsigned bits_;
  std::uint64_t highest_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::uint64_t saturated_ = 0;
};

}  // namespace enchufe::bench
