#include "services/chat/moderation/login_throttle.hpp"

#include <cmath>

namespace enchufe::services::chat::moderation {

net::TokenBucket& LoginThrottle::bucket(const std::string& key, Clock::time_point now) {
  return buckets_.try_emplace(key, kLoginRate, kLoginBurst, now).first->second;
}

std::optional<std::chrono::seconds> LoginThrottle::take(const std::string& address_key, const std::string& nick_key,
                                                        Clock::time_point now) {
  // At most once a second: under a flood of fresh addresses nothing is
  // full yet, and a sweep per try would cost the whole map each time.
  if (buckets_.size() >= kMaxThrottled && now - last_sweep_ >= std::chrono::seconds(1)) {
    last_sweep_ = now;
    std::erase_if(buckets_, [now](const auto& entry) { return entry.second.full_by(now); });
  }
  net::TokenBucket& by_address = bucket("a:" + address_key, now);
  net::TokenBucket& by_nick = bucket("n:" + nick_key, now);
  const double wait = std::max(by_address.wait(now), by_nick.wait(now));
  if (wait > 0) return std::chrono::seconds(static_cast<long>(std::ceil(wait)));
  by_address.take(now);
  by_nick.take(now);
  return std::nullopt;
}

void LoginThrottle::refund(const std::string& address_key, const std::string& nick_key) {
  if (auto it = buckets_.find("a:" + address_key); it != buckets_.end()) it->second.refund();
  if (auto it = buckets_.find("n:" + nick_key); it != buckets_.end()) it->second.refund();
}

}  // namespace enchufe::services::chat::moderation
