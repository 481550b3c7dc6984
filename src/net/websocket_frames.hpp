#pragma once
// Names of WebSocket control frames, for --trace on both sides.

#include <boost/beast/websocket/stream.hpp>

#include <string_view>

namespace enchufe::net {

inline std::string_view frame_name(boost::beast::websocket::frame_type kind) {
  switch (kind) {
    case boost::beast::websocket::frame_type::ping: return "ping";
    case boost::beast::websocket::frame_type::pong: return "pong";
    case boost::beast::websocket::frame_type::close: return "close";
  }
  return "control";
}

}  // namespace enchufe::net
