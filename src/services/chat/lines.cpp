#include "services/chat/lines.hpp"

#include "services/chat/sanitize.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <ctime>

namespace enchufe::services::chat {

namespace {

using SystemClock = std::chrono::system_clock;

std::tm broken_down(std::time_t second, bool local) {
  std::tm tm{};
  if (local) {
    localtime_r(&second, &tm);
  } else {
    gmtime_r(&second, &tm);
  }
  return tm;
}

// "[HH:MM:SS] ", formatted once per second per thread rather than per line.
std::string_view clock_stamp(SystemClock::time_point time, Stamp stamp) {
  thread_local std::time_t cached_second = -1;
  thread_local bool cached_local = false;
  thread_local char text[16];
  const std::time_t second = SystemClock::to_time_t(time);
  if (second != cached_second || stamp.local_time != cached_local) {
    const std::tm tm = broken_down(second, stamp.local_time);
    fmt::format_to_n(text, sizeof text, "[{:02}:{:02}:{:02}] ", tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
    cached_local = stamp.local_time;
  }
  return {text, 11};
}

std::string_view type_name(LineKind kind) {
  switch (kind) {
    case LineKind::message: return "message";
    case LineKind::action: return "action";
    case LineKind::notice: return "notice";
    case LineKind::private_message:
    case LineKind::private_echo: return "private";
  }
  return "message";
}

std::string_view what_name(NoticeWhat what) {
  switch (what) {
    case NoticeWhat::joined: return "joined";
    case NoticeWhat::left: return "left";
    case NoticeWhat::renamed: return "renamed";
    case NoticeWhat::none: break;
  }
  return {};
}

std::shared_ptr<ChatLine> new_line(LineKind kind, std::string_view room, std::string_view nick, std::string_view to) {
  auto line = std::make_shared<ChatLine>();
  line->kind = kind;
  line->room = room;
  line->nick = nick;
  line->to = to;
  line->time = SystemClock::now();
  return line;
}

// The terminal's form: stamp, the server's parts around the name, the text.
void encode_text(ChatLine& line, Stamp stamp) {
  std::string_view before, name = line.nick, after;
  switch (line.kind) {
    case LineKind::message: before = "<", after = "> "; break;
    case LineKind::action: before = "* ", after = " "; break;
    case LineKind::notice: before = "* ", name = {}; break;
    case LineKind::private_message: before = "*", after = "* "; break;
    case LineKind::private_echo: before = "-> *", name = line.to, after = "* "; break;
  }
  std::string& out = line.as_text;
  out.clear();  // a line copied from the store's queue comes encoded already
  out.reserve(11 + before.size() + name.size() + after.size() + line.text.size() + 1);
  out += clock_stamp(line.time, stamp);
  out += before;
  out += name;
  out += after;
  out += line.text;
  out += '\n';
}

}  // namespace

std::shared_ptr<ChatLine> said_line(LineKind kind, std::string_view room, std::string_view nick,
                                    std::string_view text) {
  auto line = new_line(kind, room, nick, {});
  append_sanitized(line->text, text);
  return line;
}

std::shared_ptr<ChatLine> private_line(LineKind kind, std::string_view from, std::string_view to,
                                       std::string_view text) {
  auto line = new_line(kind, {}, from, to);
  append_sanitized(line->text, text);
  return line;
}

std::shared_ptr<ChatLine> notice_line(std::string_view room, NoticeWhat what, std::string_view nick,
                                      std::string_view to, std::string text) {
  auto line = new_line(LineKind::notice, room, nick, to);
  line->what = what;
  line->text = std::move(text);
  return line;
}

std::string utc_timestamp(SystemClock::time_point time) {
  // The part to the second is formatted once per second per thread.
  thread_local std::time_t cached_second = -1;
  thread_local char date_time[24];
  const std::time_t second = SystemClock::to_time_t(time);
  if (second != cached_second) {
    const std::tm tm = broken_down(second, false);
    fmt::format_to_n(date_time, sizeof date_time, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
  }
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  return fmt::format("{}.{:03}Z", std::string_view(date_time, 19), millis);
}

void to_json(const ChatLine& line, boost::json::object& out) {
  out["type"] = type_name(line.kind);
  if (!line.room.empty()) out["room"] = line.room;
  if (line.id != 0) out["id"] = line.id;
  if (line.kind != LineKind::notice || line.what != NoticeWhat::none) out["nick"] = line.nick;
  if (line.kind == LineKind::private_message || line.kind == LineKind::private_echo ||
      line.what == NoticeWhat::renamed) {
    out["to"] = line.to;
  }
  if (line.what != NoticeWhat::none) out["what"] = what_name(line.what);
  out["text"] = line.text;
  out["ts"] = utc_timestamp(line.time);
}

void encode(ChatLine& line, Stamp stamp) {
  encode_text(line, stamp);
  // The object lives in a stack buffer: the only allocation is the result.
  unsigned char scratch[1024];
  boost::json::monotonic_resource memory(scratch, sizeof scratch);
  boost::json::object object(&memory);
  to_json(line, object);
  line.as_json = boost::json::serialize(object);
}

}  // namespace enchufe::services::chat
