#include "client/console.hpp"

#include <asio/post.hpp>
#include <unistd.h>

#include <cerrno>

namespace enchufe::client {

namespace {

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// ANSI: return to column 0 and erase the line (the prompt being redrawn).
constexpr std::string_view kEraseLine = "\r\x1b[K";

}  // namespace

Console::Console(asio::io_context& context, std::string prompt)
    : context_(context),
      prompt_(std::move(prompt)),
      interactive_(::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1),
      stdout_is_terminal_(::isatty(STDOUT_FILENO) == 1) {}

Console::~Console() {
  // The reader may be blocked in read(2) on a terminal; the process is
  // exiting, so it is left to end with it.
  if (reader_.joinable()) reader_.detach();
}

void Console::start(std::function<void(std::optional<std::string>)> on_line) {
  on_line_ = std::move(on_line);
  reader_ = std::thread([this] { read_stdin(); });
}

void Console::line_done() { in_flight_.release(); }

void Console::read_stdin() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    if (interactive_ && pending.find('\n') == std::string::npos) {
      std::lock_guard lock(output_mutex_);
      if (!prompt_.empty()) write_all(STDOUT_FILENO, prompt_);
      prompt_visible_ = !prompt_.empty();
    }
    std::size_t newline;
    while ((newline = pending.find('\n')) == std::string::npos) {
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // End of input: a last line without a newline still counts.
        if (!pending.empty()) {
          in_flight_.acquire();
          asio::post(context_, [this, line = std::move(pending)]() mutable { on_line_(std::move(line)); });
        }
        asio::post(context_, [this] { on_line_(std::nullopt); });
        return;
      }
      pending.append(buffer, static_cast<std::size_t>(n));
    }
    {
      // Enter was pressed: the terminal's cursor is on a fresh line.
      std::lock_guard lock(output_mutex_);
      prompt_visible_ = false;
      line_open_ = false;
    }
    std::string line = pending.substr(0, newline);
    pending.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    in_flight_.acquire();
    asio::post(context_, [this, line = std::move(line)]() mutable { on_line_(std::move(line)); });
  }
}

void Console::print_incoming(std::string_view bytes) {
  if (bytes.empty()) return;
  std::lock_guard lock(output_mutex_);
  if (!stdout_is_terminal_) {
    // Piped: the peer's bytes, exactly.
    write_all(STDOUT_FILENO, bytes);
    return;
  }
  if (prompt_visible_) write_all(STDOUT_FILENO, kEraseLine);
  write_all(STDOUT_FILENO, bytes);
  line_open_ = bytes.back() != '\n';
  if (prompt_visible_) {
    // Like the tutorial's print(): the reply gets its own line, then the
    // prompt comes back.
    if (line_open_) write_all(STDOUT_FILENO, "\n");
    line_open_ = false;
    write_all(STDOUT_FILENO, prompt_);
  }
}

void Console::notice(std::string_view text) {
  std::lock_guard lock(output_mutex_);
  if (stdout_is_terminal_ && (line_open_ || prompt_visible_)) {
    write_all(STDOUT_FILENO, prompt_visible_ ? kEraseLine : "\n");
    line_open_ = prompt_visible_ = false;
  }
  std::string line(text);
  line += '\n';
  write_all(STDERR_FILENO, line);
}

void Console::finish_output() {
  std::lock_guard lock(output_mutex_);
  if (stdout_is_terminal_ && line_open_) write_all(STDOUT_FILENO, "\n");
  line_open_ = false;
}

}  // namespace enchufe::client
