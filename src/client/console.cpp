#include "client/console.hpp"

#include "client/terminal_console.hpp"
#include "client/plain_console.hpp"

#include <unistd.h>

#include <cerrno>

namespace enchufe::client {

std::unique_ptr<Console> make_console(asio::io_context& context, std::string prompt) {
  if (::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1) {
    return std::make_unique<TerminalConsole>(context, std::move(prompt));
  }
  return std::make_unique<PlainConsole>(context);
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace enchufe::client
