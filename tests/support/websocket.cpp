#include "support/websocket.hpp"

#include <boost/asio/connect.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

namespace enchufe::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;

WsClient::WsClient() : ws_(io_) {
  // Big enough for the largest echo a test asks for (16 MiB and a prefix).
  ws_.read_message_max(64u << 20);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong) pongs_.emplace_back(payload);
  });
}

WsClient::~WsClient() {
  boost::system::error_code ignored;
  ws_.next_layer().close(ignored);
}

template <typename Done>
bool WsClient::run_until(Done done, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    const auto left = deadline - Clock::now();
    if (left <= Duration(0)) return false;
    if (io_.stopped()) io_.restart();
    io_.run_one_for(left);
  }
  return true;
}

std::unique_ptr<WsClient> WsClient::connect(const std::string& host, std::uint16_t port, Options options) {
  std::unique_ptr<WsClient> client(new WsClient());
  client->timeout_ = options.timeout;
  auto& ws = client->ws_;
  boost::system::error_code ec;
  bool done = false;
  ws.next_layer().async_connect(tcp::endpoint(asio::ip::make_address(host), port), [&](auto e) {
    ec = e;
    done = true;
  });
  if (!client->run_until([&] { return done; }, options.timeout) || ec) {
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + " failed: " + ec.message());
  }
  if (options.deflate) {
    websocket::permessage_deflate deflate;
    deflate.client_enable = true;
    ws.set_option(deflate);
  }
  ws.set_option(websocket::stream_base::decorator([headers = options.headers](websocket::request_type& request) {
    for (const auto& [name, value] : headers) request.set(name, value);
  }));
  websocket::response_type response;
  done = false;
  ws.async_handshake(response, host + ":" + std::to_string(port), options.path, [&](auto e) {
    ec = e;
    done = true;
  });
  if (!client->run_until([&] { return done; }, options.timeout)) throw std::runtime_error("WebSocket handshake timed out");
  if (ec) {
    throw std::runtime_error("WebSocket handshake failed: " + ec.message() + " (status " +
                             std::to_string(response.result_int()) + ")");
  }
  client->extensions_ = std::string(response[http::field::sec_websocket_extensions]);
  return client;
}

int WsClient::refused_status(const std::string& host, std::uint16_t port, Options options) {
  try {
    std::unique_ptr<WsClient> client(new WsClient());
    auto& socket = client->ws_.next_layer();
    socket.connect(tcp::endpoint(asio::ip::make_address(host), port));
    http::request<http::empty_body> request{http::verb::get, options.path, 11};
    request.set(http::field::host, host + ":" + std::to_string(port));
    request.set(http::field::upgrade, "websocket");
    request.set(http::field::connection, "Upgrade");
    request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    request.set(http::field::sec_websocket_version, "13");
    for (const auto& [name, value] : options.headers) request.set(name, value);
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    boost::system::error_code ec;
    http::read(socket, buffer, response, ec);
    return ec ? 0 : response.result_int();
  } catch (const std::exception&) {
    return 0;
  }
}

void WsClient::start_read() {
  if (reading_ || ended_) return;
  reading_ = true;
  ws_.async_read(buffer_, [this](boost::system::error_code ec, std::size_t) {
    reading_ = false;
    if (ec) {
      ended_ = true;
      close_code_ = ws_.reason().code;
      close_reason_ = std::string(ws_.reason().reason.c_str());
      return;
    }
    inbox_.push_back({beast::buffers_to_string(buffer_.data()), ws_.got_binary()});
    buffer_.clear();
    start_read();
  });
}

bool WsClient::write(std::string_view bytes, bool binary, bool fin) {
  ws_.binary(binary);  // Beast uses it for a message's first frame only
  boost::system::error_code ec;
  bool done = false;
  start_read();  // so that control frames (pings, a close) are answered meanwhile
  ws_.async_write_some(fin, asio::buffer(bytes.data(), bytes.size()), [&](auto e, std::size_t) {
    ec = e;
    done = true;
  });
  return run_until([&] { return done; }, timeout_) && !ec;
}

bool WsClient::send_text(std::string_view text) { return write(text, false); }

bool WsClient::send_binary(std::string_view bytes) { return write(bytes, true); }

bool WsClient::send_fragment(std::string_view bytes, bool fin, bool binary) { return write(bytes, binary, fin); }

bool WsClient::ping(std::string_view payload) {
  boost::system::error_code ec;
  bool done = false;
  start_read();  // the pong arrives through the read
  ws_.async_ping(websocket::ping_data(payload.data(), payload.size()), [&](auto e) {
    ec = e;
    done = true;
  });
  return run_until([&] { return done; }, timeout_) && !ec;
}

std::optional<std::string> WsClient::next_pong(Duration timeout) {
  start_read();
  if (!run_until([&] { return !pongs_.empty() || ended_; }, timeout) || pongs_.empty()) return std::nullopt;
  std::string payload = std::move(pongs_.front());
  pongs_.pop_front();
  return payload;
}

bool WsClient::type(std::string_view line) {
  boost::json::object event;
  event["type"] = "line";
  event["text"] = line;
  return send_text(boost::json::serialize(event));
}

std::optional<WsClient::Message> WsClient::read_message(Duration timeout) {
  start_read();
  if (!run_until([&] { return !inbox_.empty() || ended_; }, timeout) || inbox_.empty()) return std::nullopt;
  Message message = std::move(inbox_.front());
  inbox_.pop_front();
  return message;
}

std::optional<std::string> WsClient::read(Duration timeout) {
  auto message = read_message(timeout);
  if (!message) return std::nullopt;
  return std::move(message->data);
}

boost::json::object WsClient::next_event(Duration timeout) {
  const auto message = read(timeout);
  if (!message) return {};
  boost::system::error_code ec;
  auto value = boost::json::parse(*message, ec);
  if (ec || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << *message;
    return {};
  }
  return std::move(value.as_object());
}

boost::json::object WsClient::wait_for(std::string_view type, std::string_view text, Duration timeout,
                                       std::vector<boost::json::object>* skipped) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration(0)) return {};
    auto event = next_event(left);
    if (event.empty()) return {};
    const auto* t = event.if_contains("type");
    const auto* x = event.if_contains("text");
    if (t && t->is_string() && t->get_string() == type &&
        (text.empty() || (x && x->is_string() && x->get_string() == text))) {
      return event;
    }
    if (skipped) skipped->push_back(std::move(event));
  }
}

std::vector<std::string> WsClient::drain(Duration window) {
  std::vector<std::string> out;
  const auto deadline = Clock::now() + window;
  for (;;) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration(0)) break;
    auto message = read(left);
    if (!message) break;
    out.push_back(std::move(*message));
  }
  if (ended_) out.push_back("<closed " + std::to_string(close_code_) + ">");
  return out;
}

bool WsClient::closed_within(Duration timeout) {
  start_read();
  const auto deadline = Clock::now() + timeout;
  while (!ended_) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration(0)) return false;
    read(left);  // messages before the close are dropped
  }
  return true;
}

void WsClient::close(int code) {
  bool done = false;
  ws_.async_close(websocket::close_reason(static_cast<std::uint16_t>(code)), [&](auto) { done = true; });
  if (run_until([&] { return done && !reading_; }, 3000ms) && !ended_) {
    // No read was pending: the close read the server's close frame itself.
    ended_ = true;
    close_code_ = ws_.reason().code;
    close_reason_ = std::string(ws_.reason().reason.c_str());
  }
}

std::string to_string(const boost::json::object& event) { return boost::json::serialize(event); }

}  // namespace enchufe::test
