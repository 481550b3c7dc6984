#include "net/tcp_server.hpp"

#include "net/coroutine.hpp"
#include "net/listen.hpp"
#include "net/log.hpp"
#include "net/trace.hpp"

#include "net/asio.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include <cerrno>

namespace enchufe::net {

struct TcpServer::Listener {
  Loop& loop;
  Acceptor acceptor;
  Timer backoff;
  Listener(Loop& l, Acceptor a) : loop(l), acceptor(std::move(a)), backoff(l.executor()) {}
};

namespace {

// Accept failed for lack of descriptors or kernel memory: retrying at once
// would spin on the same pending connection.
bool out_of_resources(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec == error_code(ENFILE, asio::error::get_system_category()) ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

Sessions line_sessions() {
  return Sessions{
      .start = start_connection,
      .refusal = [](std::string_view sentence) { return fmt::format("{}\n", sentence); },
  };
}

TcpServer::TcpServer(Runtime& runtime, std::string name, const TcpServerOptions& options,
                     std::function<std::unique_ptr<Protocol>()> make_protocol, Sessions sessions)
    : TcpServer(runtime, std::move(name), options,
                sessions.start ? std::move(sessions) : line_sessions()) {
  context_->make_protocol = std::move(make_protocol);
}

TcpServer::TcpServer(Runtime& runtime, std::string name, const TcpServerOptions& options, Sessions sessions)
    : runtime_(runtime),
      max_connections_(options.max_connections),
      gate_(options.gate),
      refusal_(std::move(sessions.refusal)),
      context_(std::make_shared<ServerContext>()) {
  context_->name = std::move(name);
  context_->start_session = std::move(sessions.start);
  context_->options = options.connection;
  if (options.shared_count) context_->active = options.shared_count;
  context_->metrics = std::make_shared<ServiceMetrics>(context_->name, runtime_.size());

  auto loop_for = [this](std::size_t i) -> Loop& { return runtime_.loop(i % runtime_.size()); };
  std::size_t bound = 0;
  auto open_one = [&](const asio::ip::address& address, std::uint16_t port, bool mixed_families,
                      error_code& ec) {
    Acceptor acceptor(loop_for(bound).executor());
    const asio::ip::tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    // Restarting right after a stop must not fail on TIME_WAIT leftovers.
    if (!ec) acceptor.set_option(Acceptor::reuse_address(true), ec);
    // "::" next to "0.0.0.0": each socket serves its own family.
    if (!ec && address.is_v6() && mixed_families) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec && trace::on()) {
      trace::step({.service = context_->name}, "1 socket", "a TCP socket ({}), the server's door",
                  address.is_v6() ? "AF_INET6" : "AF_INET");
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec && trace::on()) {
      trace::step({.service = context_->name}, "2 bind", "tied to {}{}", to_string(acceptor.local_endpoint()),
                  port == 0 ? " (port 0: the kernel picked a free one)" : "");
    }
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec && trace::on()) {
      trace::step({.service = context_->name}, "3 listen",
                  "listening, backlog {}: the kernel completes connections and queues them until accept() takes them",
                  static_cast<int>(asio::socket_base::max_listen_connections));
    }
    if (!ec) ++bound;
    return acceptor;
  };
  for (auto& acceptor : bind_all<Acceptor>(context_->name, "TCP", options.host, options.port, open_one)) {
    listeners_.push_back(std::make_unique<Listener>(loop_for(listeners_.size()), std::move(acceptor)));
  }

  runtime_.on_stop([this] {
    for (auto& l : listeners_) {
      asio::post(l->loop.context(), [listener = l.get()] {
        error_code ignored;
        listener->acceptor.close(ignored);
        listener->backoff.cancel();
      });
    }
  });
}

TcpServer::~TcpServer() = default;

std::vector<asio::ip::tcp::endpoint> TcpServer::local_endpoints() const {
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& l : listeners_) {
    error_code ignored;
    out.push_back(l->acceptor.local_endpoint(ignored));
  }
  return out;
}

void TcpServer::start() {
  for (auto& l : listeners_) {
    spawn(l->loop.executor(), [this, listener = l.get()] { return accept_loop(*listener); });
  }
}

asio::awaitable<void> TcpServer::accept_loop(Listener& listener) {
  const auto context = context_;
  auto backoff = std::chrono::duration_cast<Clock::duration>(limits::kAcceptBackoffMin);
  bool starved = false;
  while (listener.acceptor.is_open()) {
    Loop& target = runtime_.next_loop();
    // The peer's address comes with the accept: asking the socket later fails
    // once the client has reset.
    asio::ip::tcp::endpoint peer;
    auto [ec, socket] = co_await listener.acceptor.async_accept(target.context(), peer, use_tuple);
    if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) break;
    if (out_of_resources(ec)) {
      if (!starved) {
        log::at(log::Level::warn, {.service = context->name, .event = "accept_starved"},
                "cannot accept: {}; retrying with back-off while current clients are served", ec.message());
      }
      starved = true;
      listener.backoff.expires_after(backoff);
      co_await listener.backoff.async_wait(use_tuple);
      backoff = std::min<Clock::duration>(backoff * 2, limits::kAcceptBackoffMax);
      continue;
    }
    if (ec) {
      // The client vanished between connect and accept (ECONNABORTED and
      // the like): nothing to serve, nothing to fix.
      log::at(log::Level::debug, {.service = context->name, .event = "accept_failed"}, "accept: {}", ec.message());
      continue;
    }
    if (starved) log::at(log::Level::info, {.service = context->name, .event = "accept_resumed"}, "accepting again");
    starved = false;
    backoff = limits::kAcceptBackoffMin;

    auto slot = admit(socket, peer, context->metrics->loop(listener.loop.index()));
    if (!slot) continue;
    if (trace::on()) {
      const std::string who = to_string(peer);
      trace::step({.service = context->name, .peer = who}, "4 accept",
                  "{} connected: accept() returned a new socket for this client; the listening one keeps listening",
                  who);
    }
    asio::post(target.context(), [context, peer, socket = std::move(socket), slot = std::move(*slot)]() mutable {
      context->start_session(*Loop::current(), std::move(socket), peer, context, std::move(slot), nullptr);
    });
  }
}

std::optional<ClientSlot> TcpServer::admit(TcpSocket& socket, const asio::ip::tcp::endpoint& peer,
                                           LoopCounters& counters) {
  if (context_->active->load(std::memory_order_relaxed) >= max_connections_) {
    refuse(socket, peer, counters, "refused",
           fmt::format("already {} connections (--max-connections)", max_connections_),
           fmt::format("error: server full ({} connections); try again later", max_connections_));
    return std::nullopt;
  }
  AddressGate::Ticket ticket;
  if (gate_) {
    auto verdict = gate_->admit(peer.address());
    if (const auto* sentence = std::get_if<std::string>(&verdict)) {
      // The log says why without the client's "error: " in front.
      std::string_view why = *sentence;
      if (why.starts_with("error: ")) why.remove_prefix(std::string_view("error: ").size());
      refuse(socket, peer, counters, "refused_address", why, *sentence);
      return std::nullopt;
    }
    ticket = std::move(std::get<AddressGate::Ticket>(verdict));
  }
  counters.add(Counter::accepted);
  return ClientSlot(context_->active, std::move(ticket), peer.address());
}

void TcpServer::refuse(TcpSocket& socket, const asio::ip::tcp::endpoint& peer, LoopCounters& counters,
                       std::string_view event, std::string_view why, std::string_view sentence) {
  counters.add(Counter::refused);
  const std::string who = to_string(peer);
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  std::int64_t last = last_refusal_logged_ms_.load(std::memory_order_relaxed);
  if (now_ms - last >= 1000 && last_refusal_logged_ms_.compare_exchange_strong(last, now_ms)) {
    const std::uint64_t more = refusals_not_logged_.exchange(0, std::memory_order_relaxed);
    log::at(log::Level::warn, {.service = context_->name, .peer = who, .event = event}, "refused {}: {}{}", who, why,
            more == 0 ? std::string() : fmt::format(" (and {} more refused in the last seconds, not logged)", more));
  } else {
    refusals_not_logged_.fetch_add(1, std::memory_order_relaxed);
    log::at(log::Level::debug, {.service = context_->name, .peer = who, .event = event}, "refused {}: {}", who, why);
  }
  error_code ec;
  socket.non_blocking(true, ec);
  if (refusal_) socket.write_some(asio::buffer(refusal_(sentence)), ec);
  socket.shutdown(asio::socket_base::shutdown_send, ec);
  // Take what the client already sent, so closing sends FIN, not a reset that
  // could destroy the refusal before it is read.
  char sink[1024];
  socket.read_some(asio::buffer(sink), ec);
  socket.close(ec);
}

}  // namespace enchufe::net
