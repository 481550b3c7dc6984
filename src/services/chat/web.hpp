#pragma once
// The chat's web front door: the page (compiled into the binary), a health
// check, and the chat itself over WebSocket at /ws. See docs/web.md.

#include "net/http_server.hpp"
#include "net/tcp_server.hpp"
#include "net/websocket_session.hpp"
#include "services/chat/chat.hpp"

#include <string>
#include <vector>

namespace enchufe::services::chat {

struct WebOptions {
  // --web-origin: pages of these origins may open the chat's WebSocket
  // besides the server's own ("*": any). Browsers label every WebSocket
  // with the page's origin; without this check any site a visitor opens
  // could chat in their name.
  std::vector<std::string> allowed_origins;
  net::WebSocketOptions websocket;
};

// What the web front door's TcpServer runs.
net::Sessions web_sessions(const ChatService& chat, WebOptions options);

// Whether a WebSocket upgrade may proceed: no Origin (not a browser), the
// page's own host, or one of `allowed`.
bool origin_allowed(const net::HttpRequest& request, const std::vector<std::string>& allowed);

}  // namespace enchufe::services::chat
