#pragma once
// A token bucket: `rate` events per second on average, `burst` at once.
// Used for chat flood control, login tries and new connections per address; a plain
// value, no locking (its owner's lock or loop guards it).

#include <algorithm>
#include <chrono>

namespace enchufe::net {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts full, at `now`.
  TokenBucket(double rate_per_second, double burst, Clock::time_point now = Clock::now())
      : rate_(rate_per_second), burst_(burst), tokens_(burst), last_(now) {}

  // Takes one token if there is one. A `now` before the last one (read on
  // another thread just before) adds nothing rather than taking tokens away.
  bool take(Clock::time_point now = Clock::now()) {
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // True when the bucket holds `burst` again by `now`: it then behaves as a
  // new one would, so whoever keeps it may forget it.
  bool full_by(Clock::time_point now) const {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    return tokens_ + std::max(0.0, elapsed) * rate_ >= burst_;
  }

  double rate() const { return rate_; }
  double burst() const { return burst_; }

  // Gives back a token taken (the try it paid for turned out free).
  void refund() { tokens_ = std::min(burst_, tokens_ + 1.0); }

  // Seconds until a token is there (0: there is one now).
  double wait(Clock::time_point now = Clock::now()) const {
    const double elapsed = std::max(0.0, std::chrono::duration<double>(now - last_).count());
    const double tokens = std::min(burst_, tokens_ + elapsed * rate_);
    return tokens >= 1.0 ? 0.0 : (1.0 - tokens) / rate_;
  }

  // New limits from now on (a room's /ratelimit); what is saved up stays,
  // within the new burst.
  void set_limits(double rate_per_second, double burst, Clock::time_point now = Clock::now()) {
    refill(now);
    rate_ = rate_per_second;
    burst_ = burst;
    tokens_ = std::min(tokens_, burst_);
  }

 private:
  void refill(Clock::time_point now) {
    if (now <= last_) return;
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
  }

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace enchufe::net
