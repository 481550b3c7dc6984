#include "net/udp_server.hpp"

#include "net/coroutine.hpp"
#include "net/limits.hpp"
#include "net/listen.hpp"
#include "net/log.hpp"
#include "net/trace.hpp"
#include "net/text.hpp"

#include "net/asio.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <boost/asio/post.hpp>

namespace enchufe::net {

// Datagrams are taken and answered in batches: one recvmmsg(2) for up to
// kBatch datagrams, one sendmmsg(2) for their replies, instead of two system
// calls per datagram.
struct UdpServer::Endpoint {
  static constexpr std::size_t kBatch = 32;
  // Every slot holds the largest datagram, so nothing is ever cut short the
  // way recvfrom(1024) does. The memory is left uninitialised: only the pages
  // a datagram touches become resident (a 100-byte datagram costs one page).
  static constexpr std::size_t kSlot = 64 * 1024;

  Loop& loop;
  UdpSocket socket;
  std::unique_ptr<char[]> in{new char[kBatch * kSlot]};
  std::unique_ptr<char[]> out{new char[kBatch * kSlot]};
  std::array<mmsghdr, kBatch> received{};
  std::array<iovec, kBatch> received_iov{};
  std::array<sockaddr_storage, kBatch> senders{};
  std::array<mmsghdr, kBatch> replies{};
  std::array<iovec, kBatch> reply_iov{};

  Endpoint(Loop& l, UdpSocket s) : loop(l), socket(std::move(s)) {}

  // Makes received[] ready for the next recvmmsg.
  void prepare_receive() {
    for (std::size_t i = 0; i < kBatch; ++i) {
      received_iov[i] = {in.get() + i * kSlot, kSlot};
      received[i].msg_hdr = {};
      received[i].msg_hdr.msg_name = &senders[i];
      received[i].msg_hdr.msg_namelen = sizeof senders[i];
      received[i].msg_hdr.msg_iov = &received_iov[i];
      received[i].msg_hdr.msg_iovlen = 1;
    }
  }
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
                      error_code& ec) {
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
        error_code ignored;
        endpoint->socket.close(ignored);
      });
    }
  });
}

UdpServer::~UdpServer() = default;

std::vector<asio::ip::udp::endpoint> UdpServer::local_endpoints() const {
  std::vector<asio::ip::udp::endpoint> out;
  for (const auto& e : endpoints_) {
    error_code ignored;
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
  LoopCounters& counters = metrics_->loop(e.loop.index());
  const int fd = e.socket.native_handle();
  while (e.socket.is_open()) {
    e.prepare_receive();
    const int got = ::recvmmsg(fd, e.received.data(), Endpoint::kBatch, MSG_DONTWAIT, nullptr);
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      if (errno != EINTR) {
        // E.g. ECONNREFUSED: an ICMP error about an earlier reply whose
        // sender had gone. It concerns that peer only; keep serving.
        log::at(log::Level::debug, {.service = name_, .event = "receive_failed"}, "receive: {}",
                error_code(errno, asio::error::get_system_category()).message());
      }
      continue;
    }

    std::size_t replies = 0;
    for (int i = 0; i < got; ++i) {
      const std::size_t n = e.received[i].msg_len;
      const std::string_view datagram(e.in.get() + i * Endpoint::kSlot, n);
      asio::ip::udp::endpoint from;
      std::memcpy(from.data(), &e.senders[i], e.received[i].msg_hdr.msg_namelen);
      counters.add(Counter::datagrams_in);
      counters.add(Counter::messages_in);
      counters.add(Counter::bytes_in, n);
      if (trace::on() || log::enabled(log::Level::debug)) {
        const std::string who = to_string(from);
        if (trace::on()) {
          trace::step({.service = name_, .peer = who}, "recvfrom", "{} bytes from {}: {}", n, who, preview(datagram));
        }
        log::at(log::Level::debug, {.service = name_, .peer = who, .event = "datagram"}, "{} says {}", who,
                preview(datagram));
      }
      char* slot = e.out.get() + replies * Endpoint::kSlot;
      const auto reply = handler_(datagram, from, std::span<char>(slot, max_reply));
      if (!reply) continue;
      if (trace::on()) {
        const std::string who = to_string(from);
        trace::step({.service = name_, .peer = who}, "sendto", "{} bytes to {}: {}", *reply, who,
                    preview({slot, *reply}));
      }
      e.reply_iov[replies] = {slot, *reply};
      e.replies[replies].msg_hdr = {};
      e.replies[replies].msg_hdr.msg_name = &e.senders[i];
      e.replies[replies].msg_hdr.msg_namelen = e.received[i].msg_hdr.msg_namelen;
      e.replies[replies].msg_hdr.msg_iov = &e.reply_iov[replies];
      e.replies[replies].msg_hdr.msg_iovlen = 1;
      ++replies;
    }

    // A reply the socket cannot take now is dropped (UDP may lose it anyway)
    // rather than stalling every other sender.
    std::size_t sent = 0;
    while (sent < replies) {
      const int r = ::sendmmsg(fd, e.replies.data() + sent, static_cast<unsigned>(replies - sent), MSG_DONTWAIT);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        // sendmmsg stops at the first failing datagram: skip it, try the rest.
        counters.add(Counter::datagrams_dropped);
        log::at(log::Level::debug, {.service = name_, .event = "reply_dropped"}, "reply dropped: {}",
                error_code(errno, asio::error::get_system_category()).message());
        ++sent;
        continue;
      }
      for (int k = 0; k < r; ++k) {
        counters.add(Counter::datagrams_out);
        counters.add(Counter::messages_out);
        counters.add(Counter::bytes_out, e.reply_iov[sent + k].iov_len);
      }
      sent += static_cast<std::size_t>(r);
    }

    if (got < static_cast<int>(Endpoint::kBatch)) {
      // Nothing read (EAGAIN), or a short batch that emptied the socket:
      // wait for the next datagram. After a short batch this saves the
      // recvmmsg that would only say EAGAIN (one system call per batch).
      // Readiness is edge-triggered and this loop's next epoll_wait runs
      // after our wait is queued, so a datagram arriving now is not missed.
      auto [ec] = co_await e.socket.async_wait(UdpSocket::wait_read, use_tuple);
      if (ec == asio::error::operation_aborted) break;
    } else {
      // A full batch: more may be waiting, but a flood on this socket must
      // not starve the loop's TCP connections (serve all); take turns.
      co_await asio::post(e.loop.executor(), asio::use_awaitable);
    }
  }
}

}  // namespace enchufe::net
