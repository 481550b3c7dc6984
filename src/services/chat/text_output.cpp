// The terminal's rendering of the chat's events: "* " for server text to one
// client, "error: " for errors, stamped lines for what people say.

#include "services/chat/output.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace enchufe::services::chat {

namespace {

class TextOutput final : public ChatOutput {
 public:
  explicit constexpr TextOutput(bool ids) : ids_(ids) {}

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
  void line(net::MessageLink& to, const SharedLine& line) const override {
    // Numbered, the line is copied for this client rather than shared: only
    // clients that asked for ids (enchufe connect --reconnect) pay for it.
    if (ids_ && line->id != 0) {
      numbered(to, line);
    } else {
      to.send(text_of(line));
    }
  }
  void history_page(net::MessageLink& to, std::string_view room, const HistoryQuery& asked,
                    const HistoryPage& page) const override {
    using Kind = HistoryQuery::Kind;
    const std::size_t n = page.lines.size();
    const std::string_view s = n == 1 ? "" : "s";
    switch (asked.kind) {
      case Kind::before:
        info(to, n == 0 ? fmt::format("no earlier lines in {}", room) : fmt::format("{} earlier line{} in {}:", n, s, room));
        break;
      case Kind::since_id:
      case Kind::since_time:
        info(to, n == 0 ? fmt::format("no lines in {} since then", room) : fmt::format("{} line{} in {}:", n, s, room));
        break;
      case Kind::search:
        info(to, n == 0 ? fmt::format("nothing in {} has '{}'", room, asked.text)
                        : fmt::format("{} line{} in {} with '{}', newest first:", n, s, room, asked.text));
        break;
    }
    // Numbered, so that `/history since ID` can go on from any of them.
    for (const auto& l : page.lines) numbered(to, l);
    if (!page.more || n == 0) return;
    if (asked.kind == Kind::before) {
      info(to, "/history shows earlier ones");
    } else if (asked.kind == Kind::search) {
      info(to, "more lines match: add words to narrow the search");
    } else {
      info(to, fmt::format("more follow: /history since {}", page.lines.back()->id));
    }
  }
  void resumed(net::MessageLink& to, std::string_view room, std::uint64_t since, const std::vector<SharedLine>& lines,
               std::uint64_t skipped) const override {
    // `enchufe connect --reconnect` waits for this first line: keep its start.
    const std::size_t n = lines.size();
    info(to, n == 0 ? fmt::format("back in {}: nothing new since #{}", room, since)
                    : fmt::format("back in {}: {} line{} you missed since #{}", room, n, n == 1 ? "" : "s", since));
    if (skipped > 0) {
      info(to, fmt::format("{} earlier line{} missed too (notices included): /history since {} shows them", skipped,
                           skipped == 1 ? "" : "s", since));
    }
    for (const auto& l : lines) numbered(to, l);
  }
  void rooms(net::MessageLink& to, const RoomList& rooms) const override {
    info(to, fmt::format("{} room{}:", rooms.size(), rooms.size() == 1 ? "" : "s"));
    for (const auto& [name, members] : rooms) info(to, fmt::format("  {} ({})", name, members));
  }
  void who(net::MessageLink& to, std::string_view room, const std::vector<std::string>& members) const override {
    info(to, fmt::format("{} in {}: {}", members.size(), room, fmt::join(members, ", ")));
  }
  void info(net::MessageLink& to, std::string_view text) const override { to.send({"* ", text, "\n"}); }
  void error(net::MessageLink& to, std::string_view text) const override { to.send({"error: ", text, "\n"}); }
  const ChatOutput& with_ids(bool on) const override;

 private:
  static void numbered(net::MessageLink& to, const SharedLine& line) {
    to.send({"#", std::to_string(line->id), " ", line->as_text});
  }

  bool ids_;
};

const TextOutput kPlain{false};
const TextOutput kNumbered{true};

const ChatOutput& TextOutput::with_ids(bool on) const { return on ? kNumbered : kPlain; }

}  // namespace

const ChatOutput& text_output() { return kPlain; }

}  // namespace enchufe::services::chat
