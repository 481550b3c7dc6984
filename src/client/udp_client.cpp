// `enchufe connect --udp HOST PORT`: one datagram per line, as the tutorial's
// UDP client sends them, but with a timeout instead of waiting forever for a
// reply that UDP may have lost.

#include "client/console.hpp"
#include "client/options.hpp"
#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/runtime.hpp"
#include "net/text.hpp"

#include "net/asio.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <deque>
#include <vector>

namespace enchufe::client {

namespace {

using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;

class UdpClient {
 public:
  UdpClient(asio::io_context& context, const ClientOptions& options)
      : context_(context), options_(options), socket_(context), console_(make_console(context, options.prompt)), wake_(context),
        timeout_(context), reply_(64 * 1024) {}

  int run() {
    addresses_ = net::resolve(options_.host, false);
    if (!use_address(0)) return 1;
    console_->start([this](std::optional<std::string> line) {
      lines_.push_back(std::move(line));
      wake_.cancel();
    });
    net::spawn(context_.get_executor(), [this] { return session(); });
    context_.run();
    return exit_code_;
  }

 private:
  // A connected UDP socket: replies from anyone else are filtered out, and an
  // ICMP "port unreachable" surfaces as ECONNREFUSED instead of silence.
  bool use_address(std::size_t index) {
    error_code ec;
    for (current_ = index; current_ < addresses_.size(); ++current_) {
      socket_.close(ec);
      const udp::endpoint server(addresses_[current_], options_.port);
      socket_.open(server.protocol(), ec);
      if (options_.trace && !ec) trace("1 socket", "a UDP socket; connect() only fixes the peer, nothing is sent");
      if (!ec) socket_.connect(server, ec);
      if (!ec) return true;
    }
    console_->notice(fmt::format("cannot reach {}:{}: {}", options_.host, options_.port, ec.message()));
    exit_code_ = 1;
    return false;
  }

  asio::awaitable<std::optional<std::string>> next_line() {
    while (lines_.empty()) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(net::use_tuple);
    }
    auto line = std::move(lines_.front());
    lines_.pop_front();
    if (line) console_->line_done();
    co_return line;
  }

  asio::awaitable<void> session() {
    while (auto line = co_await next_line()) {
      print_late_replies();
      if (!co_await exchange(*line)) break;
    }
    context_.stop();
  }

  // Sends one datagram and prints its reply. False when the client must stop.
  asio::awaitable<bool> exchange(const std::string& line) {
    error_code ec;
    socket_.send(asio::buffer(line), 0, ec);
    if (options_.trace) {
      trace("sendto", "{} bytes to {}{}", line.size(), net::to_string(addresses_[current_], options_.port),
            ec ? fmt::format(": failed ({})", ec.message()) : "");
    }
    if (ec) {
      console_->notice(fmt::format("cannot send: {}", ec.message()));
      exit_code_ = 1;
      co_return false;
    }
    if (net::is_word(line, options_.quit_word)) co_return false;  // as in the tutorial: no reply awaited

    timeout_.expires_after(options_.udp_timeout);
    auto result = co_await (socket_.async_receive(asio::buffer(reply_), net::use_tuple) ||
                            timeout_.async_wait(net::use_tuple));
    if (result.index() == 1) {
      console_->notice(fmt::format("no reply within {} ms: the datagram or its reply may have been lost",
                                  options_.udp_timeout.count()));
      exit_code_ = 1;
      co_return true;
    }
    auto [receive_error, n] = std::get<0>(result);
    if (options_.trace) {
      trace("recvfrom", "{}", receive_error ? fmt::format("failed: {}", receive_error.message())
                                            : fmt::format("{} bytes: {}", n, net::preview({reply_.data(), n})));
    }
    if (receive_error == asio::error::connection_refused && current_ + 1 < addresses_.size()) {
      // Nothing listens on this address (say ::1); the next may be the one.
      if (!use_address(current_ + 1)) co_return false;
      co_return co_await exchange(line);
    }
    if (receive_error) {
      console_->notice(fmt::format("no UDP server at {}: {}", net::to_string(addresses_[current_], options_.port),
                                  receive_error.message()));
      exit_code_ = 1;
      co_return true;
    }
    print_reply({reply_.data(), n});
    co_return true;
  }

  template <typename... Args>
  void trace(std::string_view step, fmt::format_string<Args...> format, Args&&... args) {
    client::trace(*console_, step, format, std::forward<Args>(args)...);
  }

  // Replies that arrived after their timeout belong to earlier lines: show
  // them now rather than passing them off as the answer to the next one.
  void print_late_replies() {
    error_code ec;
    while (socket_.available(ec) > 0 && !ec) {
      const std::size_t n = socket_.receive(asio::buffer(reply_), 0, ec);
      if (ec) break;
      print_reply({reply_.data(), n});
    }
  }

  void print_reply(std::string_view datagram) {
    // One datagram, one line, like the tutorial's print(datos.decode()).
    std::string line(datagram);
    line += '\n';
    console_->print_incoming(line);
  }

  asio::io_context& context_;
  const ClientOptions& options_;
  udp::socket socket_;
  std::unique_ptr<Console> console_;
  asio::steady_timer wake_;
  asio::steady_timer timeout_;
  std::vector<char> reply_;
  std::deque<std::optional<std::string>> lines_;
  std::vector<asio::ip::address> addresses_;
  std::size_t current_ = 0;
  int exit_code_ = 0;
};

}  // namespace

int run_udp_client(const ClientOptions& options) {
  net::ignore_sigpipe();
  asio::io_context context;
  UdpClient client(context, options);
  return client.run();
}

}  // namespace enchufe::client
