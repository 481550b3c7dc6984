#pragma once
// The chat through each door: a ChatSession plus what only that transport
// has. Lines (TCP): a line over --max-line is refused, not fatal. WebSocket:
// each frame is a JSON object that carries the typed line (docs/web.md).

#include "net/connection.hpp"
#include "net/message_link.hpp"
#include "services/chat/session.hpp"

namespace enchufe::services::chat {

class LineChat final : public net::Protocol {
 public:
  explicit LineChat(std::shared_ptr<ChatHub> hub) : session_(std::move(hub), text_output()) {}

  void on_open(net::Connection& c) override { session_.on_open(c); }
  void on_message(net::Connection& c, std::string_view text, std::string_view) override {
    session_.on_message(c, text);
  }
  void on_line_too_long(net::Connection& c) override;
  void on_closing(net::Connection& c, net::CloseReason reason) override { session_.on_closing(c, reason); }
  void on_close(net::Connection& c, net::CloseReason reason) override { session_.on_close(c, reason); }

 private:
  ChatSession session_;
};

class WebChat final : public net::MessageProtocol {
 public:
  explicit WebChat(std::shared_ptr<ChatHub> hub) : session_(std::move(hub), json_output()) {}

  void on_open(net::MessageLink& link) override { session_.on_open(link); }
  void on_message(net::MessageLink& link, std::string_view frame) override;
  void on_closing(net::MessageLink& link, net::CloseReason reason) override { session_.on_closing(link, reason); }
  void on_close(net::MessageLink& link, net::CloseReason reason) override { session_.on_close(link, reason); }

 private:
  ChatSession session_;
};

}  // namespace enchufe::services::chat
