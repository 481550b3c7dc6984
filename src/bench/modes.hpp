#pragma once
// One function per mode (echo.cpp, udp.cpp, fanout.cpp, idle.cpp,
// handshake.cpp, store.cpp), each filling a Report; bench.cpp picks one and
// prints it.

#include "bench/options.hpp"
#include "bench/report.hpp"

namespace enchufe::bench {

struct Outcome {
  Report report;
  // With --check: something was wrong (exit code 1). Also set when nothing
  // could run at all.
  bool failed = false;
};

Outcome run_echo(const Options& options);  // echo and bulk
Outcome run_udp(const Options& options);
Outcome run_fanout(const Options& options);
Outcome run_idle(const Options& options);
Outcome run_handshake(const Options& options);
Outcome run_store(const Options& options);

// Spreads `total` over `parts` as evenly as possible: part i's share.
inline std::uint64_t share(std::uint64_t total, std::size_t parts, std::size_t i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

}  // namespace enchufe::bench
