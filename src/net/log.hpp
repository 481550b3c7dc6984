#pragma once
// Logging to stderr, one line per event, written with a single write(2) so
// lines from different threads never interleave.
//
// Two formats (--log-format): text for people ("echo #3: connected
// 127.0.0.1:52344"), and json for machines, one object per line with the
// time, level, service, connection id, peer and event as fields.

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

namespace enchufe::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };
enum class Format { text, json };

void set_level(Level level);
Level level();
inline bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(level()); }
void set_format(Format format);

// What a line is about. Every field may be left empty.
struct Context {
  std::string_view service;      // "echo"
  std::uint64_t connection = 0;  // the connection's id (0: none)
  std::string_view peer;         // "127.0.0.1:52344"
  std::string_view event;        // "connected", "closed", "refused", ...
};

// Writes one line: in text, "service #id: message".
void write(Level level, const Context& context, std::string_view message);

template <typename... Args>
void at(Level l, const Context& context, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(l)) write(l, context, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  at(Level::error, {}, f, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  at(Level::warn, {}, f, std::forward<Args>(args)...);
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  at(Level::info, {}, f, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  at(Level::debug, {}, f, std::forward<Args>(args)...);
}

}  // namespace enchufe::log
