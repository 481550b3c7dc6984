#include "services/metrics_endpoint.hpp"

#include "net/text.hpp"

#include <fmt/format.h>

namespace enchufe::services {

namespace {

class MetricsEndpoint final : public net::Protocol {
 public:
  explicit MetricsEndpoint(std::shared_ptr<const net::MetricsRegistry> registry) : registry_(std::move(registry)) {}

  void on_open(net::Connection&) override {}

  // "GET /metrics HTTP/1.1", then headers, then an empty line.
  void on_message(net::Connection& c, std::string_view line, std::string_view) override {
    if (request_line_.empty()) {
      request_line_ = std::string(net::trim(line));
      if (request_line_.empty()) request_line_.push_back(' ');  // stray empty line before the request
      return;
    }
    if (!net::trim(line).empty()) return;  // a header: none matters here
    answer(c);
  }

 private:
  void answer(net::Connection& c) {
    const auto first_space = request_line_.find(' ');
    const std::string_view method = std::string_view(request_line_).substr(0, first_space);
    std::string_view path = first_space == std::string::npos ? "" : std::string_view(request_line_).substr(first_space + 1);
    path = path.substr(0, path.find(' '));
    path = path.substr(0, path.find('?'));
    if (method != "GET" && method != "HEAD") {
      respond(c, "405 Method Not Allowed", "text/plain", "only GET /metrics\n", method == "HEAD");
    } else if (path == "/metrics") {
      respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", registry_->render(), method == "HEAD");
    } else {
      respond(c, "404 Not Found", "text/plain", "enchufe serves its metrics at /metrics\n", method == "HEAD");
    }
  }

  static void respond(net::Connection& c, std::string_view status, std::string_view type, const std::string& body,
                      bool head_only) {
    c.send({fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", status,
                        type, body.size())});
    if (!head_only) c.send({body});
    c.close_after_flush(net::CloseReason::done);
  }

  std::shared_ptr<const net::MetricsRegistry> registry_;
  std::string request_line_;
};

}  // namespace

std::function<std::unique_ptr<net::Protocol>()> metrics_endpoint(std::shared_ptr<const net::MetricsRegistry> registry) {
  return [registry] { return std::make_unique<MetricsEndpoint>(registry); };
}

}  // namespace enchufe::services
