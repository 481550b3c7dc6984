#pragma once
// Many concurrent clients of a line echo server, driven from one thread with
// non-blocking sockets and epoll. Each client does `round_trips` round trips
// (send a line, wait for its reply, check every byte), then optionally says
// the quit word and expects the server to close without a reply.
//
// Lines are distinct per client and round, vary in length, and some end in
// "\r\n", so a reply delivered to the wrong client, reordered, cut or joined
// is caught.

#include "support/process.hpp"  // Clock, Duration

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace enchufe::test {

struct EchoLoadOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t clients = 1000;
  std::size_t round_trips = 100;
  std::string prefix = "Eco: ";     // the server's reply prefix
  std::string quit_word = "salir";  // sent at the end, then EOF expected; empty: just close
  std::size_t max_connecting = 256;  // connects in flight at once (spares the listen backlog)
  Duration timeout = 60'000ms;       // for the whole run
  std::size_t max_errors_kept = 10;
};

struct EchoLoadResult {
  std::size_t clients_connected = 0;
  std::size_t clients_finished = 0;  // every reply right (and EOF after the quit word)
  std::size_t clients_failed = 0;
  std::size_t round_trips_ok = 0;    // replies received and checked
  std::vector<std::string> errors;   // the first few failures, with client and round
  bool timed_out = false;
  Duration elapsed{0};

  // Every client connected, did every round trip right and finished.
  bool all_ok(const EchoLoadOptions& o) const {
    return !timed_out && clients_failed == 0 && clients_finished == o.clients &&
           round_trips_ok == o.clients * o.round_trips;
  }
  std::string summary() const;
};

// The line client `client` sends in round `round` (with its terminator).
std::string echo_load_line(std::size_t client, std::size_t round);

EchoLoadResult run_echo_load(const EchoLoadOptions& options);

}  // namespace enchufe::test
