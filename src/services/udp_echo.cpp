#include "services/udp_echo.hpp"

#include "net/endpoint.hpp"
#include "net/log.hpp"
#include "net/text.hpp"

#include <algorithm>
#include <cstring>

namespace enchufe::services {

net::DatagramHandler udp_echo_handler(UdpEchoOptions options) {
  return [options = std::move(options)](std::string_view datagram, const asio::ip::udp::endpoint& from,
                                        std::span<char> reply) -> std::optional<std::size_t> {
    if (net::is_word(datagram, options.quit_word)) {
      const std::string who = net::to_string(from);
      log::at(log::Level::info, {.service = "udp-echo", .peer = who, .event = "quit_word_ignored"},
              "{} sent {}: no reply, and the server keeps running", who, net::preview(datagram));
      return std::nullopt;
    }
    // Prefix plus the largest datagram can exceed what one datagram carries
    // (65,507 bytes over IPv4): then the reply is cut to the limit.
    const std::size_t prefix = std::min(options.prefix.size(), reply.size());
    const std::size_t body = std::min(datagram.size(), reply.size() - prefix);
    std::memcpy(reply.data(), options.prefix.data(), prefix);
    std::memcpy(reply.data() + prefix, datagram.data(), body);
    if (body < datagram.size()) {
      const std::string who = net::to_string(from);
      log::at(log::Level::warn, {.service = "udp-echo", .peer = who, .event = "reply_truncated"},
              "reply to {} cut to {} bytes, the largest datagram", who, reply.size());
    }
    return prefix + body;
  };
}

}  // namespace enchufe::services
