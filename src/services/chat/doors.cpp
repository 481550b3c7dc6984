#include "services/chat/doors.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

namespace enchufe::services::chat {

void LineChat::on_line_too_long(net::Connection& c) {
  session_.error(fmt::format("line too long (over {} bytes): not sent", c.options().max_line));
}

void WebChat::on_message(net::MessageLink& link, std::string_view frame) {
  namespace json = boost::json;
  // A frame is at most a few KiB: parsed in a stack buffer, no allocation.
  unsigned char scratch[8192];
  json::monotonic_resource memory(scratch, sizeof scratch);
  json::error_code ec;
  const json::value value = json::parse(frame, ec, &memory);
  const json::object* event = ec ? nullptr : value.if_object();
  const json::value* type = event ? event->if_contains("type") : nullptr;
  const json::value* text = event ? event->if_contains("text") : nullptr;
  if (type == nullptr || !type->is_string() || type->get_string() != "line" || text == nullptr ||
      !text->is_string()) {
    session_.refuse(R"(not understood: send {"type":"line","text":"..."} (see docs/web.md))");
    return;
  }
  const json::string& line = text->get_string();
  session_.on_message(link, {line.data(), line.size()});
}

}  // namespace enchufe::services::chat
