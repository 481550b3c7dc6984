#pragma once
// Small text helpers shared by services and logs.

#include <cstddef>
#include <string>
#include <string_view>

namespace enchufe::net {

// Strips ASCII whitespace (space, \t, \r, \n, \v, \f) from both ends.
std::string_view trim(std::string_view text);

// True when `text`, trimmed, equals `word` ignoring ASCII case ("  SALIR\r" == "salir").
bool is_word(std::string_view text, std::string_view word);

// A short, quoted preview of bytes for logs: control bytes become escapes
// (UTF-8 text stays readable) and text past `max` bytes becomes "...".
std::string preview(std::string_view bytes, std::size_t max = 60);

}  // namespace enchufe::net
