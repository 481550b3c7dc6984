#include "support/redis_server.hpp"

#include "support/net.hpp"

#include <csignal>
#include <stdexcept>
#include <thread>

namespace enchufe::test {

RedisServer RedisServer::start(std::vector<std::string> extra) {
  for (int attempt = 0;; ++attempt) {
    RedisServer server(hold_tcp_port("127.0.0.1", false).port, extra);  // the port is released again at once
    if (server.launch()) return server;
    if (attempt == 2) throw std::runtime_error("redis-server did not start: " + server.process_->diagnostics());
  }
}

RedisServer::RedisServer(std::uint16_t port, std::vector<std::string> extra) : port_(port), extra_(std::move(extra)) {}

bool RedisServer::launch() {
  std::vector<std::string> args{"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  process_.emplace("/usr/bin/redis-server", args);
  const auto deadline = Clock::now() + 5000ms;
  while (Clock::now() < deadline && process_->running()) {
    if (TcpClient::try_connect("127.0.0.1", port_, 200ms)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void RedisServer::kill() {
  if (process_) process_->kill();
}

void RedisServer::restart() {
  kill();
  // The port was ours a moment ago: a clash here means another test took
  // it meanwhile, which a retry cannot mend.
  if (!launch()) throw std::runtime_error("redis-server did not start again: " + process_->diagnostics());
}

bool RedisServer::pause() { return process_ && process_->send_signal(SIGSTOP); }
bool RedisServer::resume() { return process_ && process_->send_signal(SIGCONT); }
bool RedisServer::running() { return process_ && process_->running(); }

}  // namespace enchufe::test
