// The terminal's rendering of the chat's events: "* " for server text to one
// client, "error: " for errors, stamped lines for what people say.

#include "services/chat/output.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace enchufe::services::chat {

namespace {

class TextOutput final : public ChatOutput {
 public:
  void welcome(net::MessageLink& to, std::string_view server, std::string_view nick) const override {
    info(to, fmt::format("Welcome to {} chat! /help lists the commands.", server));
    info(to, fmt::format("You are {}. Type a nickname to take it (e.g. ana), or just start talking.", nick));
  }
  void nick_is(net::MessageLink& to, std::string_view nick) const override {
    info(to, fmt::format("you are {} now", nick));
  }
  void entered(net::MessageLink& to, std::string_view room) const override {
    info(to, fmt::format("you are in {} now; /who lists who is here", room));
  }
  void history(net::MessageLink& to, std::string_view room, const std::vector<SharedLine>& lines) const override {
    if (lines.empty()) return;
    info(to, fmt::format("the last {} message{} in {}:", lines.size(), lines.size() == 1 ? "" : "s", room));
    for (const auto& l : lines) line(to, l);
  }
  void line(net::MessageLink& to, const SharedLine& line) const override { to.send(text_of(line)); }
  void rooms(net::MessageLink& to, const RoomList& rooms) const override {
    info(to, fmt::format("{} room{}:", rooms.size(), rooms.size() == 1 ? "" : "s"));
    for (const auto& [name, members] : rooms) info(to, fmt::format("  {} ({})", name, members));
  }
  void who(net::MessageLink& to, std::string_view room, const std::vector<std::string>& members) const override {
    info(to, fmt::format("{} in {}: {}", members.size(), room, fmt::join(members, ", ")));
  }
  void info(net::MessageLink& to, std::string_view text) const override { to.send({"* ", text, "\n"}); }
  void error(net::MessageLink& to, std::string_view text) const override { to.send({"error: ", text, "\n"}); }
};

}  // namespace

const ChatOutput& text_output() {
  static const TextOutput output;
  return output;
}

}  // namespace enchufe::services::chat
