#include "bench/modes.hpp"
#include "bench/options.hpp"
#include "net/runtime.hpp"

#include <cstdio>
#include <iostream>

namespace enchufe::bench {

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::echo: return "echo";
    case Mode::udp: return "udp";
    case Mode::fanout: return "fanout";
    case Mode::idle: return "idle";
    case Mode::bulk: return "bulk";
    case Mode::handshake: return "handshake";
    case Mode::store: return "store";
  }
  return "?";
}

int run(const Options& options) {
  net::ignore_sigpipe();
  net::raise_open_files_limit();
  Outcome outcome = [&] {
    switch (options.mode) {
      case Mode::echo:
      case Mode::bulk: return run_echo(options);
      case Mode::udp: return run_udp(options);
      case Mode::fanout: return run_fanout(options);
      case Mode::idle: return run_idle(options);
      case Mode::handshake: return run_handshake(options);
      case Mode::store: return run_store(options);
    }
    return run_echo(options);
  }();
  const std::string text = options.json ? outcome.report.json() : outcome.report.table();
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return outcome.failed ? 1 : 0;
}

}  // namespace enchufe::bench
