#include "services/chat/sanitize.hpp"

#include <cstdint>

namespace enchufe::services::chat {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at the start of `s` and its code point,
// or 0 when it is not valid (overlong forms, surrogates and values past
// U+10FFFF included).
std::size_t decode(std::string_view s, std::uint32_t& cp) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  std::size_t len;
  std::uint32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool is_bidi_control(std::uint32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

void append_sanitized(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size());
  while (!text.empty()) {
    std::uint32_t cp = 0;
    const std::size_t len = decode(text, cp);
    if (len == 0) {
      out += kReplacement;
      text.remove_prefix(1);
      continue;
    }
    if (cp == '\t') {
      out += ' ';
    } else if (cp < 0x20 || cp == 0x7F) {
      out += '^';
      out += static_cast<char>(cp ^ 0x40);  // ESC -> "^[", BEL -> "^G", DEL -> "^?"
    } else if (cp >= 0x80 && cp <= 0x9F) {
      out += kReplacement;  // C1 controls (CSI is 0x9B): as dangerous as ESC
    } else if (!is_bidi_control(cp)) {
      out.append(text.substr(0, len));
    }
    text.remove_prefix(len);
  }
}

}  // namespace enchufe::services::chat
