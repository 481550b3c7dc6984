#pragma once
// Console for pipes and files: blocking reads on a thread of its own (they
// work for terminals, pipes and plain files alike) and the peer's bytes
// printed exactly as they came.

#include "client/console.hpp"

#include <mutex>
#include <semaphore>
#include <thread>

namespace enchufe::client {

class PlainConsole final : public Console {
 public:
  explicit PlainConsole(asio::io_context& context);
  ~PlainConsole() override;

  bool interactive() const override { return false; }
  void start(LineHandler on_line) override;
  void line_done() override { in_flight_.release(); }
  void print_incoming(std::string_view bytes) override;
  void notice(std::string_view text) override;

 private:
  void read_stdin();
  void post_line(std::optional<std::string> line);

  asio::io_context& context_;
  LineHandler on_line_;
  bool stdout_is_terminal_;
  std::mutex output_mutex_;
  bool line_open_ = false;  // on a terminal: the last byte printed was not a newline

  // Lines read but not yet handled: the reader waits beyond this many, so a
  // large piped file is not slurped into memory ahead of a slow server.
  static constexpr std::ptrdiff_t kLinesInFlight = 64;
  std::counting_semaphore<kLinesInFlight> in_flight_{kLinesInFlight};
  std::thread reader_;
};

}  // namespace enchufe::client
