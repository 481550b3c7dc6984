#pragma once
// HTTP/1.1 through Boost.Beast, on the same runtime as every other service:
// a TcpServer accepts (and bounds the number of connections), then each
// socket runs an HttpSession on the loop that owns it. What a request may
// cost is bounded (header bytes, a deadline per request), so a slow or
// hostile client holds no more than an idle connection. At shutdown a
// session answers the request in flight, then closes.
//
// The handler sees a parsed request and returns a response; it never sees
// the socket. A WebSocket route turns an upgrade request for its path into a
// WebSocketSession running a MessageProtocol (see websocket_session.hpp).

#include "net/asio.hpp"
#include "net/limits.hpp"
#include "net/message_link.hpp"
#include "net/tcp_server.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace enchufe::net {

namespace http = boost::beast::http;

// Requests carry no body (GET, HEAD): one with a body is refused.
using HttpRequest = http::request<http::empty_body>;
using HttpResponse = http::response<http::string_body>;
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpOptions {
  std::size_t max_header_bytes = limits::kMaxHttpHeaderBytes;
  std::chrono::milliseconds request_timeout = limits::kHttpRequestTimeout;
};

struct WebSocketOptions;  // websocket_session.hpp

// Upgrades to WebSocket on one path. `accept` sees the upgrade request and
// returns the protocol to run, or the response that refuses it (a foreign
// Origin, say).
struct WebSocketRoute {
  std::string path;  // "/ws"; empty: every path (a WebSocket-only port)
  std::function<std::variant<std::unique_ptr<MessageProtocol>, HttpResponse>(const HttpRequest&)> accept;
  std::shared_ptr<const WebSocketOptions> options;
};

// What a TcpServer runs to speak HTTP with `handler` (and WebSocket on
// `websocket`'s path, if given; `handler` may be empty when that route
// takes every path).
Sessions http_sessions(HttpHandler handler, HttpOptions options = {}, std::optional<WebSocketRoute> websocket = {});

// A port that speaks only WebSocket, on any path: each upgrade runs a new
// make_protocol(); a plain request is answered 426 Upgrade Required.
Sessions websocket_sessions(std::function<std::unique_ptr<MessageProtocol>()> make_protocol,
                            const WebSocketOptions& options);

// A response to `request` with `body` of `content_type`; HEAD gets the same
// headers without the body.
HttpResponse http_response(const HttpRequest& request, http::status status, std::string_view content_type,
                           std::string body);

}  // namespace enchufe::net
