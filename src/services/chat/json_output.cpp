// The web's rendering of the chat's events: one JSON object per WebSocket
// message (docs/web.md), built with Boost.JSON.

#include "services/chat/output.hpp"

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>

namespace enchufe::services::chat {

namespace {

namespace json = boost::json;

// The version in the welcome event; a client that finds another one knows
// the events may not be what it expects.
constexpr int kProtocolVersion = 1;

// Builds one event in `fill` and sends it; the object lives in a stack
// buffer (events to one client are small), so the string sent is the only
// allocation. A bigger one (a page of history) goes on in the heap.
template <typename Fill>
void send_event(net::MessageLink& to, std::string_view type, Fill&& fill) {
  unsigned char scratch[2048];
  json::monotonic_resource memory(scratch, sizeof scratch);
  json::object event(&memory);
  event["type"] = type;
  fill(event);
  event["ts"] = utc_timestamp(std::chrono::system_clock::now());
  to.send(std::make_shared<const std::string>(json::serialize(event)));
}

class JsonOutput final : public ChatOutput {
 public:
  void welcome(net::MessageLink& to, std::string_view server, std::string_view nick) const override {
    send_event(to, "welcome", [&](json::object& e) {
      e["v"] = kProtocolVersion;
      e["server"] = server;
      e["nick"] = nick;
    });
  }
  void nick_is(net::MessageLink& to, std::string_view nick) const override {
    send_event(to, "nick", [&](json::object& e) { e["nick"] = nick; });
  }
  // The joined event carries the history, so it waits for it.
  void entered(net::MessageLink&, std::string_view) const override {}
  void history(net::MessageLink& to, std::string_view room, const std::vector<SharedLine>& lines) const override {
    send_event(to, "joined", [&](json::object& e) {
      e["room"] = room;
      json::array& history = e["history"].emplace_array();
      for (const auto& line : lines) to_json(*line, history.emplace_back(json::object()).as_object());
    });
  }
  void line(net::MessageLink& to, const SharedLine& line) const override { to.send(json_of(line)); }
  void history_page(net::MessageLink& to, std::string_view room, const HistoryQuery& asked,
                    const HistoryPage& page) const override {
    const bool search = asked.kind == HistoryQuery::Kind::search;
    send_event(to, search ? "search" : "history", [&](json::object& e) {
      e["room"] = room;
      if (search) e["text"] = asked.text;
      json::array& lines = e["lines"].emplace_array();
      for (const auto& line : page.lines) to_json(*line, lines.emplace_back(json::object()).as_object());
      e["more"] = page.more;
    });
  }
  void resumed(net::MessageLink& to, std::string_view room, std::uint64_t since, const std::vector<SharedLine>& lines,
               std::uint64_t skipped) const override {
    send_event(to, "resumed", [&](json::object& e) {
      e["room"] = room;
      e["since"] = since;
      json::array& list = e["lines"].emplace_array();
      for (const auto& line : lines) to_json(*line, list.emplace_back(json::object()).as_object());
      e["skipped"] = skipped;
    });
  }
  void rooms(net::MessageLink& to, const RoomList& rooms) const override {
    send_event(to, "rooms", [&](json::object& e) {
      json::array& list = e["rooms"].emplace_array();
      for (const auto& [name, members] : rooms) {
        json::object& room = list.emplace_back(json::object()).as_object();
        room["name"] = name;
        room["members"] = members;
      }
    });
  }
  void who(net::MessageLink& to, std::string_view room, const std::vector<std::string>& members) const override {
    send_event(to, "who", [&](json::object& e) {
      e["room"] = room;
      json::array& list = e["members"].emplace_array();
      for (const auto& nick : members) list.emplace_back(nick);
    });
  }
  void info(net::MessageLink& to, std::string_view text) const override {
    send_event(to, "info", [&](json::object& e) { e["text"] = text; });
  }
  void error(net::MessageLink& to, std::string_view text) const override {
    send_event(to, "error", [&](json::object& e) { e["text"] = text; });
  }
  const ChatOutput& with_ids(bool) const override { return *this; }
};

}  // namespace

const ChatOutput& json_output() {
  static const JsonOutput output;
  return output;
}

}  // namespace enchufe::services::chat
