#include "services/metrics_endpoint.hpp"

#include <boost/url/parse.hpp>

namespace enchufe::services {

net::HttpHandler metrics_endpoint(std::shared_ptr<const net::MetricsRegistry> registry) {
  namespace http = net::http;
  return [registry](const net::HttpRequest& request) {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      auto response = net::http_response(request, http::status::method_not_allowed, "text/plain", "only GET /metrics\n");
      response.set(http::field::allow, "GET, HEAD");
      return response;
    }
    // The path without its query ("/metrics?x=1" is still /metrics).
    const auto target = boost::urls::parse_origin_form(request.target());
    if (target && target->path() == "/metrics") {
      return net::http_response(request, http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                                registry->render());
    }
    return net::http_response(request, http::status::not_found, "text/plain",
                              "enchufe serves its metrics at /metrics\n");
  };
}

}  // namespace enchufe::services
