#include "net/address_gate.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace enchufe::net {
namespace {

using namespace std::chrono_literals;
using Ticket = AddressGate::Ticket;

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

std::shared_ptr<AddressGate> gate(std::size_t max_per_address, double connect_rate, bool trust_loopback = false) {
  return std::make_shared<AddressGate>(AddressGateSettings{max_per_address, connect_rate, trust_loopback});
}

// Admits `n` clients from `address` at `now`; returns the tickets of those
// admitted and, in *refusal, the last refusal.
std::vector<Ticket> admit_many(AddressGate& g, const char* address, int n, AddressGate::Clock::time_point now,
                               std::string* refusal = nullptr) {
  std::vector<Ticket> tickets;
  for (int i = 0; i < n; ++i) {
    auto verdict = g.admit(ip(address), now);
    if (auto* ticket = std::get_if<Ticket>(&verdict)) {
      tickets.push_back(std::move(*ticket));
    } else if (refusal) {
      *refusal = std::get<std::string>(verdict);
    }
  }
  return tickets;
}

bool admitted(AddressGate& g, const char* address, AddressGate::Clock::time_point now) {
  return std::holds_alternative<Ticket>(g.admit(ip(address), now));
}

const auto t0 = AddressGate::Clock::now();

TEST(AddressGate, RefusesPastTheLimitWithOneLineWhileOtherAddressesAreServed) {
  auto g = gate(3, 0);
  std::string refusal;
  const auto tickets = admit_many(*g, "192.0.2.1", 10, t0, &refusal);
  EXPECT_EQ(tickets.size(), 3u);
  EXPECT_EQ(refusal, "error: too many connections from your address (at most 3 at once, --max-per-address)");
  EXPECT_TRUE(admitted(*g, "192.0.2.2", t0));
}

TEST(AddressGate, ATicketDestroyedGivesItsPlaceBack) {
  auto g = gate(2, 0);
  auto tickets = admit_many(*g, "192.0.2.1", 2, t0);
  ASSERT_EQ(tickets.size(), 2u);
  EXPECT_FALSE(admitted(*g, "192.0.2.1", t0));
  tickets.pop_back();
  auto again = admit_many(*g, "192.0.2.1", 2, t0);
  EXPECT_EQ(again.size(), 1u);
}

TEST(AddressGate, AMovedTicketIsGivenBackOnce) {
  auto g = gate(1, 0);
  auto tickets = admit_many(*g, "192.0.2.1", 1, t0);
  ASSERT_EQ(tickets.size(), 1u);
  {
    Ticket moved(std::move(tickets[0]));
    Ticket assigned;
    assigned = std::move(moved);
    EXPECT_FALSE(admitted(*g, "192.0.2.1", t0));
  }  // given back here, once
  tickets.clear();
  EXPECT_EQ(admit_many(*g, "192.0.2.1", 3, t0).size(), 1u);
}

TEST(AddressGate, NewConnectionsBeyondTheBurstWaitForTheRate) {
  auto g = gate(5, 10);  // burst 5, one more every 100 ms
  std::string refusal;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(admitted(*g, "192.0.2.1", t0)) << i;  // each closed at once
  EXPECT_FALSE(admitted(*g, "192.0.2.1", t0 + 50ms));
  admit_many(*g, "192.0.2.1", 1, t0 + 50ms, &refusal);
  EXPECT_EQ(refusal,
            "error: too many new connections from your address (at most 10 a second, --connect-rate); try again "
            "later");
  EXPECT_TRUE(admitted(*g, "192.0.2.1", t0 + 150ms));
  EXPECT_TRUE(admitted(*g, "192.0.2.2", t0 + 150ms));  // another address has its own bucket
}

TEST(AddressGate, ZeroMeansNoLimit) {
  auto g = gate(0, 0);
  EXPECT_EQ(admit_many(*g, "192.0.2.1", 1000, t0).size(), 1000u);
  EXPECT_EQ(g->tracked(), 0u);
}

TEST(AddressGate, AnIpv6Slash64CountsAsOneAddress) {
  auto g = gate(2, 0);
  auto tickets = admit_many(*g, "2001:db8:1:2::1", 1, t0);
  tickets.push_back(std::move(admit_many(*g, "2001:db8:1:2:ffff:eeee:dddd:cccc", 1, t0).at(0)));
  EXPECT_FALSE(admitted(*g, "2001:db8:1:2::99", t0));
  EXPECT_TRUE(admitted(*g, "2001:db8:1:3::1", t0));  // the next /64
}

TEST(AddressGate, AnIpv4MappedAddressCountsAsItsIpv4Address) {
  auto g = gate(2, 0);
  auto tickets = admit_many(*g, "198.51.100.7", 1, t0);
  ASSERT_EQ(tickets.size(), 1u);
  tickets.push_back(std::move(admit_many(*g, "::ffff:198.51.100.7", 1, t0).at(0)));
  EXPECT_FALSE(admitted(*g, "::ffff:198.51.100.7", t0));
  EXPECT_FALSE(admitted(*g, "198.51.100.7", t0));
  // Mapped addresses all lie in ::/64: they must not count as one.
  EXPECT_TRUE(admitted(*g, "::ffff:198.51.100.8", t0));
}

TEST(AddressGate, LoopbackIsCountedUnlessTrusted) {
  auto counted = gate(2, 10);
  EXPECT_EQ(admit_many(*counted, "127.0.0.1", 5, t0).size(), 2u);
  EXPECT_EQ(admit_many(*counted, "::1", 5, t0).size(), 2u);

  auto trusting = gate(2, 10, true);
  for (const char* loopback : {"127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_EQ(admit_many(*trusting, loopback, 50, t0).size(), 50u) << loopback;
  }
  EXPECT_EQ(trusting->tracked(), 0u);
  EXPECT_EQ(admit_many(*trusting, "192.0.2.1", 5, t0).size(), 2u);  // the others still are
}

TEST(AddressGate, TheRefusalCheckComesFirstAndSeesTheIpv4Address) {
  auto g = gate(0, 0, true);
  std::vector<asio::ip::address> asked;
  g->set_refusal_check([&](const asio::ip::address& address) -> std::optional<std::string> {
    asked.push_back(address);
    if (address == ip("198.51.100.7")) return "error: banned";
    return std::nullopt;
  });
  std::string refusal;
  EXPECT_TRUE(admit_many(*g, "::ffff:198.51.100.7", 1, t0, &refusal).empty());
  EXPECT_EQ(refusal, "error: banned");
  EXPECT_TRUE(admitted(*g, "198.51.100.8", t0));
  // Trusted loopback is asked too: a ban is the operator's word.
  EXPECT_TRUE(admitted(*g, "127.0.0.1", t0));
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[0], ip("198.51.100.7"));
}

TEST(AddressGate, IdleAddressesAreForgottenOnceTheirBucketIsFullAgain) {
  auto g = gate(4, 2);  // burst 4, refilled in 2 s
  {
    const auto held = admit_many(*g, "192.0.2.1", 1, t0);
    admit_many(*g, "192.0.2.2", 4, t0);  // closed at once: its bucket is empty
    EXPECT_EQ(g->tracked(), 2u);
    // A pass (the first admit a second later) keeps both: one is open,
    // the other's bucket is still refilling.
    admit_many(*g, "192.0.2.3", 1, t0 + AddressGate::kForgetInterval);
    EXPECT_EQ(g->tracked(), 3u);
  }
  // .1 and .3 closed; two seconds after its burst .2's bucket is full again.
  admit_many(*g, "192.0.2.4", 1, t0 + 2s + AddressGate::kForgetInterval);
  EXPECT_EQ(g->tracked(), 1u);  // only the newcomer
  // Forgotten, .2 starts afresh with a full burst.
  EXPECT_EQ(admit_many(*g, "192.0.2.2", 4, t0 + 3s + AddressGate::kForgetInterval).size(), 4u);
}

}  // namespace
}  // namespace enchufe::net
