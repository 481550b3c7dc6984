#pragma once
// Example 3 of the tutorial: answer every message with "Eco: " + message
// until the client says "salir". Over TCP a message is a line; over
// WebSocket it is a message, text or binary, answered in kind.

#include "net/connection.hpp"
#include "net/message_link.hpp"

#include <functional>
#include <memory>
#include <string>

namespace enchufe::services {

struct EchoOptions {
  std::string prefix = "Eco: ";
  // Closes the connection without a reply (any case, surrounding spaces ignored).
  std::string quit_word = "salir";
};

// A protocol factory for net::TcpServer.
std::function<std::unique_ptr<net::Protocol>()> echo_protocol(EchoOptions options);

// The same over WebSocket (net::websocket_sessions). With an empty prefix it
// is an exact echo, the mode conformance suites drive.
std::function<std::unique_ptr<net::MessageProtocol>()> echo_message_protocol(EchoOptions options);

}  // namespace enchufe::services
