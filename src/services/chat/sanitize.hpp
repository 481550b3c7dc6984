#pragma once
// Makes one user's text safe to show on another user's terminal.
//
// Control characters, including ESC (which starts ANSI sequences that can
// recolour, move the cursor, retitle the window or worse), become visible
// caret notation ("^[", "^G"); tabs become a space; bytes that are not
// valid UTF-8 become U+FFFD; Unicode bidirectional overrides, which can make
// a line read backwards, are dropped.

#include <string>
#include <string_view>

namespace enchufe::services::chat {

// Appends the sanitised form of `text` to `out`.
void append_sanitized(std::string& out, std::string_view text);

inline std::string sanitized(std::string_view text) {
  std::string out;
  append_sanitized(out, text);
  return out;
}

}  // namespace enchufe::services::chat
