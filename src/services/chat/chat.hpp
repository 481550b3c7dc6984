#pragma once
// The group chat (the tutorial's Challenge 2): rooms, nicknames, history,
// private messages, fair fan-out. See docs/chat.md and docs/web.md.

#include "net/connection.hpp"
#include "net/message_link.hpp"
#include "net/metrics.hpp"
#include "net/runtime.hpp"
#include "services/chat/history_store.hpp"
#include "services/chat/moderation/store.hpp"
#include "services/chat/options.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace enchufe::services::chat {

class ChatHub;

// One chat: a hub (rooms, names) spread over `runtime`'s loops, reached
// through any number of doors that all share it. With a registry, the rooms
// and their members are published as gauges; with a store, rooms keep
// their lines beyond memory (sqlite_history.hpp).
class ChatService {
 public:
  // `moderation_store`: where accounts and bans are kept (none: accounts
  // are refused, bans last until the restart).
  ChatService(net::Runtime& runtime, ChatOptions options, net::MetricsRegistry* registry = nullptr,
              std::shared_ptr<HistoryStore> store = nullptr,
              std::unique_ptr<moderation::Store> moderation_store = nullptr);

  // For a net::TcpServer: terminals speaking lines of text.
  std::function<std::unique_ptr<net::Protocol>()> line_protocol() const;
  // For a WebSocket: a page or a bot speaking JSON events (docs/web.md).
  std::unique_ptr<net::MessageProtocol> web_session() const;
  // For the doors' address gate: why a client from this address is
  // refused at accept (a server-wide ban), or nothing. Any thread.
  std::function<std::optional<std::string>(const asio::ip::address&)> address_check() const;

 private:
  std::shared_ptr<ChatHub> hub_;
};

// The connection settings a chat server wants by default.
net::ConnectionOptions chat_connection_defaults();

}  // namespace enchufe::services::chat
