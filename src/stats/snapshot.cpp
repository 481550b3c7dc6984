#include "stats/snapshot.hpp"

#include <algorithm>
#include <cmath>

namespace enchufe::stats {

double ServiceSnapshot::errors_total() const {
  double total = 0;
  for (const auto& [_, v] : errors) total += v;
  return total;
}

double ServiceSnapshot::error(std::string_view kind) const {
  for (const auto& [k, v] : errors) {
    if (k == kind) return v;
  }
  return 0;
}

bool ServiceSnapshot::udp() const {
  if (datagrams_in > 0 || datagrams_out > 0 || datagrams_dropped > 0) return accepted == 0;
  return accepted == 0 && refused == 0 && name.find("udp") != std::string::npos;
}

const ServiceSnapshot* Snapshot::service(std::string_view name) const {
  for (const auto& s : services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

ServiceSnapshot& service_named(Snapshot& snapshot, std::string_view name) {
  for (auto& s : snapshot.services) {
    if (s.name == name) return s;
  }
  snapshot.services.push_back({});
  snapshot.services.back().name = name;
  return snapshot.services.back();
}

double* field(ServiceSnapshot& s, std::string_view metric) {
  struct Entry {
    std::string_view metric;
    double ServiceSnapshot::*field;
  };
  static constexpr Entry kFields[] = {
      {"enchufe_connections_accepted_total", &ServiceSnapshot::accepted},
      {"enchufe_connections_refused_total", &ServiceSnapshot::refused},
      {"enchufe_connections_closed_total", &ServiceSnapshot::closed},
      {"enchufe_connections_active", &ServiceSnapshot::active},
      {"enchufe_bytes_received_total", &ServiceSnapshot::bytes_in},
      {"enchufe_bytes_sent_total", &ServiceSnapshot::bytes_out},
      {"enchufe_messages_received_total", &ServiceSnapshot::messages_in},
      {"enchufe_messages_sent_total", &ServiceSnapshot::messages_out},
      {"enchufe_udp_datagrams_received_total", &ServiceSnapshot::datagrams_in},
      {"enchufe_udp_datagrams_sent_total", &ServiceSnapshot::datagrams_out},
      {"enchufe_udp_datagrams_dropped_total", &ServiceSnapshot::datagrams_dropped},
  };
  for (const auto& e : kFields) {
    if (e.metric == metric) return &(s.*e.field);
  }
  return nullptr;
}

}  // namespace

Snapshot make_snapshot(const Exposition& exposition) {
  Snapshot out;
  for (const auto& sample : exposition.samples) {
    const std::string_view name = sample.name;
    if (name == "enchufe_uptime_seconds") {
      out.uptime_seconds = sample.value;
      continue;
    }
    if (name == "enchufe_chat_rooms") {
      out.chat_rooms = sample.value;
      continue;
    }
    if (name == "enchufe_chat_room_members") {
      out.room_members.emplace_back(std::string(sample.label("room").value_or("")), sample.value);
      continue;
    }
    const auto service = sample.label("service");
    if (!service || !name.starts_with("enchufe_")) continue;
    auto& s = service_named(out, *service);
    if (double* f = field(s, name)) {
      *f = sample.value;
    } else if (name == "enchufe_errors_total") {
      s.errors.emplace_back(std::string(sample.label("kind").value_or("")), sample.value);
    } else if (name == "enchufe_reply_latency_seconds_bucket") {
      const auto le = sample.label("le");
      if (const auto bound = le ? parse_value(*le) : std::nullopt) s.latency.buckets.emplace_back(*bound, sample.value);
    } else if (name == "enchufe_reply_latency_seconds_sum") {
      s.latency.sum = sample.value;
    } else if (name == "enchufe_reply_latency_seconds_count") {
      s.latency.count = sample.value;
    }
  }
  for (auto& s : out.services) {
    std::stable_sort(s.latency.buckets.begin(), s.latency.buckets.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  return out;
}

}  // namespace enchufe::stats
