#pragma once
// The editing half of the interactive console, with no terminal in it:
// bytes typed go in, the line being edited and what to do come out. Pure,
// so every key is unit-tested.
//
// Keys: printable text and UTF-8 insert at the cursor; Left/Right, Home/End,
// Ctrl-A/E/B/F move; Backspace, Delete, Ctrl-D (on a non-empty line),
// Ctrl-U/K/W delete; Up/Down walk the history; Enter ends the line; Ctrl-D
// on an empty line is end of input; Ctrl-C interrupts; Ctrl-L clears the
// screen.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::client {

class LineEditor {
 public:
  enum class Event {
    none,         // nothing visible changed
    changed,      // the line or cursor changed: redraw
    line,         // Enter: take_line() has the line
    end_of_input, // Ctrl-D on an empty line
    interrupt,    // Ctrl-C
    clear_screen  // Ctrl-L
  };

  explicit LineEditor(std::size_t max_history = 100) : max_history_(max_history) {}

  Event feed(unsigned char byte);

  const std::string& line() const { return line_; }
  std::size_t cursor() const { return cursor_; }  // a byte offset into line()

  // The finished line, added to the history; the editor starts a new one.
  std::string take_line();

  // Terminal bytes that draw `prompt` and the line on the current row and put
  // the cursor where the user is typing.
  std::string render(std::string_view prompt) const;

 private:
  Event key(unsigned char byte);
  Event escape_sequence(char final_byte, std::string_view parameters);
  Event insert(std::string_view text);
  Event move_to(std::size_t position);
  Event erase(std::size_t from, std::size_t to);
  Event recall(std::size_t index);
  std::size_t previous_char(std::size_t position) const;
  std::size_t next_char(std::size_t position) const;
  std::size_t previous_word(std::size_t position) const;

  std::string line_;
  std::size_t cursor_ = 0;

  std::vector<std::string> history_;
  std::size_t max_history_;
  std::size_t history_index_ = 0;  // == history_.size(): the new line
  std::string draft_;              // the new line, kept while browsing history

  enum class Escape { none, started, csi, ss3 } escape_ = Escape::none;
  std::string escape_parameters_;
};

}  // namespace enchufe::client
