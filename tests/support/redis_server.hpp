#pragma once
// A throwaway redis-server on a free loopback port, for the tests of
// everything that speaks to Redis (the cluster, its client, bench fanout
// --redis). It keeps nothing on disk, and it can be killed, restarted on the
// same port, or stopped and continued (SIGSTOP/SIGCONT) to play the faults a
// real deployment meets.

#include "support/process.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace enchufe::test {

class RedisServer {
 public:
  // Redis cannot bind port 0 and say which it got, so a free port is found
  // first (a rare clash is retried). `extra`: more redis-server options.
  static RedisServer start(std::vector<std::string> extra = {});

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // kill -9: clients see the connection reset.
  void kill();
  // Up again on the same port, empty (nothing is saved).
  void restart();
  // SIGSTOP / SIGCONT: the port still accepts, but nothing answers.
  bool pause();
  bool resume();
  bool running();

 private:
  RedisServer(std::uint16_t port, std::vector<std::string> extra);
  // Starts redis-server on port_; false if it did not come up within 5 s.
  bool launch();

  std::uint16_t port_;
  std::vector<std::string> extra_;
  std::optional<Process> process_;
};

}  // namespace enchufe::test
