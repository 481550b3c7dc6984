#include "net/token_bucket.hpp"

#include <gtest/gtest.h>

namespace enchufe::net {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, AllowsTheBurstThenTheRate) {
  TokenBucket bucket(10, 20);
  const auto t0 = TokenBucket::Clock::now();
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += bucket.take(t0);
  EXPECT_EQ(allowed, 20);
  EXPECT_FALSE(bucket.take(t0 + 50ms));   // half a token so far
  EXPECT_TRUE(bucket.take(t0 + 100ms));   // one token per 100 ms
  EXPECT_FALSE(bucket.take(t0 + 100ms));
}

TEST(TokenBucket, RefillsUpToTheBurstOnly) {
  TokenBucket bucket(10, 3);
  const auto t0 = TokenBucket::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.take(t0));
  const auto later = t0 + 1h;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += bucket.take(later);
  EXPECT_EQ(allowed, 3);
}

}  // namespace
}  // namespace enchufe::net
