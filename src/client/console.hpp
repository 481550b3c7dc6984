#pragma once
// The terminal side of `enchufe connect`: reads what the user types on a
// thread of its own (blocking reads work for terminals, pipes and plain
// files alike) and prints what arrives without waiting for the user.

#include <asio/io_context.hpp>

#include <functional>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <thread>

namespace enchufe::client {

class Console {
 public:
  // The prompt is shown only when stdin and stdout are a terminal.
  Console(asio::io_context& context, std::string prompt);
  ~Console();

  bool interactive() const { return interactive_; }

  // Starts reading stdin. on_line runs on `context`'s thread for every line
  // (without its newline) and once with nullopt at end of input; call
  // line_done() when a line has been handled, so input stays bounded.
  void start(std::function<void(std::optional<std::string>)> on_line);
  void line_done();

  // Prints bytes from the peer as they are, keeping the prompt tidy on a
  // terminal. Thread-safe.
  void print_incoming(std::string_view bytes);

  // A status line on stderr ("connection closed by the server").
  void notice(std::string_view text);

  // Before exiting: on a terminal, ends an unfinished output line.
  void finish_output();

 private:
  void read_stdin();

  asio::io_context& context_;
  std::string prompt_;
  bool interactive_;
  bool stdout_is_terminal_;
  std::function<void(std::optional<std::string>)> on_line_;

  std::mutex output_mutex_;
  bool prompt_visible_ = false;
  bool line_open_ = false;  // the last byte printed was not a newline

  // Lines read but not yet handled: the reader waits beyond this many, so a
  // large piped file is not slurped into memory ahead of a slow server.
  static constexpr std::ptrdiff_t kLinesInFlight = 64;
  std::counting_semaphore<kLinesInFlight> in_flight_{kLinesInFlight};
  std::thread reader_;
};

}  // namespace enchufe::client
