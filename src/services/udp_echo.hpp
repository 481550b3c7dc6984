#pragma once
// Example 4 of the tutorial: answer every datagram with "Eco UDP: " + datagram.

#include "net/udp_server.hpp"

#include <string>

namespace enchufe::services {

struct UdpEchoOptions {
  std::string prefix = "Eco UDP: ";
  // Gets no reply. Unlike the tutorial's server, ours does not stop: any
  // stranger on the network could send it.
  std::string quit_word = "salir";
};

net::DatagramHandler udp_echo_handler(UdpEchoOptions options);

}  // namespace enchufe::services
