#include "bench/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace enchufe::bench {

Histogram::Histogram(unsigned precision_bits, std::uint64_t highest) : bits_(precision_bits), highest_(highest) {
  if (bits_ < 1 || bits_ > 20) throw std::invalid_argument("histogram precision must be 1..20 bits");
  if (highest_ < 2) throw std::invalid_argument("histogram highest value must be at least 2");
  counts_.assign(index_of(highest_) + 1, 0);
}

void Histogram::record(std::uint64_t value, std::uint64_t n) {
  if (n == 0) return;
  if (value > highest_) {
    value = highest_;
    saturated_ += n;
  }
  counts_[index_of(value)] += n;
  count_ += n;
  sum_ += value * n;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) {
  if (other.bits_ != bits_ || other.highest_ != highest_) {
    throw std::invalid_argument("merging histograms of different layouts");
  }
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  saturated_ += other.saturated_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = sum_ = saturated_ = max_ = 0;
  min_ = UINT64_MAX;
}

std::uint64_t Histogram::lowest_of(std::size_t index) const {
  const std::size_t sub_count = std::size_t{1} << bits_;
  if (index < 2 * sub_count) return index;
  const std::size_t shift = index / sub_count - 1;
  const std::uint64_t top = index - shift * sub_count;  // the value's top S+1 bits
  return top << shift;
}

std::uint64_t Histogram::highest_of(std::size_t index) const {
  const std::size_t sub_count = std::size_t{1} << bits_;
  if (index < 2 * sub_count) return index;
  const std::size_t shift = index / sub_count - 1;
  return lowest_of(index) + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t Histogram::value_at(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The rank of the value asked for, 1-based; at least the first value.
  auto rank = static_cast<std::uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_of(i), min_, max_);
  }
  return max_;
}

}  // namespace enchufe::bench
