#pragma once
// The two kinds of failure the command line tells apart: bad input from the
// user (exit code 2) and a runtime failure such as a port in use (exit code 1).

#include <stdexcept>
#include <string>

namespace enchufe {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace enchufe
