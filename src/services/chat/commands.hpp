#pragma once
// Parsing one chat line into what the user asked for. Pure: no state, no
// I/O, so it is easy to test and to fuzz.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace enchufe::services::chat {

enum class CommandKind {
  say,      // plain text for the room
  nick,     // /nick NAME
  join,     // /join ROOM
  leave,    // /leave
  rooms,    // /rooms
  who,      // /who
  msg,      // /msg NICK TEXT
  me,       // /me ACTION
  history_back,   // /history [N]: `number` lines before those seen (0: a page)
  history_age,    // /history 1h: the lines of the last `number` seconds
  history_since,  // /history since ID: the lines after line `number`
  search,         // /search WORDS
  ids,            // /ids on|off: `number` 1 or 0
  resume,         // /resume ID: the lines after line `number` missed while away
  help,     // /help
  // Accounts (moderation/): the password is in `text`.
  register_account,  // /register PASSWORD
  login,             // /login NICK PASSWORD, or /nick NICK PASSWORD
  // Moderation: for the room's operators and the server's admins.
  op,        // /op NICK
  deop,      // /deop NICK
  kick,      // /kick NICK [REASON]
  ban,       // /ban NICK|ADDRESS[/PREFIX] [DURATION] [REASON]: `number` seconds, 0 for ever
  unban,     // /unban NICK|ADDRESS[/PREFIX]
  bans,      // /bans
  mute,      // /mute NICK [DURATION]: `number` seconds, 0 until /unmute
  unmute,    // /unmute NICK
  topic,     // /topic [TEXT]: none shows it
  ratelimit, // /ratelimit LINES/S BURST: `rate` and `number`
  wall,      // /wall TEXT: to every room (admins)
  quit,     // /quit [REASON], or the quit word ("salir")
  invalid,  // unknown command or bad arguments: `error` says which
};

struct Command {
  CommandKind kind = CommandKind::say;
  std::string_view target;  // NAME, ROOM or NICK
  std::string_view text;    // the message, action or quit reason
  std::string_view error;   // for invalid: a sentence for the user
  std::uint64_t number = 0;  // history_*, resume: a count, seconds or a line id; ids: 1 on, 0 off
  double rate = 0;           // ratelimit: lines per second
};

// Bounds on what /history and /search ask of the store: a page is read in
// one query, so a user cannot make the server read the whole room at once.
inline constexpr std::uint64_t kMaxHistoryPage = 200;
inline constexpr std::size_t kMaxSearchText = 200;
// Passwords: long enough to resist guessing by the few tries a minute the
// server allows (moderation/login_throttle.hpp), short enough that hashing
// one is not a way to make the server work.
inline constexpr std::size_t kMinPassword = 8;
inline constexpr std::size_t kMaxPassword = 128;
// A kick's or ban's reason, a topic and a /wall line are shown to a whole
// room (or all of them): a screenful at most.
inline constexpr std::size_t kMaxReason = 200;
inline constexpr std::size_t kMaxTopic = 300;
// Timed bans and mutes: up to a year; longer is what "for ever" is for.
inline constexpr std::uint64_t kMaxModerationSeconds = 366ull * 24 * 3600;

// "//text" says "/text" (the escape for a line that starts with a slash).
Command parse_command(std::string_view line, std::string_view quit_word);

// /login and /register as the web page sends them (events with their own
// fields, so that a password is never a line the page keeps): checked like
// the typed ones.
Command login_command(std::string_view nick, std::string_view password);
Command register_command(std::string_view password);

// True if `bytes` (lines as received, or a web frame) may carry a
// password: a /login, /register or "/nick NICK PASSWORD" line, or a frame
// with a "password" field. Such input is never logged nor traced in clear
// (ConnectionOptions::secret).
bool carries_password(std::string_view bytes);

// The accounts' and moderators' commands (`name` without its slash,
// `args` what follows it); nothing if `name` is none of them.
std::optional<Command> parse_moderation(std::string_view name, std::string_view args);

}  // namespace enchufe::services::chat
