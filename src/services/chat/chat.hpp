#pragma once
// The group chat (the tutorial's Challenge 2): rooms, nicknames, history,
// private messages, fair fan-out. See docs/chat.md.

#include "net/connection.hpp"
#include "net/metrics.hpp"
#include "net/runtime.hpp"
#include "services/chat/options.hpp"

#include <functional>
#include <memory>

namespace enchufe::services::chat {

// A protocol factory for net::TcpServer; every connection it makes shares one
// hub (rooms, names) spread over `runtime`'s loops. With a registry, the
// rooms and their members are published as gauges.
std::function<std::unique_ptr<net::Protocol>()> chat_protocol(net::Runtime& runtime, ChatOptions options,
                                                              net::MetricsRegistry* registry = nullptr);

// The connection settings a chat server wants by default.
net::ConnectionOptions chat_connection_defaults();

}  // namespace enchufe::services::chat
