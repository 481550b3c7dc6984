// Fuzzes the console's line editor with arbitrary keystrokes (escape
// sequences, UTF-8, control keys, history): no crash, and the cursor always
// stays inside the line.
#include "client/line_editor.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  enchufe::client::LineEditor editor(8);
  for (std::size_t i = 0; i < size; ++i) {
    const auto event = editor.feed(data[i]);
    if (editor.cursor() > editor.line().size()) std::abort();
    if (event == enchufe::client::LineEditor::Event::line) editor.take_line();
    (void)editor.render("> ");
  }
  return 0;
}
