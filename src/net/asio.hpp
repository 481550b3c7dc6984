#pragma once
// The one place that says which Asio enchufe is written against: Boost's
// (Boost 1.81, Asio 1.24), because Beast, the HTTP and WebSocket layer, is
// built on it. Everything else writes `asio::` and `error_code` as if it
// were standalone Asio.

#include <boost/system/error_code.hpp>

namespace boost::asio {}
namespace asio = boost::asio;

namespace enchufe {
using error_code = boost::system::error_code;
}  // namespace enchufe
