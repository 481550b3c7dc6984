#include "services/chat/doors.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <optional>

namespace enchufe::services::chat {

void LineChat::on_line_too_long(net::Connection& c) {
  session_.error(fmt::format("line too long (over {} bytes): not sent", c.options().max_line));
}

namespace {

// A string field of `event`, or nothing.
std::optional<std::string_view> text_field(const boost::json::object& event, std::string_view name) {
  const boost::json::value* value = event.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  const boost::json::string& s = value->get_string();
  return std::string_view(s.data(), s.size());
}

}  // namespace

void WebChat::on_message(net::MessageLink& link, std::string_view frame) {
  namespace json = boost::json;
  // A frame is at most a few KiB: parsed in a stack buffer, no allocation.
  unsigned char scratch[8192];
  json::monotonic_resource memory(scratch, sizeof scratch);
  json::error_code ec;
  const json::value value = json::parse(frame, ec, &memory);
  const json::object* event = ec ? nullptr : value.if_object();
  const auto type = event ? text_field(*event, "type") : std::nullopt;
  if (type == "line") {
    if (const auto text = text_field(*event, "text")) {
      session_.on_message(link, *text);
      return;
    }
  } else if (type == "login") {
    const auto nick = text_field(*event, "nick");
    const auto password = text_field(*event, "password");
    if (nick && password) {
      session_.on_command(login_command(*nick, *password));
      return;
    }
  } else if (type == "register") {
    if (const auto password = text_field(*event, "password")) {
      session_.on_command(register_command(*password));
      return;
    }
  }
  session_.refuse(
      R"(not understood: send {"type":"line","text":"..."}, {"type":"login","nick":"...","password":"..."} or )"
      R"({"type":"register","password":"..."} (see docs/web.md))");
}

}  // namespace enchufe::services::chat
