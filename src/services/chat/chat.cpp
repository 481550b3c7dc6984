#include "services/chat/chat.hpp"

#include "services/chat/hub.hpp"
#include "services/chat/session.hpp"

namespace enchufe::services::chat {

std::function<std::unique_ptr<net::Protocol>()> chat_protocol(net::Runtime& runtime, ChatOptions options) {
  auto hub = std::make_shared<ChatHub>(runtime, std::move(options));
  return [hub] { return std::make_unique<ChatSession>(hub); };
}

net::ConnectionOptions chat_connection_defaults() {
  net::ConnectionOptions o;
  o.max_line = kChatMaxLine;
  o.max_output = kChatMaxOutput;
  o.idle_timeout = kChatIdleTimeout;
  o.keepalive = true;
  return o;
}

}  // namespace enchufe::services::chat
