// make_snapshot reads what net::MetricsRegistry writes: the round trip is
// tested against the real renderer, so a renamed family breaks a test here.

#include "net/metrics.hpp"
#include "stats/snapshot.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace enchufe::stats {
namespace {

using net::Counter;

TEST(MakeSnapshot, ReadsEveryFamilyTheRegistryRenders) {
  auto echo = std::make_shared<net::ServiceMetrics>("echo", 2);
  auto udp = std::make_shared<net::ServiceMetrics>("udp-echo", 2);
  echo->loop(0).add(Counter::accepted, 5);
  echo->loop(1).add(Counter::closed, 4);
  echo->loop(0).add(Counter::refused, 1);
  echo->loop(1).add(Counter::bytes_in, 700);
  echo->loop(0).add(Counter::bytes_out, 900);
  echo->loop(1).add(Counter::messages_in, 50);
  echo->loop(1).add(Counter::messages_out, 49);
  echo->loop(0).add(Counter::errors_too_long, 1);
  echo->loop(1).add(Counter::errors_reset, 2);
  echo->loop(0).observe_latency(std::chrono::microseconds(30));  // bucket le=5e-05
  echo->loop(1).observe_latency(std::chrono::microseconds(30));
  echo->loop(1).observe_latency(std::chrono::seconds(3));  // +Inf
  udp->loop(1).add(Counter::datagrams_in, 3);
  udp->loop(1).add(Counter::messages_in, 3);
  udp->loop(1).add(Counter::datagrams_out, 2);
  udp->loop(1).add(Counter::datagrams_dropped, 1);

  net::MetricsRegistry registry;
  registry.add(echo);
  registry.add(udp);
  registry.add_gauge("enchufe_chat_rooms", "Rooms.", [] { return net::MetricsRegistry::GaugeValues{{"", 2}}; });
  registry.add_gauge("enchufe_chat_room_members", "Members.", [] {
    return net::MetricsRegistry::GaugeValues{{"room=\"general\"", 3}, {"room=\"dev\"", 1}};
  });

  const auto exposition = parse_exposition(registry.render());
  ASSERT_TRUE(exposition.errors.empty()) << exposition.errors[0].message;
  const auto s = make_snapshot(exposition);

  ASSERT_EQ(s.services.size(), 2u);
  EXPECT_EQ(s.services[0].name, "echo");  // the registry's order
  EXPECT_EQ(s.services[1].name, "udp-echo");
  const auto& e = *s.service("echo");
  EXPECT_EQ(e.accepted, 5);
  EXPECT_EQ(e.refused, 1);
  EXPECT_EQ(e.closed, 4);
  EXPECT_EQ(e.active, 1);
  EXPECT_EQ(e.bytes_in, 700);
  EXPECT_EQ(e.bytes_out, 900);
  EXPECT_EQ(e.messages_in, 50);
  EXPECT_EQ(e.messages_out, 49);
  EXPECT_EQ(e.error("too_long"), 1);
  EXPECT_EQ(e.error("reset"), 2);
  EXPECT_EQ(e.error("timeout"), 0);
  EXPECT_EQ(e.errors_total(), 3);
  EXPECT_EQ(e.errors.size(), 6u);  // every kind is rendered, zeros included
  EXPECT_FALSE(e.udp());

  ASSERT_EQ(e.latency.buckets.size(), net::kLatencyBuckets.size() + 1);
  EXPECT_TRUE(std::isinf(e.latency.buckets.back().first));
  EXPECT_EQ(e.latency.buckets.back().second, 3);
  EXPECT_EQ(e.latency.count, 3);
  EXPECT_NEAR(e.latency.sum, 3.00006, 1e-9);
  for (const auto& [bound, count] : e.latency.buckets) {
    EXPECT_EQ(count, bound < 0.00003 ? 0 : bound < 1.5 ? 2 : 3) << "le=" << bound;
  }

  const auto& u = *s.service("udp-echo");
  EXPECT_TRUE(u.udp());
  EXPECT_EQ(u.datagrams_in, 3);
  EXPECT_EQ(u.datagrams_out, 2);
  EXPECT_EQ(u.datagrams_dropped, 1);
  EXPECT_EQ(u.latency.count, 0);

  EXPECT_EQ(s.chat_rooms, 2);
  ASSERT_EQ(s.room_members.size(), 2u);
  EXPECT_EQ(s.room_members[0], (std::pair<std::string, double>{"general", 3}));
  ASSERT_TRUE(s.uptime_seconds);
  EXPECT_GE(*s.uptime_seconds, 0);
  EXPECT_FALSE(s.service("chat"));
}

TEST(MakeSnapshot, IgnoresOtherExportersAndSortsBuckets) {
  const auto s = make_snapshot(parse_exposition(
      "http_requests_total{service=\"web\"} 10\n"
      "enchufe_reply_latency_seconds_bucket{service=\"echo\",le=\"+Inf\"} 4\n"
      "enchufe_reply_latency_seconds_bucket{service=\"echo\",le=\"0.1\"} 3\n"
      "enchufe_reply_latency_seconds_bucket{service=\"echo\",le=\"0.01\"} 1\n"));
  ASSERT_EQ(s.services.size(), 1u);
  const auto& b = s.services[0].latency.buckets;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (std::pair<double, double>{0.01, 1}));
  EXPECT_EQ(b[1], (std::pair<double, double>{0.1, 3}));
  EXPECT_TRUE(std::isinf(b[2].first));
  EXPECT_FALSE(s.uptime_seconds);
  EXPECT_FALSE(s.chat_rooms);
}

TEST(ServiceSnapshot, UdpIsTheOneCountingDatagramsNotConnections) {
  ServiceSnapshot s;
  s.name = "udp-echo";
  EXPECT_TRUE(s.udp());  // idle: by its name
  s.name = "echo";
  EXPECT_FALSE(s.udp());
  s.datagrams_in = 1;
  EXPECT_TRUE(s.udp());
  s.accepted = 1;
  EXPECT_FALSE(s.udp());
}

}  // namespace
}  // namespace enchufe::stats
