#include "services/chat/commands.hpp"

#include "net/text.hpp"
#include "services/chat/command_words.hpp"

#include <optional>

namespace enchufe::services::chat {

namespace {

Command invalid(std::string_view error) { return {CommandKind::invalid, {}, {}, error}; }

// A line id as shown ("#41") or bare ("41").
std::optional<std::uint64_t> line_id(std::string_view text) {
  return number_in(text.starts_with('#') ? text.substr(1) : text, UINT64_MAX / 2);
}

constexpr std::string_view kHistoryUsage =
    "usage: /history [N | 1h | since ID]: N earlier lines (up to 200), the last 90s/30m/1h/7d/2w, or the lines after "
    "line ID";

Command history(std::string_view target, std::string_view after_target) {
  if (target.empty()) return {CommandKind::history_back};
  if (net::is_word(target, "since")) {
    std::string_view rest;
    const std::string_view id = first_word(after_target, rest);
    const auto number = line_id(id);
    if (!number || !rest.empty()) return invalid(kHistoryUsage);
    return {CommandKind::history_since, {}, {}, {}, *number};
  }
  if (!after_target.empty()) return invalid(kHistoryUsage);
  if (const auto count = number_in(target, kMaxHistoryPage); count && *count > 0) {
    return {CommandKind::history_back, {}, {}, {}, *count};
  }
  if (const auto seconds = age_in_seconds(target)) return {CommandKind::history_age, {}, {}, {}, *seconds};
  return invalid(kHistoryUsage);
}

}  // namespace

Command parse_command(std::string_view line, std::string_view quit_word) {
  if (net::is_word(line, quit_word)) return {CommandKind::quit};
  if (line.empty() || line.front() != '/') return {CommandKind::say, {}, line};
  if (line.size() > 1 && line[1] == '/') return {CommandKind::say, {}, line.substr(1)};

  constexpr std::string_view kUnknown =
      "unknown command; /help lists them (start a line with // to say something beginning with /)";
  const std::string_view after_slash = line.substr(1);
  if (after_slash.empty() || after_slash.front() == ' ' || after_slash.front() == '\t') return invalid(kUnknown);
  std::string_view args;
  const std::string_view name = first_word(after_slash, args);
  std::string_view after_target;
  const std::string_view target = first_word(args, after_target);
  const bool one_word = !target.empty() && after_target.empty();

  if (net::is_word(name, "nick")) {
    // "/nick ana PASSWORD" logs in, like IRC servers that take a password there.
    if (!one_word && !target.empty()) return parse_moderation("login", args).value();
    return one_word ? Command{CommandKind::nick, target} : invalid("usage: /nick NAME [PASSWORD]");
  }
  if (net::is_word(name, "join")) {
    return one_word ? Command{CommandKind::join, target} : invalid("usage: /join ROOM");
  }
  if (net::is_word(name, "msg")) {
    if (target.empty() || after_target.empty()) return invalid("usage: /msg NICK TEXT");
    return {CommandKind::msg, target, after_target};
  }
  if (net::is_word(name, "me")) {
    return args.empty() ? invalid("usage: /me ACTION") : Command{CommandKind::me, {}, args};
  }
  if (net::is_word(name, "quit")) return {CommandKind::quit, {}, args};
  if (net::is_word(name, "history")) return history(target, after_target);
  if (net::is_word(name, "search")) {
    if (args.empty() || args.size() > kMaxSearchText) return invalid("usage: /search WORDS (up to 200 characters)");
    return {CommandKind::search, {}, args};
  }
  if (net::is_word(name, "ids")) {
    if (one_word && (net::is_word(target, "on") || net::is_word(target, "off"))) {
      return {CommandKind::ids, {}, {}, {}, net::is_word(target, "on") ? 1u : 0u};
    }
    return invalid("usage: /ids on|off");
  }
  if (net::is_word(name, "resume")) {
    const auto id = one_word ? line_id(target) : std::nullopt;
    return id ? Command{CommandKind::resume, {}, {}, {}, *id} : invalid("usage: /resume ID (the last line id you saw)");
  }
  const struct {
    std::string_view name;
    CommandKind kind;
    std::string_view usage;
  } no_arguments[] = {{"leave", CommandKind::leave, "usage: /leave (no arguments)"},
                      {"rooms", CommandKind::rooms, "usage: /rooms (no arguments)"},
                      {"who", CommandKind::who, "usage: /who (no arguments)"},
                      {"help", CommandKind::help, "usage: /help (no arguments)"}};
  for (const auto& c : no_arguments) {
    if (net::is_word(name, c.name)) return args.empty() ? Command{c.kind} : invalid(c.usage);
  }
  if (auto command = parse_moderation(name, args)) return *command;
  return invalid(kUnknown);
}

}  // namespace enchufe::services::chat
