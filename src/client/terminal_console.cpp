#include "client/terminal_console.hpp"

#include "net/asio.hpp"

#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace enchufe::client {

namespace {
constexpr std::string_view kEraseLine = "\r\x1b[K";
constexpr std::string_view kClearScreen = "\x1b[H\x1b[2J";
}  // namespace

TerminalConsole::TerminalConsole(asio::io_context& context, std::string prompt)
    : context_(context), prompt_(std::move(prompt)) {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
}

TerminalConsole::~TerminalConsole() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

void TerminalConsole::start(LineHandler on_line) {
  on_line_ = std::move(on_line);
  // Raw mode: keys arrive one by one and unechoed, for the editor to handle
  // (Ctrl-C included: ISIG off). Output processing stays on, so "\n" still
  // starts a new line at column 0.
  if (::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    raw_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  thread_ = std::thread([this] { run(); });
}

void TerminalConsole::run() {
  write_all(STDOUT_FILENO, editor_.render(prompt_));
  for (;;) {
    pollfd fds[2] = {{wake_pipe_[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, input_ended_ ? 1 : 2, -1) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) {
      char drain[64];
      while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
      }
      print_queued();
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    if (!input_ended_ && fds[1].revents != 0) {
      unsigned char keys[256];
      const ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        handle(LineEditor::Event::end_of_input);  // the terminal went away
        continue;
      }
      for (ssize_t i = 0; i < n && !input_ended_; ++i) handle(editor_.feed(keys[i]));
    }
  }
  // Leave the terminal as we found it, without a stale prompt.
  if (!input_ended_) write_all(STDOUT_FILENO, kEraseLine);
  if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
}

void TerminalConsole::handle(LineEditor::Event event) {
  switch (event) {
    case LineEditor::Event::none: return;
    case LineEditor::Event::changed: write_all(STDOUT_FILENO, editor_.render(prompt_)); return;
    case LineEditor::Event::line:
      write_all(STDOUT_FILENO, "\n");  // the typed line stays on screen, as in the tutorial
      post(editor_.take_line());
      write_all(STDOUT_FILENO, editor_.render(prompt_));
      return;
    case LineEditor::Event::end_of_input:
      write_all(STDOUT_FILENO, kEraseLine);
      input_ended_ = true;
      post(std::nullopt);
      return;
    case LineEditor::Event::interrupt:
      // Ctrl-C leaves at once, as it would in cooked mode: restore the
      // terminal, then let SIGINT's default action end the process.
      write_all(STDOUT_FILENO, "^C\n");
      if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
      std::signal(SIGINT, SIG_DFL);
      std::raise(SIGINT);
      return;
    case LineEditor::Event::clear_screen:
      write_all(STDOUT_FILENO, kClearScreen);
      write_all(STDOUT_FILENO, editor_.render(prompt_));
      return;
  }
}

void TerminalConsole::post(std::optional<std::string> line) {
  asio::post(context_, [this, line = std::move(line)]() mutable { on_line_(std::move(line)); });
}

void TerminalConsole::print_queued() {
  std::vector<Output> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queued_);
  }
  if (batch.empty()) return;
  write_all(STDOUT_FILENO, kEraseLine);
  for (const auto& out : batch) {
    write_all(out.fd, out.text);
    // Text without a newline (the tutorial's replies) still ends its line,
    // or the prompt would be drawn over it.
    if (out.text.back() != '\n') write_all(out.fd, "\n");
  }
  if (!input_ended_) write_all(STDOUT_FILENO, editor_.render(prompt_));
}

void TerminalConsole::queue(int fd, std::string_view text) {
  if (text.empty()) return;
  {
    std::lock_guard lock(mutex_);
    queued_.push_back({fd, std::string(text)});
  }
  wake();
}

void TerminalConsole::wake() {
  if (wake_pipe_[1] >= 0) {
    [[maybe_unused]] auto ignored = ::write(wake_pipe_[1], "x", 1);
  }
}

void TerminalConsole::print_incoming(std::string_view bytes) { queue(STDOUT_FILENO, bytes); }

void TerminalConsole::notice(std::string_view text) { queue(STDERR_FILENO, text); }

}  // namespace enchufe::client
