#include "client/line_editor.hpp"

#include <fmt/format.h>

namespace enchufe::client {

namespace {

constexpr unsigned char ctrl(char c) { return static_cast<unsigned char>(c & 0x1F); }
bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

LineEditor::Event LineEditor::feed(unsigned char byte) {
  switch (escape_) {
    case Escape::none:
      if (byte == 0x1B) {
        escape_ = Escape::started;
        return Event::none;
      }
      return key(byte);
    case Escape::started:
      escape_parameters_.clear();
      escape_ = byte == '[' ? Escape::csi : byte == 'O' ? Escape::ss3 : Escape::none;
      return Event::none;  // Alt+key and other ESC pairs are ignored
    case Escape::csi:
      // Parameters and intermediates (0x20-0x3F) until a final byte.
      if (byte >= 0x20 && byte <= 0x3F) {
        if (escape_parameters_.size() < 16) escape_parameters_ += static_cast<char>(byte);
        return Event::none;
      }
      escape_ = Escape::none;
      return escape_sequence(static_cast<char>(byte), escape_parameters_);
    case Escape::ss3:
      escape_ = Escape::none;
      return escape_sequence(static_cast<char>(byte), {});
  }
  return Event::none;
}

LineEditor::Event LineEditor::escape_sequence(char final_byte, std::string_view parameters) {
  switch (final_byte) {
    case 'A': return recall(history_index_ == 0 ? 0 : history_index_ - 1);
    case 'B': return recall(history_index_ + 1);
    case 'C': return move_to(next_char(cursor_));
    case 'D': return move_to(previous_char(cursor_));
    case 'H': return move_to(0);
    case 'F': return move_to(line_.size());
    case '~':
      if (parameters == "1" || parameters == "7") return move_to(0);
      if (parameters == "4" || parameters == "8") return move_to(line_.size());
      if (parameters == "3") return erase(cursor_, next_char(cursor_));
      return Event::none;
    default: return Event::none;
  }
}

LineEditor::Event LineEditor::key(unsigned char byte) {
  switch (byte) {
    case '\r':
    case '\n': return Event::line;
    case ctrl('A'): return move_to(0);
    case ctrl('E'): return move_to(line_.size());
    case ctrl('B'): return move_to(previous_char(cursor_));
    case ctrl('F'): return move_to(next_char(cursor_));
    case ctrl('H'):
    case 0x7F: return erase(previous_char(cursor_), cursor_);
    case ctrl('D'): return line_.empty() ? Event::end_of_input : erase(cursor_, next_char(cursor_));
    case ctrl('U'): return erase(0, cursor_);
    case ctrl('K'): return erase(cursor_, line_.size());
    case ctrl('W'): return erase(previous_word(cursor_), cursor_);
    case ctrl('P'): return recall(history_index_ == 0 ? 0 : history_index_ - 1);
    case ctrl('N'): return recall(history_index_ + 1);
    case ctrl('C'): return Event::interrupt;
    case ctrl('L'): return Event::clear_screen;
    case '\t': return insert(" ");
    default:
      if (byte < 0x20) return Event::none;  // other control keys do nothing
      const char c = static_cast<char>(byte);
      return insert(std::string_view(&c, 1));
  }
}

LineEditor::Event LineEditor::insert(std::string_view text) {
  line_.insert(cursor_, text);
  cursor_ += text.size();
  return Event::changed;
}

LineEditor::Event LineEditor::move_to(std::size_t position) {
  if (position == cursor_) return Event::none;
  cursor_ = position;
  return Event::changed;
}

LineEditor::Event LineEditor::erase(std::size_t from, std::size_t to) {
  if (from >= to) return Event::none;
  line_.erase(from, to - from);
  cursor_ = from;
  return Event::changed;
}

LineEditor::Event LineEditor::recall(std::size_t index) {
  if (index > history_.size() || index == history_index_) return Event::none;
  if (history_index_ == history_.size()) draft_ = line_;
  history_index_ = index;
  line_ = index == history_.size() ? draft_ : history_[index];
  cursor_ = line_.size();
  return Event::changed;
}

std::size_t LineEditor::previous_char(std::size_t position) const {
  if (position == 0) return 0;
  --position;
  while (position > 0 && continuation(static_cast<unsigned char>(line_[position]))) --position;
  return position;
}

std::size_t LineEditor::next_char(std::size_t position) const {
  if (position >= line_.size()) return line_.size();
  ++position;
  while (position < line_.size() && continuation(static_cast<unsigned char>(line_[position]))) ++position;
  return position;
}

std::size_t LineEditor::previous_word(std::size_t position) const {
  while (position > 0 && line_[position - 1] == ' ') --position;
  while (position > 0 && line_[position - 1] != ' ') --position;
  return position;
}

std::string LineEditor::take_line() {
  std::string done = std::move(line_);
  line_.clear();
  cursor_ = 0;
  draft_.clear();
  if (!done.empty() && (history_.empty() || history_.back() != done)) {
    history_.push_back(done);
    if (history_.size() > max_history_) history_.erase(history_.begin());
  }
  history_index_ = history_.size();
  return done;
}

std::string LineEditor::render(std::string_view prompt) const {
  // Column 0, erase the row, prompt and line, then back over the characters
  // (not bytes) after the cursor. One column per character: wide (CJK)
  // characters would need wcwidth(), which a chat line rarely does.
  std::string out = "\r\x1b[K";
  out += prompt;
  out += line_;
  std::size_t back = 0;
  for (std::size_t i = cursor_; i < line_.size(); ++i) {
    if (!continuation(static_cast<unsigned char>(line_[i]))) ++back;
  }
  if (back > 0) out += fmt::format("\x1b[{}D", back);
  return out;
}

}  // namespace enchufe::client
