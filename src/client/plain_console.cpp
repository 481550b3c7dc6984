#include "client/plain_console.hpp"

#include "net/asio.hpp"

#include <boost/asio/post.hpp>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace enchufe::client {

PlainConsole::PlainConsole(asio::io_context& context)
    : reader_(std::make_shared<Reader>(context)), stdout_is_terminal_(::isatty(STDOUT_FILENO) == 1) {}

PlainConsole::~PlainConsole() {
  {
    std::lock_guard lock(reader_->mutex);
    reader_->closed = true;
  }
  std::lock_guard lock(output_mutex_);
  if (line_open_) write_all(STDOUT_FILENO, "\n");  // leave the shell prompt on a line of its own
}

void PlainConsole::start(LineHandler on_line) {
  reader_->on_line = std::move(on_line);
  std::thread([reader = reader_] { reader->run(); }).detach();
}

void PlainConsole::Reader::post(std::optional<std::string> line) {
  if (line) in_flight.acquire();
  std::lock_guard lock(mutex);
  if (closed) return;
  asio::post(context, [this, line = std::move(line)]() mutable { on_line(std::move(line)); });
}

void PlainConsole::Reader::run() {
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
      post(std::move(line));
    }
  }
  // End of input: a last line without a newline still counts.
  if (!pending.empty()) post(std::move(pending));
  post(std::nullopt);
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
