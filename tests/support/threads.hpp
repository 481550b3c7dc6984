#pragma once
// The threads of a running process as /proc shows them: their names and how
// often each went to sleep waiting. Tests use it to check that --threads N
// really runs N event loops ("loop-0" ... "loop-N-1") and that each of them
// served connections, not only that the answers were right.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace enchufe::test {

struct ThreadInfo {
  std::string name;                 // /proc/PID/task/TID/comm
  long voluntary_switches = 0;      // times it blocked (e.g. in epoll_wait)
};

// Every thread of `pid`; empty if the process is gone.
std::vector<ThreadInfo> threads_of(pid_t pid);

// The threads named "loop-N", sorted by N.
std::vector<ThreadInfo> loop_threads(pid_t pid);

// Waits up to `timeout` for `pid` to run exactly `n` loop threads, named
// loop-0 ... loop-(n-1). "" when it does, else what it runs instead.
std::string wait_for_loops(pid_t pid, std::size_t n, std::chrono::milliseconds timeout);

}  // namespace enchufe::test
