#include "stats/http.hpp"

#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "net/text.hpp"

#include "net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <exception>

namespace enchufe::stats {

namespace {

namespace http = boost::beast::http;

// /metrics of a very busy server is a few hundred kilobytes; past this the
// answer is not one we want to hold in memory.
constexpr std::uint64_t kMaxBodyBytes = 64 * 1024 * 1024;

}  // namespace

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (boost::beast::iequals(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<HttpResponse> parse_http_response(std::string_view raw, bool at_eof, std::string& error) {
  error.clear();
  // Something else answering (a greeting, SSH, TLS) is said at once, in its
  // own words, before Beast would call it a bad version.
  constexpr std::string_view kHttp = "HTTP/";
  const std::size_t n = std::min(raw.size(), kHttp.size());
  if (raw.substr(0, n) != kHttp.substr(0, n)) {
    error = fmt::format("not an HTTP answer: {}", net::preview(raw.substr(0, raw.find_first_of("\r\n")), 40));
    return std::nullopt;
  }
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(kMaxBodyBytes);
  error_code ec;
  for (std::size_t used = 0; used < raw.size() && !parser.is_done();) {
    const auto taken = parser.put(asio::buffer(raw.data() + used, raw.size() - used), ec);
    used += taken;
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec) {
      error = fmt::format("bad HTTP answer: {}", ec.message());
      return std::nullopt;
    }
    if (taken == 0) break;
  }
  if (!parser.is_done() && at_eof) {
    // Without a length the body lasts until the server closes: that ends it.
    if (parser.is_header_done()) parser.put_eof(ec);
    if (!parser.is_header_done() || ec) {
      error = raw.empty() ? "the server closed the connection without answering" : "the answer ended early";
      return std::nullopt;
    }
  }
  if (!parser.is_done()) return std::nullopt;

  auto message = parser.release();
  // Beast takes any three digits; HTTP's codes start at 100.
  if (message.result_int() < 100) {
    error = fmt::format("bad HTTP answer: status {:03}", message.result_int());
    return std::nullopt;
  }
  HttpResponse r;
  r.status = static_cast<int>(message.result_int());
  r.reason = std::string(message.reason());
  for (const auto& field : message) r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  r.body = std::move(message.body());
  return r;
}

std::string url_of(const FetchOptions& o) {
  const bool v6 = o.host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", o.host, v6 ? "]" : "", o.port, o.path);
}

std::string fetch(const FetchOptions& o) {
  using asio::ip::tcp;
  const std::string url = url_of(o);
  std::vector<asio::ip::address> addresses;
  try {
    addresses = net::resolve(o.host, false);
  } catch (const std::exception& e) {
    throw RuntimeError(fmt::format("cannot reach {}: {}", url, e.what()));
  }

  asio::io_context io(1);
  tcp::socket socket(io);
  asio::steady_timer deadline(io);
  bool timed_out = false;
  deadline.expires_after(o.timeout);
  deadline.async_wait([&](const error_code& ec) {
    if (ec) return;
    timed_out = true;
    error_code ignored;
    socket.close(ignored);  // ends whatever the exchange is waiting for
  });

  std::string failure;  // why it did not work, if it did not
  std::optional<HttpResponse> response;
  std::exception_ptr bug;
  const bool v6_host = o.host.find(':') != std::string::npos;
  http::request<http::empty_body> request{http::verb::get, o.path, 11};
  request.set(http::field::host, fmt::format("{}{}{}:{}", v6_host ? "[" : "", o.host, v6_host ? "]" : "", o.port));
  request.set(http::field::user_agent, "enchufe-stats");
  request.set(http::field::accept, "text/plain");
  request.keep_alive(false);

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        error_code ec;
        for (const auto& address : addresses) {
          error_code ignored;
          socket.close(ignored);
          std::tie(ec) = co_await socket.async_connect(tcp::endpoint(address, o.port), net::use_tuple);
          if (!ec || timed_out) break;
        }
        if (ec) {
          failure = fmt::format("cannot reach {}: {}", url, ec.message());
          co_return;
        }
        std::tie(ec, std::ignore) = co_await http::async_write(socket, request, net::use_tuple);
        if (ec) {
          failure = fmt::format("cannot reach {}: {}", url, ec.message());
          co_return;
        }
        std::string raw;
        char buffer[16 * 1024];
        for (;;) {
          auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(buffer), net::use_tuple);
          raw.append(buffer, n);
          const bool at_eof = read_ec == asio::error::eof;
          if (read_ec && !at_eof) {
            failure = fmt::format("reading {}: {}", url, read_ec.message());
            co_return;
          }
          std::string error;
          response = parse_http_response(raw, at_eof, error);
          if (response) co_return;
          if (!error.empty()) {
            failure = fmt::format("reading {}: {}", url, error);
            co_return;
          }
        }
      },
      [&](std::exception_ptr e) {
        bug = e;
        deadline.cancel();
      });
  io.run();
  if (bug) std::rethrow_exception(bug);
  if (timed_out) {
    throw RuntimeError(fmt::format("no answer from {}: timed out after {:.1f} s", url,
                                   std::chrono::duration<double>(o.timeout).count()));
  }
  if (!failure.empty()) throw RuntimeError(failure);
  if (!response) throw RuntimeError(fmt::format("no answer from {}", url));
  if (response->status != 200) {
    throw RuntimeError(fmt::format("{} answered HTTP {} {}", url, response->status, response->reason));
  }
  return std::move(response->body);
}

}  // namespace enchufe::stats
