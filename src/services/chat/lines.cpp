#include "services/chat/lines.hpp"

#include "services/chat/sanitize.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <string>

namespace enchufe::services::chat {

namespace {

// "[HH:MM:SS] ", formatted once per second per thread rather than per line.
std::string_view timestamp(Stamp stamp) {
  thread_local std::time_t cached_second = -1;
  thread_local bool cached_local = false;
  thread_local char text[16];
  const std::time_t now = std::time(nullptr);
  if (now != cached_second || stamp.local_time != cached_local) {
    std::tm tm{};
    if (stamp.local_time) {
      localtime_r(&now, &tm);
    } else {
      gmtime_r(&now, &tm);
    }
    fmt::format_to_n(text, sizeof text, "[{:02}:{:02}:{:02}] ", tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = now;
    cached_local = stamp.local_time;
  }
  return {text, 11};
}

// Timestamp, then the server's own parts, then the user's text, sanitised.
net::SharedText line(Stamp stamp, std::string_view before, std::string_view name, std::string_view after,
                     std::string_view user_text) {
  std::string out;
  out.reserve(11 + before.size() + name.size() + after.size() + user_text.size() + 1);
  out += timestamp(stamp);
  out += before;
  out += name;
  out += after;
  append_sanitized(out, user_text);
  out += '\n';
  return std::make_shared<const std::string>(std::move(out));
}

}  // namespace

net::SharedText message_line(Stamp stamp, std::string_view nick, std::string_view text) {
  return line(stamp, "<", nick, "> ", text);
}

net::SharedText action_line(Stamp stamp, std::string_view nick, std::string_view text) {
  return line(stamp, "* ", nick, " ", text);
}

net::SharedText private_line(Stamp stamp, std::string_view from, std::string_view text) {
  return line(stamp, "*", from, "* ", text);
}

net::SharedText private_echo_line(Stamp stamp, std::string_view to, std::string_view text) {
  return line(stamp, "-> *", to, "* ", text);
}

net::SharedText notice_line(Stamp stamp, std::string_view text) { return line(stamp, "* ", text, "", {}); }

}  // namespace enchufe::services::chat
