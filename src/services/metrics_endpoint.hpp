#pragma once
// GET /metrics over HTTP/1.x for Prometheus (--metrics HOST:PORT): the
// request is read as lines, so it runs on the same connection machinery as
// every other service.

#include "net/connection.hpp"
#include "net/metrics.hpp"

#include <functional>
#include <memory>

namespace enchufe::services {

std::function<std::unique_ptr<net::Protocol>()> metrics_endpoint(std::shared_ptr<const net::MetricsRegistry> registry);

}  // namespace enchufe::services
