#pragma once
// Logging to stderr, one line per event, written with a single write(2) so
// lines from different threads never interleave.

#include <fmt/format.h>

#include <string_view>

namespace enchufe::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
inline bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(level()); }

// Writes one already-formatted line (a newline is added).
void write_line(Level level, std::string_view text);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write_line(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warn)) write_line(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write_line(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write_line(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace enchufe::log
