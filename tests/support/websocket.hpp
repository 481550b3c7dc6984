#pragma once
// A WebSocket client for tests (Boost.Beast), with a deadline on every step:
// the chat's web door and the echo's WebSocket are driven the way a browser
// or a bot drives them. One read stays pending between calls, so a read that
// times out leaves the client usable (an "is it quiet?" check costs nothing),
// and pings and a close from the server are answered meanwhile.

#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace enchufe::test {

class WsClient {
 public:
  struct Options {
    std::string path = "/ws";
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Origin", "http://evil.example"}
    // Each step's deadline: connecting, the handshake, one whole write.
    Duration timeout = 5000ms;
    // Offer permessage-deflate (RFC 7692); extensions() says if it was taken.
    bool deflate = false;
  };
  // One message received, and whether it came as binary or text.
  struct Message {
    std::string data;
    bool binary = false;
  };

  // Connects and upgrades; throws std::runtime_error (with the server's
  // answer) when it cannot.
  static std::unique_ptr<WsClient> connect(const std::string& host, std::uint16_t port, Options options);
  static std::unique_ptr<WsClient> connect(const std::string& host, std::uint16_t port) {
    return connect(host, port, Options{});
  }
  // The upgrade's refusal: the HTTP status the server answered (0: it did
  // not answer) instead of 101.
  static int refused_status(const std::string& host, std::uint16_t port, Options options);

  ~WsClient();

  bool send_text(std::string_view text);
  bool send_binary(std::string_view bytes);
  // One frame of a message: the first fragment (`binary` sets the
  // message's type) and those after it are sent with fin false, the last
  // with fin true. Control frames (ping()) may go in between.
  bool send_fragment(std::string_view bytes, bool fin, bool binary = false);
  // A ping with `payload` (at most 125 bytes); pongs are collected as they
  // arrive and taken with next_pong().
  bool ping(std::string_view payload);
  // The payload of the next pong; nullopt on timeout or once the connection ended.
  std::optional<std::string> next_pong(Duration timeout = 3000ms);
  // The Sec-WebSocket-Extensions the server answered ("" if none).
  const std::string& extensions() const { return extensions_; }
  // {"type":"line","text":...}: what the page sends for a typed line.
  bool type(std::string_view line);

  // The next message (text or binary); nullopt on timeout or once the
  // connection ended.
  std::optional<Message> read_message(Duration timeout = 3000ms);
  // The same, its bytes only (text, for the chat's JSON events).
  std::optional<std::string> read(Duration timeout = 3000ms);
  // The next message parsed as an event object (an empty object on timeout).
  boost::json::object next_event(Duration timeout = 3000ms);
  // Reads events until one has type `type` (and, if given, text `text`);
  // returns it, or an empty object. Skipped events go to *skipped.
  boost::json::object wait_for(std::string_view type, std::string_view text = {}, Duration timeout = 3000ms,
                               std::vector<boost::json::object>* skipped = nullptr);
  // Everything that arrives during `window`, as raw messages.
  std::vector<std::string> drain(Duration window = 250ms);

  // True once the server closed the connection (close frame or not) within
  // `timeout`; close_code() then says with what (0: no close frame).
  bool closed_within(Duration timeout);
  int close_code() const { return close_code_; }
  std::string close_reason() const { return close_reason_; }

  // Sends a close frame and waits for the server's; close_code() is then
  // the code the server answered with.
  void close(int code = 1000);

 private:
  WsClient();
  void start_read();
  bool write(std::string_view bytes, bool binary, bool fin = true);
  template <typename Done>
  bool run_until(Done done, Duration timeout);

  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  boost::beast::flat_buffer buffer_;
  Duration timeout_ = 5000ms;
  std::string extensions_;
  std::deque<Message> inbox_;
  std::deque<std::string> pongs_;
  bool reading_ = false;
  bool ended_ = false;
  int close_code_ = 0;
  std::string close_reason_;
};

// An event as compact JSON, for failure messages.
std::string to_string(const boost::json::object& event);

}  // namespace enchufe::test
