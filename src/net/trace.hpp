#pragma once
// --trace: narrates each socket operation as it happens, numbered like the
// tutorial's steps (1 socket, 2 bind, 3 listen, 4 accept, 5 recv/send,
// 6 close; the client's 1 socket, 2 connect, 3 send/recv, 4 close), with a
// short clause where the behaviour is not obvious. For learners.
//
// Costs one predictable branch per operation when off: every call site is
// `if (trace::on()) ...`, and nothing is formatted unless it is on.

#include "net/log.hpp"

#include <string>
#include <string_view>

namespace enchufe::trace {

// Set once at start-up, before any thread runs; read-only afterwards.
inline bool g_enabled = false;
inline bool on() { return g_enabled; }

// One trace line, whatever the log level: "echo #3: [4 accept] ...".
// `step` is the tutorial's step ("4 accept").
template <typename... Args>
void step(log::Context context, std::string_view step, fmt::format_string<Args...> f, Args&&... args) {
  context.event = "trace";
  const std::string text = fmt::format("[{}] {}", step, fmt::format(f, std::forward<Args>(args)...));
  log::write(log::Level::info, context, text);
}

}  // namespace enchufe::trace
