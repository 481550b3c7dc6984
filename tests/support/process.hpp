#pragma once
// A child process with pipes on stdin, stdout and stderr, for tests that
// drive a real program. Everything that waits takes a timeout; a Process
// that is destroyed while its child still runs kills it (SIGKILL) and reaps
// it, so a failing test never leaves a server behind.
//
// The child also gets PR_SET_PDEATHSIG(SIGKILL): if the test process dies
// (crash, CTest timeout) the child dies with it. Linux sends that signal when
// the *thread* that spawned the child exits, so spawn from the test's own
// thread, not from a short-lived helper thread.
//
// Output is collected by one reader thread per stream, so a chatty child
// never blocks on a full pipe; the text stays available after the child exits.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::test {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;
using namespace std::chrono_literals;

// How a child ended.
struct ExitStatus {
  enum class Kind { exited, signaled };
  Kind kind = Kind::exited;
  int value = 0;  // the exit code, or the signal number

  bool exited() const { return kind == Kind::exited; }
  bool signaled() const { return kind == Kind::signaled; }
  // True when the child called exit(code).
  bool is_exit_code(int code) const { return exited() && value == code; }
  std::string describe() const;  // "exit code 0", "killed by signal 9 (Killed)"
  bool operator==(const ExitStatus&) const = default;
};
std::ostream& operator<<(std::ostream& os, const ExitStatus& status);

struct SpawnOptions {
  // false: stdin is /dev/null instead of a pipe.
  bool pipe_stdin = true;
  // "NAME=value" entries added to (or replacing in) the inherited environment;
  // a bare "NAME" removes NAME from it (a child that must run without HOME).
  std::vector<std::string> env;
};

class Process {
 public:
  // Starts `program` with `args` (argv[0] is `program`). Throws
  // std::system_error when the program cannot be started (e.g. not found).
  Process(const std::string& program, const std::vector<std::string>& args, SpawnOptions options = {});
  ~Process();  // kill() if still running
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const;
  // The command line, for messages.
  std::string command_line() const;

  // ---- stdin ----------------------------------------------------------------
  // Writes all of `bytes`; false if the child closed its end, stdin is not a
  // pipe, or the pipe stayed full for `timeout`.
  bool write_stdin(std::string_view bytes, Duration timeout = 5000ms);
  void close_stdin();

  // ---- stdout / stderr ------------------------------------------------------
  // The next line of stdout (without its '\n'), consumed from a cursor that
  // only this function moves. nullopt when none arrives in `timeout` or
  // stdout ended without one.
  std::optional<std::string> read_stdout_line(Duration timeout);
  // Everything the child wrote so far.
  std::string stdout_text() const;
  std::string stderr_text() const;
  // Wait until the stream contains `needle`; false on timeout or if the
  // stream ended without it.
  bool wait_stdout_contains(std::string_view needle, Duration timeout) const;
  bool wait_stderr_contains(std::string_view needle, Duration timeout) const;
  // Wait until the child closed the stream (usually: it exited).
  bool wait_stdout_closed(Duration timeout) const;
  bool wait_stderr_closed(Duration timeout) const;

  // ---- lifetime ---------------------------------------------------------------
  // Sends `signo`; false if the child is already reaped.
  bool send_signal(int signo);
  // True once send_signal() sent a signal that may end the child (anything
  // but SIGSTOP/SIGCONT): its exit was then the test's doing.
  bool was_signalled() const;
  // Waits for the child to end. Once it has, also waits (within the same
  // timeout, at least briefly) for its output streams to close, so
  // stdout_text()/stderr_text() are complete. nullopt on timeout.
  std::optional<ExitStatus> wait_exit(Duration timeout);
  // The status if the child has ended (reaps it if needed), without waiting.
  std::optional<ExitStatus> poll_exit();
  bool running() { return !poll_exit().has_value(); }
  // SIGKILL (if still running), reap, and stop the output readers.
  void kill();

  // "pid 123 (enchufe serve echo ...): exit code 1; stderr: ..." for failure messages.
  std::string diagnostics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace enchufe::test
