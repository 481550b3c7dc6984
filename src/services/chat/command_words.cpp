#include "services/chat/command_words.hpp"

#include "net/text.hpp"
#include "services/chat/since.hpp"

namespace enchufe::services::chat {

std::string_view first_word(std::string_view text, std::string_view& rest) {
  text = net::trim(text);
  const auto space = text.find_first_of(" \t");
  if (space == std::string_view::npos) {
    rest = {};
    return text;
  }
  rest = net::trim(text.substr(space));
  return text.substr(0, space);
}

std::optional<std::uint64_t> number_in(std::string_view digits, std::uint64_t max) {
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> age_in_seconds(std::string_view text) {
  constexpr std::chrono::seconds kYear = std::chrono::days(366);
  const auto back = span(text);
  if (!back || back->count() == 0 || *back > kYear) return std::nullopt;
  return static_cast<std::uint64_t>(back->count());
}

}  // namespace enchufe::services::chat
