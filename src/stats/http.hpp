#pragma once
// Fetching /metrics: a small blocking HTTP/1.1 GET with one deadline for the
// whole exchange, and the response parser under it (pure, unit-tested).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enchufe::stats {

struct HttpResponse {
  int status = 0;      // 200
  std::string reason;  // "OK"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;    // de-chunked

  // A header's value (names compare without case), if present.
  std::optional<std::string_view> header(std::string_view name) const;
};

// Reads a response from the bytes received so far. Complete (a response):
// the headers and all of the body arrived (Content-Length, chunked, or, for
// neither, the connection ended: `at_eof`). Incomplete: nullopt with `error`
// empty (read more). Malformed, or the connection ended early: nullopt with
// `error` saying why.
std::optional<HttpResponse> parse_http_response(std::string_view raw, bool at_eof, std::string& error);

struct FetchOptions {
  std::string host = "localhost";
  std::uint16_t port = 0;
  std::string path = "/metrics";
  std::chrono::milliseconds timeout{2000};  // connect, send and receive, in all
};

// "http://127.0.0.1:9100/metrics" ([::1] in brackets).
std::string url_of(const FetchOptions& options);

// GETs the page and returns its body. Throws RuntimeError with a line a user
// can act on: "cannot reach http://...: Connection refused", "... timed out
// after 2.0 s", "... answered HTTP 404 Not Found".
std::string fetch(const FetchOptions& options);

}  // namespace enchufe::stats
