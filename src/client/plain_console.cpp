#include "client/plain_console.hpp"

#include <asio/post.hpp>
#include <unistd.h>

#include <cerrno>

namespace enchufe::client {

PlainConsole::PlainConsole(asio::io_context& context)
    : context_(context), stdout_is_terminal_(::isatty(STDOUT_FILENO) == 1) {}

PlainConsole::~PlainConsole() {
  // The reader may be blocked in read(2); the process is exiting, so it is
  // left to end with it.
  if (reader_.joinable()) reader_.detach();
  std::lock_guard lock(output_mutex_);
  if (line_open_) write_all(STDOUT_FILENO, "\n");  // leave the shell prompt on a line of its own
}

void PlainConsole::start(LineHandler on_line) {
  on_line_ = std::move(on_line);
  reader_ = std::thread([this] { read_stdin(); });
}

void PlainConsole::post_line(std::optional<std::string> line) {
  if (line) in_flight_.acquire();
  asio::post(context_, [this, line = std::move(line)]() mutable { on_line_(std::move(line)); });
}

void PlainConsole::read_stdin() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      post_line(std::move(line));
    }
  }
  // End of input: a last line without a newline still counts.
  if (!pending.empty()) post_line(std::move(pending));
  post_line(std::nullopt);
}

void PlainConsole::print_incoming(std::string_view bytes) {
  if (bytes.empty()) return;
  std::lock_guard lock(output_mutex_);
  write_all(STDOUT_FILENO, bytes);
  line_open_ = stdout_is_terminal_ && bytes.back() != '\n';
}

void PlainConsole::notice(std::string_view text) {
  std::lock_guard lock(output_mutex_);
  if (line_open_) write_all(STDOUT_FILENO, "\n");
  line_open_ = false;
  std::string line(text);
  line += '\n';
  write_all(STDERR_FILENO, line);
}

}  // namespace enchufe::client
