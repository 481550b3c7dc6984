// LoginThrottle: a password guesser gets kLoginBurst tries, then one every
// 12 s, whichever way it spreads them: over many addresses at one nickname,
// or over many nicknames from one address. A login that works costs nothing.

#include "services/chat/moderation/login_throttle.hpp"

#include <gtest/gtest.h>

#include <string>

namespace enchufe::services::chat::moderation {
namespace {

using namespace std::chrono_literals;

// Well after the throttle's buckets were made (they start full at the real
// clock's now): every bucket is full at t0, whatever the test did first.
LoginThrottle::Clock::time_point later() { return LoginThrottle::Clock::now() + 1h; }

// Takes `n` tries; how many were let through.
int tries(LoginThrottle& throttle, const std::string& address, const std::string& nick, int n,
          LoginThrottle::Clock::time_point now) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) allowed += !throttle.take(address, nick, now).has_value();
  return allowed;
}

TEST(LoginThrottle, AllowsTheBurstThenSaysHowLongToWait) {
  LoginThrottle throttle;
  const auto t0 = later();
  EXPECT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  const auto wait = throttle.take("192.0.2.1", "ana", t0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 12s);
  // Rounded up: "wait 1 s" must not be said when 1.5 s are left.
  EXPECT_EQ(throttle.take("192.0.2.1", "ana", t0 + 10500ms), std::optional(2s));
}

TEST(LoginThrottle, TimeBringsTriesBackAtOneEvery12Seconds) {
  LoginThrottle throttle;
  const auto t0 = later();
  ASSERT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  EXPECT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0 + 11s), 0);
  EXPECT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0 + 12s), 1);
  EXPECT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0 + 12s + 1h), 5);
}

TEST(LoginThrottle, ANicknameThrottledFromOneAddressIsThrottledFromAnother) {
  LoginThrottle throttle;
  const auto t0 = later();
  ASSERT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  EXPECT_TRUE(throttle.take("198.51.100.9", "ana", t0).has_value());
  // ...and another nickname from that other address is not held up.
  EXPECT_FALSE(throttle.take("198.51.100.9", "bob", t0).has_value());
}

TEST(LoginThrottle, AnAddressThrottledAtOneNicknameIsThrottledAtAnother) {
  LoginThrottle throttle;
  const auto t0 = later();
  ASSERT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  EXPECT_TRUE(throttle.take("192.0.2.1", "bob", t0).has_value());
  EXPECT_FALSE(throttle.take("198.51.100.9", "carla", t0).has_value());
}

TEST(LoginThrottle, ARefusedTryTakesNothingFromTheOtherKey) {
  // The nickname is spent; tries from the address at it are refused and
  // must not use up the address's tries at other nicknames.
  LoginThrottle throttle;
  const auto t0 = later();
  ASSERT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  EXPECT_EQ(tries(throttle, "198.51.100.9", "ana", 10, t0), 0);
  EXPECT_EQ(tries(throttle, "198.51.100.9", "bob", 10, t0), 5);
}

TEST(LoginThrottle, ALoginThatWorkedGivesItsTryBack) {
  LoginThrottle throttle;
  const auto t0 = later();
  for (int i = 0; i < 20; ++i) {
    ASSERT_FALSE(throttle.take("192.0.2.1", "ana", t0).has_value()) << "login " << i;
    throttle.refund("192.0.2.1", "ana");
  }
}

TEST(LoginThrottle, ARefundGivesBackToBothKeys) {
  LoginThrottle throttle;
  const auto t0 = later();
  ASSERT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  throttle.refund("192.0.2.1", "ana");
  EXPECT_FALSE(throttle.take("192.0.2.1", "bob", t0).has_value()) << "the address got its try back";
  throttle.refund("192.0.2.1", "bob");
  EXPECT_FALSE(throttle.take("198.51.100.9", "ana", t0).has_value()) << "the nickname got its try back";
}

TEST(LoginThrottle, AFloodOfNewAddressesDoesNotFreeAThrottledNickname) {
  // Past kMaxThrottled buckets only the full ones are forgotten: one that
  // is spent holds.
  LoginThrottle throttle;
  const auto t0 = later();
  ASSERT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  for (std::size_t i = 0; i < kMaxThrottled / 2 + 10; ++i) {
    const std::string n = std::to_string(i);
    throttle.take("a" + n, "n" + n, t0 + 1s);
  }
  EXPECT_TRUE(throttle.take("198.51.100.9", "ana", t0 + 1s).has_value());
}

TEST(LoginThrottle, BucketsStartAtTheTimeGiven) {
  // take(now) with a `now` read before the first try: the tries of that
  // first moment come back 12 s after it, as they would for any other.
  LoginThrottle throttle;
  const auto t0 = LoginThrottle::Clock::now();
  ASSERT_EQ(tries(throttle, "192.0.2.1", "ana", 5, t0), 5);
  EXPECT_EQ(throttle.take("192.0.2.1", "ana", t0 + 12s), std::nullopt);
}

}  // namespace
}  // namespace enchufe::services::chat::moderation
