#pragma once
// The lines of the chat: what was said, by whom, where and when, built once
// and shared by every recipient, with one encoding per kind of client (text
// for terminals, JSON for the web) made once for all of them. User text is
// sanitised here, at the single point where it enters a line; nicknames and
// room names are validated when chosen.

#include "net/outbox.hpp"

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace enchufe::services::chat {

enum class LineKind : std::uint8_t {
  message,          // "[12:04:05] <ana> hola"
  action,           // "[12:04:05] * ana waves"
  notice,           // "[12:04:05] * ana joined general" (server text)
  private_message,  // "[12:04:05] *ana* psst" (to the recipient of /msg)
  private_echo,     // "[12:04:05] -> *bob* psst" (back to its sender)
};

// What a notice is about, so a page can keep its member list without
// parsing the text.
enum class NoticeWhat : std::uint8_t { none, joined, left, renamed };

struct ChatLine {
  LineKind kind = LineKind::message;
  NoticeWhat what = NoticeWhat::none;
  std::string room;  // empty for private lines
  std::string nick;  // who said it (private: the sender); a notice's subject
  std::string to;    // private: the recipient; renamed: the new nickname
  std::string text;  // sanitised user text, or a notice's server text
  std::chrono::system_clock::time_point time;
  std::uint64_t id = 0;  // a room line's number in its room, from 1; 0: private
  std::uint32_t room_id = 0;  // the room's id on this server, set by its home

  // Filled by encode(), then never changed: every recipient shares them.
  std::string as_text;
  std::string as_json;
};
using SharedLine = std::shared_ptr<const ChatLine>;

struct Stamp {
  bool local_time = false;  // UTC otherwise (JSON is always UTC)
};

// Builders, at the sender's loop; `text` is the user's, sanitised here.
std::shared_ptr<ChatLine> said_line(LineKind kind, std::string_view room, std::string_view nick,
                                    std::string_view text);
std::shared_ptr<ChatLine> private_line(LineKind kind, std::string_view from, std::string_view to,
                                       std::string_view text);
// `text` is built by the server from validated names and already-sanitised
// text, so it is taken as it is.
std::shared_ptr<ChatLine> notice_line(std::string_view room, NoticeWhat what, std::string_view nick,
                                      std::string_view to, std::string text);

// Fills as_text and as_json; for room lines, once the room's home has
// numbered it.
void encode(ChatLine& line, Stamp stamp);

// The line as a JSON event object (as_json is this, serialised).
void to_json(const ChatLine& line, boost::json::object& out);

// A line's encodings as texts for an outbox: they share the line's life, so
// queueing one copies nothing.
inline net::SharedText text_of(const SharedLine& line) { return {line, &line->as_text}; }
inline net::SharedText json_of(const SharedLine& line) { return {line, &line->as_json}; }

// "2026-12-01T12:04:05.123Z"
std::string utc_timestamp(std::chrono::system_clock::time_point time);

}  // namespace enchufe::services::chat
