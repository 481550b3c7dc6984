#include "net/log.hpp"

#include "net/coroutine.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>

namespace enchufe::log {
namespace {
std::atomic<Level> g_level{Level::info};

std::string_view tag(Level l) {
  switch (l) {
    case Level::error: return "error: ";
    case Level::warn: return "warning: ";
    default: return "";
  }
}
}  // namespace

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

void write_line(Level l, std::string_view text) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);

  thread_local std::string line;
  line.clear();
  fmt::format_to(std::back_inserter(line), "{:02}:{:02}:{:02}.{:03} {}{}\n", utc.tm_hour, utc.tm_min,
                 utc.tm_sec, millis, tag(l), text);
  // One write per line: atomic for pipes up to PIPE_BUF, and never interleaved mid-line.
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;  // stderr gone: logging must never take the server down
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace enchufe::log

namespace enchufe::net {
void report_coroutine_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("bug: a coroutine ended with an exception: {}", ex.what());
  } catch (...) {
    log::error("bug: a coroutine ended with an unknown exception");
  }
}
}  // namespace enchufe::net
