#pragma once
// GET /metrics over HTTP for Prometheus (--metrics HOST:PORT), served by the
// runtime's HTTP sessions (Beast).

#include "net/http_server.hpp"
#include "net/metrics.hpp"

#include <memory>

namespace enchufe::services {

net::HttpHandler metrics_endpoint(std::shared_ptr<const net::MetricsRegistry> registry);

}  // namespace enchufe::services
