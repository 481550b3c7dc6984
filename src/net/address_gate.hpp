#pragma once
// Per-address limits, checked at accept before any work is done for a
// client: how many clients one address may have open at once
// (--max-per-address) and how fast it may open new ones (--connect-rate), so
// that one host cannot take all of a service's --max-connections slots. A
// check the caller installs (bans) is asked first.
//
// One gate is shared by the doors of a service, whose accept loops run on
// several loops, and tickets come back from whichever loop their client
// ended on: one mutex guards it all. Accepting is not the per-message path.

#include "net/limits.hpp"
#include "net/token_bucket.hpp"

#include "net/asio.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

namespace enchufe::net {

struct AddressGateSettings {
  // Clients one address may have open at once; 0: no limit.
  std::size_t max_per_address = limits::kMaxPerAddress;
  // New connections a second one address may open on average; 0: no limit.
  // Its burst is max_per_address (limits::kMaxPerAddress when that is 0).
  double connect_rate = limits::kConnectRate;
  // Loopback clients (127/8, ::1) are neither counted nor limited: a proxy
  // on the same machine, or benches, speak for many people.
  bool trust_loopback = false;
};

class AddressGate : public std::enable_shared_from_this<AddressGate> {
  // What is counted: an IPv4 address, or an IPv6 address's /64 prefix (one
  // host, or one home, usually has a whole /64 and picks addresses in it at
  // will, so counting whole addresses would limit nothing).
  struct Key {
    std::uint64_t bits = 0;
    bool v6 = false;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return std::hash<std::uint64_t>{}(k.bits) ^ k.v6; }
  };

 public:
  using Clock = TokenBucket::Clock;
  // Returns the one-line sentence (no newline) that refuses a client from
  // this address, or nullopt to let the limits decide.
  using RefusalCheck = std::function<std::optional<std::string>(const asio::ip::address&)>;

  // A client's place in its address's count, given back when it is
  // destroyed. An empty one (trusted loopback, or an address past
  // kMaxTrackedAddresses) counts nothing.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept : gate_(std::move(other.gate_)), key_(other.key_) {}
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { release(); }

   private:
    friend class AddressGate;
    Ticket(std::shared_ptr<AddressGate> gate, Key key) : gate_(std::move(gate)), key_(key) {}
    void release();

    std::shared_ptr<AddressGate> gate_;
    Key key_;
  };

  // Addresses remembered at most. Entries are forgotten once idle (see
  // admit()), so only more than this many addresses connecting within a
  // couple of seconds fill it: a distributed flood, against which limits per
  // address cannot help anyway (--max-connections still bounds the total).
  // Then newcomers are admitted uncounted, with a warning, rather than
  // refused: refusing them would let such a flood lock everyone new out. At
  // about 100 bytes an entry this bounds the gate to ~10 MB.
  static constexpr std::size_t kMaxTrackedAddresses = 100'000;
  // How often idle entries are looked for: at most one pass over the table
  // per this, so a flood of new addresses costs no scan per accept.
  static constexpr auto kForgetInterval = std::chrono::seconds(1);

  // Make it with std::make_shared: tickets keep it alive.
  explicit AddressGate(AddressGateSettings settings);

  // The check asked before the limits (bans). Call it before the servers
  // start: it is read without the lock.
  void set_refusal_check(RefusalCheck check) { refusal_check_ = std::move(check); }

  // A ticket for one more client from `address`, or the sentence that
  // refuses it. `now` is for tests. Entries whose count is back to 0 are
  // forgotten once their bucket would be full again (they would behave as
  // new), so the table holds the addresses connected now or lately.
  std::variant<Ticket, std::string> admit(const asio::ip::address& address, Clock::time_point now = Clock::now());

  // Addresses remembered now (open clients, or a bucket still refilling).
  std::size_t tracked() const;

 private:
  struct Entry {
    std::size_t open = 0;
    TokenBucket bucket;
  };

  static Key key_of(const asio::ip::address& address);
  void release(const Key& key);
  void forget_idle(Clock::time_point now);

  const AddressGateSettings settings_;
  const double burst_;
  RefusalCheck refusal_check_;

  mutable std::mutex mutex_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
  Clock::time_point next_forget_{};
  bool warned_full_ = false;  // since the last pass: one warning, not one per accept
};

}  // namespace enchufe::net
