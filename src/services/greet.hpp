#pragma once
// Example 1 of the tutorial: greet each client and close, over TCP or
// WebSocket.

#include "net/connection.hpp"
#include "net/message_link.hpp"

#include <functional>
#include <memory>
#include <string>

namespace enchufe::services {

struct GreetOptions {
  // The tutorial's greeting with our name; sent as is, without a newline,
  // exactly as the tutorial's server does.
  std::string message = "Hola, cliente. Bienvenido al servidor enchufe!";
};

struct GreetProtocols {
  std::function<std::unique_ptr<net::Protocol>()> line;            // for net::TcpServer
  std::function<std::unique_ptr<net::MessageProtocol>()> message;  // for net::websocket_sessions
};

// `on_served` (may be empty) runs after each client is done, whichever door
// it came in by, e.g. to stop after one client (--once).
GreetProtocols greet_protocols(GreetOptions options, std::function<void()> on_served);

}  // namespace enchufe::services
