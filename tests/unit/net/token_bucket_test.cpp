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

TEST(TokenBucket, RefundGivesBackATokenTaken) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(1, 2, t0);
  EXPECT_TRUE(bucket.take(t0));
  EXPECT_TRUE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0));
  bucket.refund();
  EXPECT_TRUE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0));
}

TEST(TokenBucket, RefundNeverFillsPastTheBurst) {
  // A refund of a try paid for long ago must not make a burst larger.
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(1, 2, t0);
  bucket.refund();
  bucket.refund();
  int allowed = 0;
  for (int i = 0; i < 5; ++i) allowed += bucket.take(t0);
  EXPECT_EQ(allowed, 2);
}

TEST(TokenBucket, WaitIsZeroWhileATokenIsThere) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 2, t0);
  EXPECT_EQ(bucket.wait(t0), 0.0);
  bucket.take(t0);
  EXPECT_EQ(bucket.wait(t0), 0.0);
}

TEST(TokenBucket, WaitSaysHowLongUntilTheNextToken) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 1, t0);
  ASSERT_TRUE(bucket.take(t0));
  EXPECT_NEAR(bucket.wait(t0), 0.1, 1e-9);
  EXPECT_NEAR(bucket.wait(t0 + 30ms), 0.07, 1e-9);
  EXPECT_EQ(bucket.wait(t0 + 100ms), 0.0);
  // Asking takes nothing: the token is there when the wait said.
  EXPECT_TRUE(bucket.take(t0 + 100ms));
}

TEST(TokenBucket, WaitAtAnEarlierTimeCountsNoTimeBackwards) {
  // A time read on another thread just before the last take: no negative
  // elapsed time that would make the wait longer than it is.
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 1, t0);
  ASSERT_TRUE(bucket.take(t0));
  EXPECT_NEAR(bucket.wait(t0 - 1s), 0.1, 1e-9);
}

TEST(TokenBucket, SetLimitsCountsTheTimeBeforeAtTheOldRate) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 5, t0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bucket.take(t0));
  // 200 ms at 10/s saved two tokens before the rate drops to 1/s.
  bucket.set_limits(1, 5, t0 + 200ms);
  EXPECT_TRUE(bucket.take(t0 + 200ms));
  EXPECT_TRUE(bucket.take(t0 + 200ms));
  EXPECT_FALSE(bucket.take(t0 + 200ms));
}

TEST(TokenBucket, SetLimitsRefillsAtTheNewRateFromThen) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 1, t0);
  ASSERT_TRUE(bucket.take(t0));
  bucket.set_limits(1, 1, t0);
  EXPECT_FALSE(bucket.take(t0 + 100ms)) << "the old rate would have a token by now";
  EXPECT_TRUE(bucket.take(t0 + 1s));
}

TEST(TokenBucket, SetLimitsCutsWhatIsSavedToTheNewBurst) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 20, t0);
  bucket.set_limits(10, 3, t0);
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += bucket.take(t0);
  EXPECT_EQ(allowed, 3);
}

TEST(TokenBucket, SetLimitsToALargerBurstAddsNoTokensAtOnce) {
  // What is saved stays: a /ratelimit raise is not a free burst.
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(1, 2, t0);
  bucket.set_limits(1, 10, t0);
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += bucket.take(t0);
  EXPECT_EQ(allowed, 2);
  // ...but it fills up to the new burst with time.
  allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += bucket.take(t0 + 1h);
  EXPECT_EQ(allowed, 10);
}

}  // namespace
}  // namespace enchufe::net
