#pragma once
// Login attempts, slowed per address and per nickname: a token bucket for
// each (like flood control). An attempt takes a token from both before the
// password is hashed, and a login that works gives them back, so only
// failures add up: a guesser gets kLoginBurst tries, then one per
// 1/kLoginRate seconds, from any number of connections and addresses at one
// nickname, and at any number of nicknames from one address.

#include "net/token_bucket.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace enchufe::services::chat::moderation {

inline constexpr double kLoginBurst = 5;
inline constexpr double kLoginRate = 1.0 / 12;  // 5 a minute, after the burst
// Buckets remembered before the full ones (nothing to remember) are let go,
// at most once a second: a flood of addresses costs bounded memory (what
// arrives within a bucket's refill time, a minute).
inline constexpr std::size_t kMaxThrottled = 100'000;

class LoginThrottle {
 public:
  using Clock = net::TokenBucket::Clock;

  // Takes a try for both keys; if either has none, nothing is taken and the
  // answer is how long until there is one.
  std::optional<std::chrono::seconds> take(const std::string& address_key, const std::string& nick_key,
                                           Clock::time_point now = Clock::now());
  // The login worked: its try is given back.
  void refund(const std::string& address_key, const std::string& nick_key);

 private:
  net::TokenBucket& bucket(const std::string& key, Clock::time_point now);

  std::unordered_map<std::string, net::TokenBucket> buckets_;  // "a:ADDRESS" and "n:NICK"
  Clock::time_point last_sweep_{};
};

}  // namespace enchufe::services::chat::moderation
