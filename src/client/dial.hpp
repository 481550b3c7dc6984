#pragma once
// Connecting a client's TCP socket, shared by `connect HOST PORT` and
// `connect ws://`: every address the host resolves to is tried in order,
// each try narrated under --trace.

#include "client/console.hpp"
#include "client/options.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace enchufe::client {

// Connects `socket` (a tcp::socket's, or the one under a TLS stream) to
// options.host:options.port, with TCP_NODELAY (lines are typed: no reason to
// wait). Says where it connected (on a terminal, or with -v); false, after
// one line saying why, when no address answers.
bool dial(asio::ip::tcp::socket::lowest_layer_type& socket, const ClientOptions& options, Console& console);

}  // namespace enchufe::client
