#include "net/text.hpp"

#include <fmt/format.h>

namespace enchufe::net {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool is_word(std::string_view text, std::string_view word) {
  text = trim(text);
  if (text.size() != word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (lower(text[i]) != lower(word[i])) return false;
  }
  return true;
}

std::string preview(std::string_view bytes, std::size_t max) {
  std::string out = "\"";
  const auto shown = bytes.substr(0, max);
  for (unsigned char c : shown) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        // Printable ASCII and UTF-8 bytes pass (a log of "¿Cómo estás?" stays
        // readable); other control bytes are escaped so a client cannot
        // write terminal escapes into the operator's log.
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  if (bytes.size() > max) out += fmt::format("... ({} bytes)", bytes.size());
  return out;
}

}  // namespace enchufe::net
