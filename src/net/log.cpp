#include "net/log.hpp"

#include "net/coroutine.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>

namespace enchufe::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::text};

std::string_view level_name(Level l) {
  switch (l) {
    case Level::error: return "error";
    case Level::warn: return "warning";
    case Level::info: return "info";
    case Level::debug: return "debug";
  }
  return "info";
}

void write_all(std::string_view rest) {
  while (!rest.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;  // stderr gone: logging must never take the server down
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}
}  // namespace

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }
void set_format(Format f) { g_format.store(f, std::memory_order_relaxed); }

void write(Level l, const Context& c, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);

  thread_local std::string line;
  line.clear();
  auto out = std::back_inserter(line);
  if (g_format.load(std::memory_order_relaxed) == Format::json) {
    boost::json::object object;
    object["time"] = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                                 utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    object["level"] = level_name(l);
    if (!c.service.empty()) object["service"] = c.service;
    if (c.connection != 0) object["connection"] = c.connection;
    if (!c.peer.empty()) object["peer"] = c.peer;
    object["event"] = c.event.empty() ? std::string_view("note") : c.event;
    if (!message.empty()) object["message"] = message;
    line += boost::json::serialize(object);
    line += '\n';
  } else {
    fmt::format_to(out, "{:02}:{:02}:{:02}.{:03} ", utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    if (l == Level::error || l == Level::warn) fmt::format_to(out, "{}: ", level_name(l));
    if (!c.service.empty()) {
      line += c.service;
      if (c.connection != 0) fmt::format_to(out, " #{}", c.connection);
      line += ": ";
    }
    line += message;
    line += '\n';
  }
  // One write per line: atomic for pipes up to PIPE_BUF, never interleaved mid-line.
  write_all(line);
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
