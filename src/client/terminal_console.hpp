#pragma once
// Console for a person at a terminal: the terminal in raw mode, a
// LineEditor for the line being typed (editing, history with the arrow
// keys), and text from the server printed above it, with the prompt and the
// half-typed line redrawn underneath.
//
// One thread does all terminal work: it polls stdin and a wake-up pipe
// through which other threads hand it text to print.

#include "client/console.hpp"
#include "client/line_editor.hpp"

#include <termios.h>

#include <mutex>
#include <thread>
#include <vector>

namespace enchufe::client {

class TerminalConsole final : public Console {
 public:
  TerminalConsole(asio::io_context& context, std::string prompt);
  ~TerminalConsole() override;  // restores the terminal

  bool interactive() const override { return true; }
  void start(LineHandler on_line) override;
  void line_done() override {}  // a person cannot outrun the network
  void print_incoming(std::string_view bytes) override;
  void notice(std::string_view text) override;

 private:
  struct Output {
    int fd;
    std::string text;
  };
  void run();
  void handle(LineEditor::Event event);
  void print_queued();
  void queue(int fd, std::string_view text);
  void wake();
  void post(std::optional<std::string> line);

  asio::io_context& context_;
  std::string prompt_;
  LineHandler on_line_;
  LineEditor editor_;        // the console thread's alone
  bool input_ended_ = false; // the console thread's alone
  termios saved_{};
  bool raw_ = false;
  int wake_pipe_[2] = {-1, -1};
  std::mutex mutex_;  // guards queued_ and stopping_
  std::vector<Output> queued_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace enchufe::client
