#pragma once
// One WebSocket client (RFC 6455 through Boost.Beast), after an HttpSession
// read its upgrade request: the same life as a Connection's, with frames
// instead of lines. Beast does the framing and enforces it (masking, UTF-8,
// control frames, the size bound, pings); the session adds what a broadcast
// service needs on top:
//  - a bounded outbox: a client owing more than max_output is cut, so a page
//    that does not read never makes anyone else wait;
//  - one shared, immutable buffer per message for every recipient;
//  - a close handshake with a code that says why (1000 quit, 1001 shutdown,
//    1003 binary, 1007 bad UTF-8, 1008 flooding, 1009 too big);
//  - ordinary disconnects as error codes, never exceptions.

#include "net/connection.hpp"
#include "net/gathering_socket.hpp"
#include "net/http_server.hpp"
#include "net/message_link.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace enchufe::net {

struct WebSocketOptions {
  // Largest message a client may send; a bigger one closes with 1009.
  std::size_t max_message = limits::kWebSocketMaxMessage;
  // Bytes a client may owe before it is cut as too slow. Zero: it is not
  // read while it owes more than limits::kOutputHighWater (back-pressure).
  std::size_t max_output = 0;
  // Offer permessage-deflate (RFC 7692), with the bounded windows of
  // limits::kDeflateWindowBits and kDeflateMemLevel.
  bool deflate = true;
  // With nothing received (pongs count) for half of this, the server pings;
  // with still nothing by the end, it closes. Zero: never.
  std::chrono::milliseconds idle_timeout = limits::kWebSocketIdleTimeout;
  // Closes (1001) a client that sends no message for this long: a line
  // service's --idle-timeout. Pings and pongs do not count: this is about a
  // person or program gone quiet, idle_timeout about a peer gone. Zero: never.
  std::chrono::milliseconds silence_timeout{0};
  // Bound on the opening and closing handshakes.
  std::chrono::milliseconds handshake_timeout = limits::kHttpRequestTimeout;
};

// Completes the upgrade `request` asked for on `socket` (plain or TLS) and
// runs `protocol` over it, on `loop` (the socket's). Keeps the HTTP
// session's `slot` to its end.
void start_websocket(Loop& loop, GatheringSocket socket, HttpRequest request, std::string peer,
                     std::shared_ptr<ServerContext> context, ClientSlot slot,
                     std::unique_ptr<MessageProtocol> protocol, const WebSocketOptions& options);

}  // namespace enchufe::net
