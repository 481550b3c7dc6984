#include "services/chat/chat.hpp"

#include "services/chat/hub.hpp"
#include "services/chat/doors.hpp"

#include <fmt/format.h>

namespace enchufe::services::chat {

ChatService::ChatService(net::Runtime& runtime, ChatOptions options, net::MetricsRegistry* registry,
                         std::shared_ptr<HistoryStore> store)
    : hub_(std::make_shared<ChatHub>(runtime, std::move(options), std::move(store))) {
  hub_->wait_for_store();
  if (registry != nullptr) {
    std::weak_ptr<ChatHub> weak = hub_;
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
  return o;
}

}  // namespace enchufe::services::chat
