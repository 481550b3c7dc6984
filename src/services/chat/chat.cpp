#include "services/chat/chat.hpp"

#include "services/chat/hub.hpp"
#include "services/chat/doors.hpp"
#include "services/chat/moderation/passwords.hpp"

#include <fmt/format.h>

namespace enchufe::services::chat {

namespace {

// The store's side of --metrics: a disk that fills shows here as well as in
// the log (lines waiting, failing 1), and so does a queue that overflowed.
void add_store_metrics(net::MetricsRegistry& registry, const std::shared_ptr<HistoryStore>& store) {
  using Values = net::MetricsRegistry::GaugeValues;
  const std::weak_ptr<HistoryStore> weak = store;
  const auto read = [weak](auto field) {
    return [weak, field] {
      const auto s = weak.lock();
      return Values{{"", s ? static_cast<double>(field(s->stats())) : 0.0}};
    };
  };
  registry.add_counter("enchufe_chat_history_stored_total", "Chat lines written to the history store.",
                       read([](const HistoryStats& s) { return s.stored; }));
  registry.add_counter("enchufe_chat_history_not_stored_total",
                       "Chat lines the history store did not keep: its queue was full, or writing them failed "
                       "until it gave up (the chat went on from memory).",
                       read([](const HistoryStats& s) { return s.not_stored; }));
  registry.add_gauge("enchufe_chat_history_waiting", "Chat lines taken by the history store, not written yet.",
                     read([](const HistoryStats& s) { return s.waiting; }));
  registry.add_gauge("enchufe_chat_history_failing",
                     "1 while writing to the history store fails (the chat goes on from memory).",
                     read([](const HistoryStats& s) { return s.failing ? 1 : 0; }));
}

// The cluster's side of --metrics: a Redis away shows here as well as in
// the log, and so do the lines only this node's members saw meanwhile.
void add_cluster_metrics(net::MetricsRegistry& registry, const std::shared_ptr<cluster::Bus>& bus) {
  using Values = net::MetricsRegistry::GaugeValues;
  const std::weak_ptr<cluster::Bus> weak = bus;
  registry.add_gauge("enchufe_cluster_shard_up", "1 while this node's subscription to the Redis shard holds.", [weak] {
    Values out;
    if (const auto b = weak.lock()) {
      for (const auto& [url, up] : b->stats().shards) out.emplace_back(fmt::format("shard=\"{}\"", url), up ? 1 : 0);
    }
    return out;
  });
  registry.add_gauge("enchufe_cluster_rooms_out_of_touch",
                     "Rooms whose lines reach only this node's members now: their Redis is away.", [weak] {
                       const auto b = weak.lock();
                       return Values{{"", b ? static_cast<double>(b->stats().rooms_out_of_touch) : 0.0}};
                     });
  registry.add_counter("enchufe_cluster_lines_here_only_total",
                       "Room lines shown only to this node's members, unnumbered: their Redis was away or the "
                       "publish failed.",
                       [weak] {
                         const auto b = weak.lock();
                         return Values{{"", b ? static_cast<double>(b->stats().lines_here_only) : 0.0}};
                       });
}

}  // namespace

ChatService::ChatService(net::Runtime& runtime, ChatOptions options, net::MetricsRegistry* registry,
                         std::shared_ptr<HistoryStore> store, std::unique_ptr<moderation::Store> moderation_store)
    : hub_(std::make_shared<ChatHub>(runtime, std::move(options), store, std::move(moderation_store))) {
  hub_->wait_for_store();
  if (registry != nullptr && store != nullptr) add_store_metrics(*registry, store);
  if (registry != nullptr && hub_->cluster()) add_cluster_metrics(*registry, hub_->cluster());
  if (registry != nullptr) {
    std::weak_ptr<ChatHub> weak = hub_;
    registry->add_counter("enchufe_chat_password_hashes_total",
                          "Password hashes computed (registrations and logins): login throttling keeps guessing "
                          "from showing here.",
                          [] {
                            return net::MetricsRegistry::GaugeValues{
                                {"", static_cast<double>(moderation::hashes_computed())}};
                          });
    registry->add_gauge("enchufe_chat_rooms", "Chat rooms that exist now.", [weak] {
      const auto hub = weak.lock();
      return net::MetricsRegistry::GaugeValues{{"", hub ? static_cast<double>(hub->rooms().size()) : 0.0}};
    });
    registry->add_gauge("enchufe_chat_room_members", "Members of each chat room.", [weak] {
      net::MetricsRegistry::GaugeValues out;
      if (const auto hub = weak.lock()) {
        for (const auto& [room, members] : hub->rooms()) {
          out.emplace_back(fmt::format("room=\"{}\"", room), static_cast<double>(members));
        }
      }
      return out;
    });
  }
}

std::function<std::unique_ptr<net::Protocol>()> ChatService::line_protocol() const {
  return [hub = hub_] { return std::make_unique<LineChat>(hub); };
}

std::function<std::optional<std::string>(const asio::ip::address&)> ChatService::address_check() const {
  return [weak = std::weak_ptr<ChatHub>(hub_)](const asio::ip::address& address) -> std::optional<std::string> {
    const auto hub = weak.lock();
    return hub ? hub->refusal_for(address) : std::nullopt;
  };
}

std::unique_ptr<net::MessageProtocol> ChatService::web_session() const {
  return std::make_unique<WebChat>(hub_);
}

net::ConnectionOptions chat_connection_defaults() {
  net::ConnectionOptions o;
  o.max_line = kChatMaxLine;
  o.max_output = kChatMaxOutput;
  o.idle_timeout = kChatIdleTimeout;
  o.keepalive = true;
  // People type lines; a line split across TCP segments is still one line.
  o.whole_lines_only = true;
  o.secret = carries_password;
  return o;
}

}  // namespace enchufe::services::chat
