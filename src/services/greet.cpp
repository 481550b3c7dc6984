#include "services/greet.hpp"

namespace enchufe::services {

namespace {

class Greet final : public net::Protocol {
 public:
  Greet(std::shared_ptr<const GreetOptions> options, std::shared_ptr<const std::function<void()>> on_served)
      : options_(std::move(options)), on_served_(std::move(on_served)) {}

  void on_open(net::Connection& c) override {
    c.send({options_->message});
    c.close_after_flush(net::CloseReason::done);
  }

  // The greeting is all there is: input is never read.
  void on_message(net::Connection&, std::string_view, std::string_view) override {}

  void on_close(net::Connection&, net::CloseReason) override {
    if (*on_served_) (*on_served_)();
  }

 private:
  std::shared_ptr<const GreetOptions> options_;
  std::shared_ptr<const std::function<void()>> on_served_;
};

}  // namespace

std::function<std::unique_ptr<net::Protocol>()> greet_protocol(GreetOptions options, std::function<void()> on_served) {
  auto shared_options = std::make_shared<const GreetOptions>(std::move(options));
  auto shared_callback = std::make_shared<const std::function<void()>>(std::move(on_served));
  return [shared_options, shared_callback] { return std::make_unique<Greet>(shared_options, shared_callback); };
}

}  // namespace enchufe::services
