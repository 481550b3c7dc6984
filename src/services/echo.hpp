#pragma once
// Example 3 of the tutorial: answer every message with "Eco: " + message
// until the client says "salir".

#include "net/connection.hpp"

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

}  // namespace enchufe::services
