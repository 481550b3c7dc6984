#include "stats/http.hpp"

#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "net/text.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <exception>

namespace enchufe::stats {

namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Decodes a chunked body; nullopt (error empty) if not all of it is there yet.
std::optional<std::string> dechunk(std::string_view raw, std::string& error) {
  std::string body;
  for (;;) {
    const auto eol = raw.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view size_text = raw.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    size_text = trim_spaces(size_text);
    std::size_t size = 0;
    const auto [ptr, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (size_text.empty() || ec != std::errc{} || ptr != size_text.data() + size_text.size()) {
      error = fmt::format("bad chunk size '{}'", size_text);
      return std::nullopt;
    }
    raw.remove_prefix(eol + 2);
    if (size == 0) return body;  // trailers, if any, do not matter here
    if (raw.size() < 2 || raw.size() - 2 < size) return std::nullopt;  // not "size + 2": it may wrap
    body.append(raw.substr(0, size));
    raw.remove_prefix(size + 2);
  }
}

}  // namespace

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (same_name(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<HttpResponse> parse_http_response(std::string_view raw, bool at_eof, std::string& error) {
  error.clear();
  // Something else answering (a greeting, SSH, TLS) is said at once.
  constexpr std::string_view kHttp = "HTTP/";
  const std::size_t n = std::min(raw.size(), kHttp.size());
  if (raw.substr(0, n) != kHttp.substr(0, n)) {
    error = fmt::format("not an HTTP answer: {}", net::preview(raw.substr(0, raw.find_first_of("\r\n")), 40));
    return std::nullopt;
  }
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (at_eof) error = raw.empty() ? "the server closed the connection without answering" : "the answer ended early";
    return std::nullopt;
  }
  std::string_view head = raw.substr(0, head_end);
  std::string_view rest = raw.substr(head_end + 4);

  HttpResponse r;
  const auto status_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, status_end);
  head.remove_prefix(status_end == std::string_view::npos ? head.size() : status_end + 2);
  // "HTTP/1.1 200 OK"
  if (status_line.substr(0, 5) != "HTTP/" || status_line.find(' ') == std::string_view::npos) {
    error = fmt::format("not an HTTP answer: {}", net::preview(status_line, 40));
    return std::nullopt;
  }
  std::string_view code = status_line.substr(status_line.find(' ') + 1);
  const auto code_end = code.find(' ');
  r.reason = code_end == std::string_view::npos ? "" : std::string(code.substr(code_end + 1));
  code = code.substr(0, code_end);
  const auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), r.status);
  if (ec != std::errc{} || ptr != code.data() + code.size() || r.status < 100 || r.status > 999) {
    error = fmt::format("bad HTTP status line '{}'", status_line.substr(0, 60));
    return std::nullopt;
  }
  while (!head.empty()) {
    const auto eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(std::string(trim_spaces(line.substr(0, colon))),
                           std::string(trim_spaces(line.substr(colon + 1))));
  }

  const auto encoding = r.header("Transfer-Encoding");
  if (encoding && same_name(*encoding, "chunked")) {
    auto body = dechunk(rest, error);
    if (!body) {
      if (error.empty() && at_eof) error = "the answer ended early (chunked body cut)";
      return std::nullopt;
    }
    r.body = std::move(*body);
    return r;
  }
  if (const auto length_text = r.header("Content-Length")) {
    std::size_t length = 0;
    const auto [p, e] = std::from_chars(length_text->data(), length_text->data() + length_text->size(), length);
    if (e != std::errc{} || p != length_text->data() + length_text->size()) {
      error = fmt::format("bad Content-Length '{}'", *length_text);
      return std::nullopt;
    }
    if (rest.size() < length) {
      if (at_eof) error = fmt::format("the answer ended early ({} of {} bytes)", rest.size(), length);
      return std::nullopt;
    }
    r.body = rest.substr(0, length);
    return r;
  }
  if (!at_eof) return std::nullopt;  // the body lasts until the server closes
  r.body = rest;
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
  deadline.async_wait([&](const asio::error_code& ec) {
    if (ec) return;
    timed_out = true;
    asio::error_code ignored;
    socket.close(ignored);  // ends whatever the exchange is waiting for
  });

  std::string failure;  // why it did not work, if it did not
  std::optional<HttpResponse> response;
  std::exception_ptr bug;
  const bool v6_host = o.host.find(':') != std::string::npos;
  const std::string request =
      fmt::format("GET {} HTTP/1.1\r\nHost: {}{}{}:{}\r\nUser-Agent: enchufe-stats\r\nAccept: text/plain\r\n"
                  "Connection: close\r\n\r\n",
                  o.path, v6_host ? "[" : "", o.host, v6_host ? "]" : "", o.port);

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::error_code ec;
        for (const auto& address : addresses) {
          asio::error_code ignored;
          socket.close(ignored);
          std::tie(ec) = co_await socket.async_connect(tcp::endpoint(address, o.port), net::use_tuple);
          if (!ec || timed_out) break;
        }
        if (ec) {
          failure = fmt::format("cannot reach {}: {}", url, ec.message());
          co_return;
        }
        std::tie(ec, std::ignore) = co_await asio::async_write(socket, asio::buffer(request), net::use_tuple);
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
