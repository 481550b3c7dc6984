#pragma once
// Reading the server's --metrics from outside, as Prometheus would: GET
// /metrics over a plain socket and a line lookup in the text, never the
// code under test.

#include "support/process.hpp"

#include <cstdint>
#include <string>

namespace enchufe::test {

// GET /metrics; the body, after checking the status line and Content-Length.
std::string scrape(std::uint16_t port);

// The value of one series, written exactly as the server writes it:
// `enchufe_bytes_sent_total{service="echo"}`. NaN (and a failure) if absent.
double metric(const std::string& body, const std::string& series);

// Scrapes until `series` reaches `value` (connections close asynchronously).
std::string scrape_until(std::uint16_t port, const std::string& series, double value, Duration timeout = 5000ms);

}  // namespace enchufe::test
