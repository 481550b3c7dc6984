// The accounts' and moderators' commands: parse_moderation() of
// commands.hpp. Pure like the rest of the parser: who may run them is the
// hub's business (moderation/rules.hpp), what they look like is here.

#include "net/text.hpp"
#include "services/chat/command_words.hpp"
#include "services/chat/commands.hpp"

#include <charconv>

namespace enchufe::services::chat {

namespace {

Command invalid(std::string_view error) { return {CommandKind::invalid, {}, {}, error}; }

bool password_fits(std::string_view password) {
  return password.size() >= kMinPassword && password.size() <= kMaxPassword;
}

constexpr std::string_view kPasswordRule = "a password is 8 to 128 characters";

Command login(std::string_view args) {
  std::string_view password;
  const std::string_view nick = first_word(args, password);
  return login_command(nick, password);
}

// Digits and one unit letter ("10m"), whatever the number.
bool looks_like_a_duration(std::string_view word) {
  if (word.size() < 2 || word.find_first_not_of("0123456789") != word.size() - 1) return false;
  return std::string_view("smhdw").find(word.back()) != std::string_view::npos;
}

// "NICK [DURATION] [REASON]": the duration is there if the second word
// reads as one ("10m", "2h", "7d").
Command timed(CommandKind kind, std::string_view args, std::string_view usage, bool takes_reason) {
  std::string_view rest;
  const std::string_view target = first_word(args, rest);
  if (target.empty()) return invalid(usage);
  Command command{kind, target};
  std::string_view after;
  const std::string_view second = first_word(rest, after);
  if (!second.empty()) {
    if (const auto seconds = age_in_seconds(second)) {
      command.number = *seconds;
      rest = after;
    } else if (looks_like_a_duration(second) || (!takes_reason && second.front() >= '0' && second.front() <= '9')) {
      // "0m" or "400d" is a duration out of range, not the reason's first
      // word: a ban meant to be short must not become one for ever.
      return invalid("a duration is a number and a unit, up to a year: 30s, 10m, 2h, 7d, 2w");
    }
  }
  if (!takes_reason && !rest.empty()) return invalid(usage);
  if (rest.size() > kMaxReason) return invalid("the reason is too long (at most 200 characters)");
  command.text = rest;
  return command;
}

std::optional<double> rate_in(std::string_view text) {
  if (text.ends_with("/s")) text.remove_suffix(2);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || !(value > 0) || value > 1e6) return std::nullopt;
  return value;
}

Command ratelimit(std::string_view args) {
  constexpr std::string_view kUsage = "usage: /ratelimit LINES/S BURST (for example /ratelimit 2/s 5)";
  std::string_view rest, tail;
  const std::string_view rate_text = first_word(args, rest);
  const std::string_view burst_text = first_word(rest, tail);
  const auto rate = rate_in(rate_text);
  const auto burst = number_in(burst_text, 1'000'000);
  if (!rate || !burst || *burst == 0 || !tail.empty()) return invalid(kUsage);
  Command command{CommandKind::ratelimit};
  command.rate = *rate;
  command.number = *burst;
  return command;
}

Command one_target(CommandKind kind, std::string_view args, std::string_view usage) {
  std::string_view rest;
  const std::string_view target = first_word(args, rest);
  if (target.empty() || !rest.empty()) return invalid(usage);
  return {kind, target};
}

}  // namespace

Command register_command(std::string_view password) {
  if (password.empty()) return invalid("usage: /register PASSWORD (claims your current nickname)");
  if (!password_fits(password)) return invalid(kPasswordRule);
  return {CommandKind::register_account, {}, password};
}

Command login_command(std::string_view nick, std::string_view password) {
  if (nick.empty() || password.empty()) return invalid("usage: /login NICK PASSWORD");
  if (!password_fits(password)) return invalid(kPasswordRule);
  return {CommandKind::login, nick, password};
}

bool carries_password(std::string_view bytes) {
  if (bytes.find("\"password\"") != std::string_view::npos) return true;
  while (!bytes.empty()) {
    const auto end = bytes.find('\n');
    std::string_view rest;
    const std::string_view name = first_word(bytes.substr(0, end), rest);
    if (name.starts_with('/')) {
      const std::string_view command = name.substr(1);
      if (net::is_word(command, "login") || net::is_word(command, "register")) return true;
      if (net::is_word(command, "nick") && rest.find_first_of(" \t") != std::string_view::npos) return true;
    }
    if (end == std::string_view::npos) break;
    bytes.remove_prefix(end + 1);
  }
  return false;
}

std::optional<Command> parse_moderation(std::string_view name, std::string_view args) {
  if (net::is_word(name, "register")) return register_command(args);
  if (net::is_word(name, "login")) return login(args);
  if (net::is_word(name, "op")) return one_target(CommandKind::op, args, "usage: /op NICK");
  if (net::is_word(name, "deop")) return one_target(CommandKind::deop, args, "usage: /deop NICK");
  if (net::is_word(name, "unban")) return one_target(CommandKind::unban, args, "usage: /unban NICK|ADDRESS[/PREFIX]");
  if (net::is_word(name, "unmute")) return one_target(CommandKind::unmute, args, "usage: /unmute NICK");
  if (net::is_word(name, "kick")) {
    std::string_view reason;
    const std::string_view target = first_word(args, reason);
    if (target.empty()) return invalid("usage: /kick NICK [REASON]");
    if (reason.size() > kMaxReason) return invalid("the reason is too long (at most 200 characters)");
    return Command{CommandKind::kick, target, reason};
  }
  if (net::is_word(name, "ban")) {
    return timed(CommandKind::ban, args, "usage: /ban NICK|ADDRESS[/PREFIX] [DURATION] [REASON]", true);
  }
  if (net::is_word(name, "mute")) return timed(CommandKind::mute, args, "usage: /mute NICK [DURATION]", false);
  if (net::is_word(name, "bans")) {
    return args.empty() ? Command{CommandKind::bans} : invalid("usage: /bans (no arguments)");
  }
  if (net::is_word(name, "topic")) {
    if (args.size() > kMaxTopic) return invalid("the topic is too long (at most 300 characters)");
    return Command{CommandKind::topic, {}, args};
  }
  if (net::is_word(name, "ratelimit")) return ratelimit(args);
  if (net::is_word(name, "wall")) {
    if (args.empty() || args.size() > kMaxReason) return invalid("usage: /wall TEXT (up to 200 characters)");
    return Command{CommandKind::wall, {}, args};
  }
  return std::nullopt;
}

}  // namespace enchufe::services::chat
