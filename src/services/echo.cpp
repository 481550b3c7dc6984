#include "services/echo.hpp"

#include "net/text.hpp"

namespace enchufe::services {

namespace {

class Echo final : public net::Protocol {
 public:
  explicit Echo(std::shared_ptr<const EchoOptions> options) : options_(std::move(options)) {}

  void on_open(net::Connection&) override {}

  void on_message(net::Connection& c, std::string_view text, std::string_view terminator) override {
    if (net::is_word(text, options_->quit_word)) {
      c.close_after_flush(net::CloseReason::quit);
      return;
    }
    // The reply keeps the client's terminator: "\r\n" for telnet, "\n" for
    // nc, none for the tutorial's client.
    c.send({options_->prefix, text, terminator});
  }

 private:
  std::shared_ptr<const EchoOptions> options_;
};

// A WebSocket message has its own bounds: the reply adds no terminator, and
// goes back as the same kind of message.
class MessageEcho final : public net::MessageProtocol {
 public:
  explicit MessageEcho(std::shared_ptr<const EchoOptions> options) : options_(std::move(options)) {}

  void on_open(net::MessageLink&) override {}

  void on_message(net::MessageLink& link, std::string_view text) override {
    if (net::is_word(text, options_->quit_word)) {
      link.close_after_flush(net::CloseReason::quit);
      return;
    }
    link.send({options_->prefix, text});
  }

  void on_binary(net::MessageLink& link, std::string_view bytes) override {
    link.send_binary({options_->prefix, bytes});
  }

 private:
  std::shared_ptr<const EchoOptions> options_;
};

}  // namespace

std::function<std::unique_ptr<net::Protocol>()> echo_protocol(EchoOptions options) {
  auto shared = std::make_shared<const EchoOptions>(std::move(options));
  return [shared] { return std::make_unique<Echo>(shared); };
}

std::function<std::unique_ptr<net::MessageProtocol>()> echo_message_protocol(EchoOptions options) {
  auto shared = std::make_shared<const EchoOptions>(std::move(options));
  return [shared] { return std::make_unique<MessageEcho>(shared); };
}

}  // namespace enchufe::services
