#pragma once
// The terminal side of `enchufe connect`: what the user types comes in as
// lines; what the server sends is printed as it arrives, without garbling
// the line being typed.
//
// Two kinds: on a terminal, a line editor (editing, history with the arrow
// keys, the input line redrawn under incoming text); otherwise (a pipe, a
// file) plain blocking reads and the peer's bytes printed exactly.

#include "net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace enchufe::client {

class Console {
 public:
  using LineHandler = std::function<void(std::optional<std::string>)>;
  virtual ~Console() = default;

  // True when the user types at a terminal (prompt, line editing).
  virtual bool interactive() const = 0;

  // Starts reading input. on_line runs on the io_context's thread for every
  // line (without its newline) and once with nullopt at end of input; call
  // line_done() when a line has been handled, so input stays bounded.
  virtual void start(LineHandler on_line) = 0;
  virtual void line_done() = 0;

  // Prints bytes from the peer. Thread-safe.
  virtual void print_incoming(std::string_view bytes) = 0;
  // A status line on stderr ("connection closed by the server"). Thread-safe.
  virtual void notice(std::string_view text) = 0;
};

// The line editor when stdin and stdout are terminals, plain I/O otherwise.
std::unique_ptr<Console> make_console(asio::io_context& context, std::string prompt);

// A --trace line, through the console so it never garbles the typed line.
template <typename... Args>
void trace(Console& console, std::string_view step, fmt::format_string<Args...> format, Args&&... args) {
  console.notice(fmt::format("[{}] {}", step, fmt::format(format, std::forward<Args>(args)...)));
}

// For both kinds: write(2) until done, retrying on EINTR.
void write_all(int fd, std::string_view bytes);

}  // namespace enchufe::client
