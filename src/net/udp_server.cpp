#include "net/udp_server.hpp"

#include "net/coroutine.hpp"
#include "net/limits.hpp"
#include "net/listen.hpp"
#include "net/log.hpp"
#include "net/trace.hpp"
#include "net/text.hpp"

#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>

namespace enchufe::net {

struct UdpServer::Endpoint {
  Loop& loop;
  UdpSocket socket;
  // One receive and one reply buffer per socket: each holds the largest
  // datagram, so nothing is ever cut short the way recvfrom(1024) does.
  std::vector<char> in = std::vector<char>(64 * 1024);
  std::vector<char> out = std::vector<char>(64 * 1024);
  Endpoint(Loop& l, UdpSocket s) : loop(l), socket(std::move(s)) {}
};

UdpServer::UdpServer(Runtime& runtime, std::string name, const UdpServerOptions& options, DatagramHandler handler)
    : runtime_(runtime),
      name_(std::move(name)),
      handler_(std::move(handler)),
      metrics_(std::make_shared<ServiceMetrics>(name_, runtime.size())) {
  // UDP sockets go on the last loops, TCP listeners on the first ones, so
  // `serve all` spreads its sockets when there are several threads.
  auto loop_for = [this](std::size_t i) -> Loop& { return runtime_.loop(runtime_.size() - 1 - i % runtime_.size()); };
  std::size_t bound = 0;
  auto open_one = [&](const asio::ip::address& address, std::uint16_t port, bool mixed_families,
                      asio::error_code& ec) {
    UdpSocket socket(loop_for(bound).executor());
    const asio::ip::udp::endpoint endpoint(address, port);
    socket.open(endpoint.protocol(), ec);
    if (!ec && address.is_v6() && mixed_families) socket.set_option(asio::ip::v6_only(true), ec);
    if (!ec && trace::on()) {
      trace::step({.service = name_}, "1 socket", "a UDP socket ({}): no connections, just datagrams",
                  address.is_v6() ? "AF_INET6" : "AF_INET");
    }
    if (!ec) socket.bind(endpoint, ec);
    if (!ec && trace::on()) {
      trace::step({.service = name_}, "2 bind", "tied to {}; UDP needs no listen() or accept()",
                  to_string(socket.local_endpoint()));
    }
    // A reply that does not fit the send buffer is dropped (UDP may lose it
    // anyway) rather than stalling the loop.
    if (!ec) socket.non_blocking(true, ec);
    if (!ec) ++bound;
    return socket;
  };
  for (auto& socket : bind_all<UdpSocket>(name_, "UDP", options.host, options.port, open_one)) {
    endpoints_.push_back(std::make_unique<Endpoint>(loop_for(endpoints_.size()), std::move(socket)));
  }

  runtime_.on_stop([this] {
    for (auto& e : endpoints_) {
      asio::post(e->loop.context(), [endpoint = e.get()] {
        asio::error_code ignored;
        endpoint->socket.close(ignored);
      });
    }
  });
}

UdpServer::~UdpServer() = default;

std::vector<asio::ip::udp::endpoint> UdpServer::local_endpoints() const {
  std::vector<asio::ip::udp::endpoint> out;
  for (const auto& e : endpoints_) {
    asio::error_code ignored;
    out.push_back(e->socket.local_endpoint(ignored));
  }
  return out;
}

void UdpServer::start() {
  for (auto& e : endpoints_) {
    spawn(e->loop.executor(), [this, endpoint = e.get()] { return receive_loop(*endpoint); });
  }
}

asio::awaitable<void> UdpServer::receive_loop(Endpoint& e) {
  const std::size_t max_reply =
      e.socket.local_endpoint().address().is_v6() ? limits::kMaxUdpPayloadV6 : limits::kMaxUdpPayloadV4;
  asio::ip::udp::endpoint from;
  LoopCounters& counters = metrics_->loop(e.loop.index());
  while (e.socket.is_open()) {
    auto [ec, n] = co_await e.socket.async_receive_from(asio::buffer(e.in), from, use_tuple);
    if (ec == asio::error::operation_aborted || !e.socket.is_open()) break;
    if (ec) {
      // E.g. ECONNREFUSED: an ICMP error about an earlier reply whose sender
      // had gone. It concerns that peer only; keep serving.
      log::at(log::Level::debug, {.service = name_, .event = "receive_failed"}, "receive: {}", ec.message());
      continue;
    }
    const std::string_view datagram(e.in.data(), n);
    if (trace::on()) {
      const std::string who = to_string(from);
      trace::step({.service = name_, .peer = who}, "recvfrom", "{} bytes from {}: {}", n, who, preview(datagram));
    }
    counters.add(Counter::datagrams_in);
    counters.add(Counter::messages_in);
    counters.add(Counter::bytes_in, n);
    if (log::enabled(log::Level::debug)) {
      const std::string who = to_string(from);
      log::at(log::Level::debug, {.service = name_, .peer = who, .event = "datagram"}, "{} says {}", who,
              preview(datagram));
    }
    const auto reply = handler_(datagram, from, std::span<char>(e.out.data(), max_reply));
    if (!reply) continue;
    e.socket.send_to(asio::buffer(e.out.data(), *reply), from, 0, ec);
    if (trace::on()) {
      const std::string who = to_string(from);
      trace::step({.service = name_, .peer = who}, "sendto", "{} bytes to {}{}: {}", *reply, who,
                  ec ? fmt::format(" failed ({})", ec.message()) : "",
                  preview({e.out.data(), *reply}));
    }
    if (!ec) {
      counters.add(Counter::datagrams_out);
      counters.add(Counter::messages_out);
      counters.add(Counter::bytes_out, *reply);
    } else {
      counters.add(Counter::datagrams_dropped);
      const std::string who = to_string(from);
      log::at(log::Level::debug, {.service = name_, .peer = who, .event = "reply_dropped"}, "reply to {} dropped: {}",
              who, ec.message());
    }
  }
}

}  // namespace enchufe::net
