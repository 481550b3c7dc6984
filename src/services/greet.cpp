#include "services/greet.hpp"

namespace enchufe::services {

namespace {

// The greeting, whatever carries it: sent as one message, then the close
// (on WebSocket, with code 1000).
class Greeting final : public net::MessageProtocol {
 public:
  Greeting(std::shared_ptr<const GreetOptions> options, std::shared_ptr<const std::function<void()>> on_served)
      : options_(std::move(options)), on_served_(std::move(on_served)) {}

  void on_open(net::MessageLink& link) override {
    link.send({options_->message});
    link.close_after_flush(net::CloseReason::done);
  }

  // The greeting is all there is: input is never read.
  void on_message(net::MessageLink&, std::string_view) override {}
  void on_binary(net::MessageLink&, std::string_view) override {}

  void on_close(net::MessageLink&, net::CloseReason) override {
    if (*on_served_) (*on_served_)();
  }

 private:
  std::shared_ptr<const GreetOptions> options_;
  std::shared_ptr<const std::function<void()>> on_served_;
};

// The greeting on a line connection.
class LineGreeting final : public net::Protocol {
 public:
  explicit LineGreeting(Greeting greeting) : greeting_(std::move(greeting)) {}

  void on_open(net::Connection& c) override { greeting_.on_open(c); }
  void on_message(net::Connection&, std::string_view, std::string_view) override {}
  void on_close(net::Connection& c, net::CloseReason reason) override { greeting_.on_close(c, reason); }

 private:
  Greeting greeting_;
};

}  // namespace

GreetProtocols greet_protocols(GreetOptions options, std::function<void()> on_served) {
  auto shared_options = std::make_shared<const GreetOptions>(std::move(options));
  auto shared_callback = std::make_shared<const std::function<void()>>(std::move(on_served));
  return {
      .line = [shared_options,
               shared_callback] { return std::make_unique<LineGreeting>(Greeting(shared_options, shared_callback)); },
      .message = [shared_options,
                  shared_callback] { return std::make_unique<Greeting>(shared_options, shared_callback); },
  };
}

}  // namespace enchufe::services
