#pragma once
// Example 1 of the tutorial: greet each client and close.

#include "net/connection.hpp"

#include <functional>
#include <memory>
#include <string>

namespace enchufe::services {

struct GreetOptions {
  // The tutorial's greeting with our name; sent as is, without a newline,
  // exactly as the tutorial's server does.
  std::string message = "Hola, cliente. Bienvenido al servidor enchufe!";
};

// A protocol factory for net::TcpServer. `on_served` (may be empty) runs
// after each client is done, e.g. to stop after one client (--once).
std::function<std::unique_ptr<net::Protocol>()> greet_protocol(GreetOptions options, std::function<void()> on_served);

}  // namespace enchufe::services
