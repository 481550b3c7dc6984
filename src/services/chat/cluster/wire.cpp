#include "services/chat/cluster/wire.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>

namespace enchufe::services::chat::cluster {

namespace {

namespace json = boost::json;
using SystemClock = std::chrono::system_clock;

// Field names are short: every line of every room goes through Redis once
// per node that hears it.
std::optional<std::string_view> text_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_string());
}

std::optional<std::uint64_t> number_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return std::nullopt;
}

}  // namespace

std::string to_wire(const ChatLine& line, std::string_view node, std::uint64_t sender, std::uint64_t seq, bool keep) {
  json::object o;
  o["k"] = static_cast<int>(line.kind);
  o["w"] = static_cast<int>(line.what);
  o["n"] = line.nick;
  if (!line.to.empty()) o["to"] = line.to;
  o["t"] = line.text;
  o["ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(line.time.time_since_epoch()).count();
  o["node"] = node;
  o["s"] = sender;
  o["q"] = seq;
  o["keep"] = keep;
  return json::serialize(o);
}

namespace {

// "<number> <json>": a room line's number, or (private) the recipient's
// session; `private_line`: a node's channel (private messages), not a room's.
std::optional<std::pair<std::uint64_t, WireLine>> parse(std::string_view published, std::string_view room,
                                                        bool private_line) {
  const auto space = published.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(published.data(), published.data() + space, number);
  if (ec != std::errc() || end != published.data() + space || number == 0) return std::nullopt;

  error_code jec;
  const json::value parsed = json::parse(published.substr(space + 1), jec);
  if (jec || !parsed.is_object()) return std::nullopt;
  const json::object& o = parsed.get_object();
  const auto kind = number_field(o, "k"), what = number_field(o, "w"), ms = number_field(o, "ms");
  const auto sender = number_field(o, "s"), seq = number_field(o, "q");
  const auto nick = text_field(o, "n"), text = text_field(o, "t"), node = text_field(o, "node");
  const auto* keep = o.if_contains("keep");
  if (!kind || !what || !ms || !sender || !seq || !nick || !text || !node || keep == nullptr || !keep->is_bool()) {
    return std::nullopt;
  }
  // A room's channel carries room lines only, a node's private messages only.
  const bool kind_fits = private_line ? *kind == static_cast<std::uint64_t>(LineKind::private_message)
                                      : *kind <= static_cast<std::uint64_t>(LineKind::notice);
  if (!kind_fits || *what > static_cast<std::uint64_t>(NoticeWhat::renamed)) return std::nullopt;
  auto line = std::make_shared<ChatLine>();
  line->kind = static_cast<LineKind>(*kind);
  line->what = static_cast<NoticeWhat>(*what);
  line->room = std::string(room);
  line->nick = std::string(*nick);
  if (const auto to = text_field(o, "to")) line->to = std::string(*to);
  line->text = std::string(*text);
  line->time = SystemClock::time_point(std::chrono::milliseconds(*ms));
  return std::pair{number, WireLine{std::move(line), std::string(*node), *sender, *seq, keep->get_bool()}};
}

}  // namespace

std::optional<WireLine> from_wire(std::string_view published, std::string_view room) {
  auto parsed = parse(published, room, false);
  if (!parsed) return std::nullopt;
  parsed->second.line->id = parsed->first;
  return std::move(parsed->second);
}

std::optional<std::pair<std::uint64_t, WireLine>> private_from_wire(std::string_view published) {
  return parse(published, {}, true);
}

}  // namespace enchufe::services::chat::cluster
