#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <iterator>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

extern char** environ;

namespace enchufe::test {

namespace {

void ignore_sigpipe_once() {
  // Writing to a child that exited must fail with EPIPE, not kill the test.
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

int poll_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 100));
}

// NAME of an environment entry "NAME=value" (or of a bare "NAME").
std::string_view env_name(std::string_view entry) { return entry.substr(0, entry.find('=')); }

std::string tail(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  return "[... " + std::to_string(text.size() - max) + " bytes ...]" + text.substr(text.size() - max);
}

// One output pipe of the child, drained by its own thread.
struct Stream {
  int fd = -1;
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::string data;
  bool closed = false;
  std::atomic<bool> stop{false};
  std::thread reader;

  void start(int read_fd) {
    fd = read_fd;
    reader = std::thread([this] { read_loop(); });
  }

  void read_loop() {
    char buffer[16 * 1024];
    while (!stop.load()) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 100);  // wakes now and then to notice `stop`
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      std::lock_guard lock(mutex);
      data.append(buffer, static_cast<std::size_t>(n));
      changed.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(mutex);
    closed = true;
    changed.notify_all();
  }

  // Waits until pred(data) or the stream closed or the deadline.
  template <typename Pred>
  bool wait_until(Clock::time_point deadline, Pred pred) const {
    std::unique_lock lock(mutex);
    changed.wait_until(lock, deadline, [&] { return pred(data) || closed; });
    return pred(data);
  }

  bool wait_closed(Clock::time_point deadline) const {
    std::unique_lock lock(mutex);
    return changed.wait_until(lock, deadline, [&] { return closed; });
  }

  std::string text() const {
    std::lock_guard lock(mutex);
    return data;
  }

  void join() {
    if (!reader.joinable()) return;
    stop = true;
    reader.join();
  }
};

}  // namespace

std::string ExitStatus::describe() const {
  if (exited()) return "exit code " + std::to_string(value);
  const char* name = ::strsignal(value);
  return "killed by signal " + std::to_string(value) + " (" + (name ? name : "?") + ")";
}

std::ostream& operator<<(std::ostream& os, const ExitStatus& status) { return os << status.describe(); }

struct Process::Impl {
  std::string program;
  std::vector<std::string> args;
  pid_t pid = -1;
  int stdin_fd = -1;
  Stream out, err;
  std::size_t stdout_cursor = 0;
  std::optional<ExitStatus> status;
  bool signalled = false;  // send_signal() sent one that may end it

  ~Impl() {
    kill();
  }

  std::optional<ExitStatus> reap(bool block) {
    if (status || pid <= 0) return status;
    int raw = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid, &raw, block ? 0 : WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        // Not our child any more (should not happen): treat as gone.
        status = ExitStatus{ExitStatus::Kind::signaled, 0};
        return status;
      }
      return std::nullopt;  // r == 0: still running
    }
    if (WIFEXITED(raw)) {
      status = ExitStatus{ExitStatus::Kind::exited, WEXITSTATUS(raw)};
    } else {
      status = ExitStatus{ExitStatus::Kind::signaled, WTERMSIG(raw)};
    }
    return status;
  }

  void kill() {
    if (pid > 0 && !status) {
      ::kill(pid, SIGKILL);
      reap(true);
    }
    if (stdin_fd >= 0) {
      ::close(stdin_fd);
      stdin_fd = -1;
    }
    // Give the readers a moment to take the last bytes, then stop them even
    // if some grandchild still holds the pipes open.
    const auto deadline = Clock::now() + 1s;
    out.wait_closed(deadline);
    err.wait_closed(deadline);
    out.join();
    err.join();
  }
};

Process::Process(const std::string& program, const std::vector<std::string>& args, SpawnOptions options)
    : impl_(std::make_unique<Impl>()) {
  ignore_sigpipe_once();
  auto& d = *impl_;
  d.program = program;
  d.args = args;

  // Everything the child needs is prepared before fork(): after it, in a
  // multithreaded parent, the child may only make async-signal-safe calls.
  std::vector<std::string> argv_strings;
  argv_strings.push_back(program);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  // The inherited entries the options do not name, then the options' own
  // (the bare names among them only removed theirs).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool named = std::any_of(options.env.begin(), options.env.end(),
                                   [&](const std::string& o) { return env_name(o) == env_name(entry); });
    if (!named) env_strings.emplace_back(entry);
  }
  std::copy_if(options.env.begin(), options.env.end(), std::back_inserter(env_strings),
               [](const std::string& o) { return o.find('=') != std::string::npos; });
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  auto fail = [](const char* what) { throw std::system_error(errno, std::generic_category(), what); };
  int in[2] = {-1, -1}, out[2], err[2], exec_error[2];
  if (options.pipe_stdin) {
    if (::pipe2(in, O_CLOEXEC) != 0) fail("pipe2");
  } else {
    in[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in[0] < 0) fail("open /dev/null");
  }
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(exec_error, O_CLOEXEC) != 0) {
    fail("pipe2");
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    // ---- child: async-signal-safe calls only ----
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died already
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) {
      if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) {
      const int e = errno;
      (void)!::write(exec_error[1], &e, sizeof e);
      ::_exit(127);
    }
    // Nothing else of the test process leaks into the child.
    int report = exec_error[1];
    if (report != 3 && ::dup2(report, 3) == 3) report = 3;
    ::fcntl(report, F_SETFD, FD_CLOEXEC);
#ifdef SYS_close_range
    ::syscall(SYS_close_range, report + 1, ~0U, 0);
#endif
    ::execve(argv[0], argv.data(), envp.data());
    const int e = errno;
    (void)!::write(report, &e, sizeof e);
    ::_exit(127);
  }

  // ---- parent ----
  d.pid = pid;
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(exec_error[1]);
  d.out.start(out[0]);
  d.err.start(err[0]);
  if (options.pipe_stdin) {
    d.stdin_fd = in[1];
    ::fcntl(d.stdin_fd, F_SETFL, ::fcntl(d.stdin_fd, F_GETFL) | O_NONBLOCK);
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_error[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_error[0]);
  if (n == sizeof child_errno) {
    impl_->reap(true);
    impl_->kill();
    throw std::system_error(child_errno, std::generic_category(), "cannot run " + program);
  }
}

Process::~Process() = default;
Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&&) noexcept = default;

pid_t Process::pid() const { return impl_->pid; }

std::string Process::command_line() const {
  std::string line = impl_->program;
  for (const auto& a : impl_->args) {
    line += ' ';
    const bool quote = a.empty() || a.find_first_of(" \t\n'\"\\$") != std::string::npos;
    line += quote ? "'" + a + "'" : a;
  }
  return line;
}

bool Process::write_stdin(std::string_view bytes, Duration timeout) {
  auto& d = *impl_;
  if (d.stdin_fd < 0) return false;
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::write(d.stdin_fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;  // EPIPE: the child closed stdin
    if (Clock::now() >= deadline) return false;
    pollfd p{d.stdin_fd, POLLOUT, 0};
    ::poll(&p, 1, poll_ms(deadline));
  }
  return true;
}

void Process::close_stdin() {
  auto& d = *impl_;
  if (d.stdin_fd >= 0) {
    ::close(d.stdin_fd);
    d.stdin_fd = -1;
  }
}

std::optional<std::string> Process::read_stdout_line(Duration timeout) {
  auto& d = *impl_;
  const auto deadline = Clock::now() + timeout;
  const std::size_t from = d.stdout_cursor;
  const bool found =
      d.out.wait_until(deadline, [from](const std::string& data) { return data.find('\n', from) != std::string::npos; });
  if (!found) return std::nullopt;
  const std::string data = d.out.text();
  const std::size_t nl = data.find('\n', from);
  d.stdout_cursor = nl + 1;
  return data.substr(from, nl - from);
}

std::string Process::stdout_text() const { return impl_->out.text(); }
std::string Process::stderr_text() const { return impl_->err.text(); }

bool Process::wait_stdout_contains(std::string_view needle, Duration timeout) const {
  return impl_->out.wait_until(Clock::now() + timeout,
                               [needle](const std::string& data) { return data.find(needle) != std::string::npos; });
}

bool Process::wait_stderr_contains(std::string_view needle, Duration timeout) const {
  return impl_->err.wait_until(Clock::now() + timeout,
                               [needle](const std::string& data) { return data.find(needle) != std::string::npos; });
}

bool Process::wait_stdout_closed(Duration timeout) const { return impl_->out.wait_closed(Clock::now() + timeout); }
bool Process::wait_stderr_closed(Duration timeout) const { return impl_->err.wait_closed(Clock::now() + timeout); }

bool Process::send_signal(int signo) {
  auto& d = *impl_;
  if (d.pid <= 0 || d.status) return false;
  if (signo != SIGCONT && signo != SIGSTOP && signo != 0) d.signalled = true;
  return ::kill(d.pid, signo) == 0;
}

bool Process::was_signalled() const { return impl_->signalled; }

std::optional<ExitStatus> Process::poll_exit() { return impl_->reap(false); }

std::optional<ExitStatus> Process::wait_exit(Duration timeout) {
  auto& d = *impl_;
  const auto deadline = Clock::now() + timeout;
  auto pause = 1ms;
  while (!d.reap(false)) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - Clock::now()));
    pause = std::min(pause * 2, Duration(20ms));
  }
  const auto streams_deadline = std::max(deadline, Clock::now() + 1000ms);
  d.out.wait_closed(streams_deadline);
  d.err.wait_closed(streams_deadline);
  return d.status;
}

void Process::kill() { impl_->kill(); }

std::string Process::diagnostics() const {
  const auto& d = *impl_;
  std::ostringstream s;
  s << "pid " << d.pid << " (" << command_line() << "): "
    << (d.status ? d.status->describe() : std::string("still running")) << "\n--- stdout ---\n"
    << tail(d.out.text(), 2000) << "\n--- stderr ---\n"
    << tail(d.err.text(), 4000) << "\n--------------";
  return s.str();
}

}  // namespace enchufe::test
