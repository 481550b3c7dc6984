#include "net/address_gate.hpp"

#include "net/log.hpp"

#include <fmt/format.h>

#include <utility>

namespace enchufe::net {

namespace {

// An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d: it is
// that IPv4 address, counted (and trusted) as such.
asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

}  // namespace

AddressGate::Ticket& AddressGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    gate_ = std::move(other.gate_);
    key_ = other.key_;
  }
  return *this;
}

void AddressGate::Ticket::release() {
  if (gate_) std::exchange(gate_, nullptr)->release(key_);
}

AddressGate::AddressGate(AddressGateSettings settings)
    : settings_(settings),
      burst_(static_cast<double>(settings.max_per_address > 0 ? settings.max_per_address
                                                               : limits::kMaxPerAddress)) {}

AddressGate::Key AddressGate::key_of(const asio::ip::address& address) {
  if (address.is_v4()) return {address.to_v4().to_uint(), false};
  const auto bytes = address.to_v6().to_bytes();
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < 8; ++i) prefix = prefix << 8 | bytes[i];
  return {prefix, true};
}

std::variant<AddressGate::Ticket, std::string> AddressGate::admit(const asio::ip::address& peer,
                                                                  Clock::time_point now) {
  const auto address = unmapped(peer);
  if (refusal_check_) {
    if (auto refusal = refusal_check_(address)) return std::move(*refusal);
  }
  if (settings_.trust_loopback && address.is_loopback()) return Ticket();
  if (settings_.max_per_address == 0 && settings_.connect_rate <= 0) return Ticket();

  const Key key = key_of(address);
  std::lock_guard lock(mutex_);
  if (now >= next_forget_) forget_idle(now);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxTrackedAddresses) {
      if (!std::exchange(warned_full_, true)) {
        log::at(log::Level::warn, {.event = "address_table_full"},
                "more than {} addresses connected within seconds; newcomers are not limited per address until "
                "some are forgotten",
                kMaxTrackedAddresses);
      }
      return Ticket();
    }
    it = entries_.emplace(key, Entry{0, TokenBucket(settings_.connect_rate, burst_, now)}).first;
  }
  Entry& entry = it->second;
  if (settings_.max_per_address > 0 && entry.open >= settings_.max_per_address) {
    return fmt::format("error: too many connections from your address (at most {} at once, --max-per-address)",
                       settings_.max_per_address);
  }
  if (settings_.connect_rate > 0 && !entry.bucket.take(now)) {
    return fmt::format(
        "error: too many new connections from your address (at most {:g} a second, --connect-rate); try again "
        "later",
        settings_.connect_rate);
  }
  ++entry.open;
  return Ticket(shared_from_this(), key);
}

std::size_t AddressGate::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void AddressGate::release(const Key& key) {
  std::lock_guard lock(mutex_);
  // Forgetting waits for the next pass: an address that just left keeps
  // the tokens it spent.
  if (const auto it = entries_.find(key); it != entries_.end()) --it->second.open;
}

void AddressGate::forget_idle(Clock::time_point now) {
  next_forget_ = now + kForgetInterval;
  warned_full_ = false;
  const bool rate_limited = settings_.connect_rate > 0;
  std::erase_if(entries_, [&](const auto& item) {
    const Entry& entry = item.second;
    return entry.open == 0 && (!rate_limited || entry.bucket.full_by(now));
  });
}

}  // namespace enchufe::net
