#include "services/chat/session.hpp"

#include "net/text.hpp"
#include "services/chat/lines.hpp"
#include "services/chat/names.hpp"
#include "services/chat/sanitize.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace enchufe::services::chat {

namespace {

constexpr std::string_view kLobby = "general";
constexpr std::size_t kMaxQuitReason = 200;
// A bare /history's page, and how many lines /search shows at most.
constexpr std::uint64_t kHistoryPage = 20;
constexpr std::size_t kSearchResults = 20;

std::string_view why_left(net::CloseReason reason) {
  switch (reason) {
    case net::CloseReason::quit: return "quit";
    case net::CloseReason::idle_timeout: return "timeout";
    case net::CloseReason::too_slow: return "too slow";
    case net::CloseReason::flooding: return "flooding";
    case net::CloseReason::server_shutdown: return "server shutting down";
    case net::CloseReason::bad_input: return "sent what the chat does not take";
    default: return "disconnected";
  }
}

}  // namespace

ChatSession::ChatSession(std::shared_ptr<ChatHub> hub, const ChatOutput& output)
    : hub_(std::move(hub)), output_(&output), flood_(hub_->options().flood_rate, hub_->options().flood_burst) {}

// ---- connection events --------------------------------------------------------

void ChatSession::on_open(net::MessageLink& link) {
  link_ = &link;
  id_ = link.id();
  address_ = link.remote_address();
  encrypted_ = link.encrypted();
  nick_ = hub_->add_guest(*this);
  output_->welcome(link, hub_->options().server_name, nick_);
  switch_room(kLobby);
}

void ChatSession::on_message(net::MessageLink&, std::string_view text) {
  if (!within_flood_limit()) return;
  if (renaming_) {
    // Typed after a nickname the other servers are being asked about: it
    // runs once they answer, under the name it was meant for.
    if (held_input_.size() < kMaxHeldInput) {
      held_input_.emplace_back(text);
    } else {
      error("wait a moment: your nickname is still being checked with the other servers");
    }
    return;
  }
  run(parse_command(text, hub_->options().quit_word));
}

void ChatSession::on_command(const Command& command) {
  if (!within_flood_limit()) return;
  if (renaming_) {
    error("wait a moment: your nickname is still being checked with the other servers");
    return;
  }
  run(command);
}

void ChatSession::refuse(std::string_view why) {
  if (within_flood_limit()) error(why);
}

void ChatSession::on_closing(net::MessageLink&, net::CloseReason reason) {
  if (removed_) {
    // Told why already (removed_from).
  } else if (reason == net::CloseReason::quit) {
    info("bye!");
  } else if (reason == net::CloseReason::idle_timeout) {
    info("disconnected: nothing received for too long (idle timeout)");
  } else {
    info(fmt::format("disconnected: {}", why_left(reason)));
  }
  // The room hears of it, and the nickname is free, now: not after the
  // goodbye has drained.
  depart(reason);
}

void ChatSession::on_close(net::MessageLink&, net::CloseReason reason) {
  depart(reason);
  link_ = nullptr;
}

void ChatSession::depart(net::CloseReason reason) {
  if (departed_) return;
  departed_ = true;
  // A join still on its way must not add this session back to a room.
  ++join_seq_;
  if (in_room_) {
    // The room's member list first, so a /who after the notice is right.
    hub_->leave(*this, room_);
    in_room_ = false;
    if (reason == net::CloseReason::quit && !quit_reason_.empty()) {
      notice_room(NoticeWhat::left, nick_, {}, fmt::format("{} left (quit: {})", nick_, quit_reason_));
    } else {
      notice_room(NoticeWhat::left, nick_, {}, fmt::format("{} left ({})", nick_, why_left(reason)));
    }
  }
  hub_->remove(*this);
}

void ChatSession::joined(std::string_view room_name, const std::vector<SharedLine>& history) {
  oldest_seen_ = history.empty() ? 0 : history.front()->id;
  last_seen_ = history.empty() ? 0 : history.back()->id;
  if (link_ != nullptr) output_->history(*link_, room_name, history);
}

void ChatSession::history_page(const HistoryQuery& asked, const HistoryPage& page) {
  if (link_ == nullptr) return;
  if (!page.error.empty()) {
    error(page.error);
    return;
  }
  if (asked.kind == HistoryQuery::Kind::before && !page.lines.empty()) oldest_seen_ = page.lines.front()->id;
  output_->history_page(*link_, room_name_, asked, page);
}

void ChatSession::resumed(std::uint64_t since, const std::vector<SharedLine>& missed, std::uint64_t skipped) {
  resuming_ = false;
  const std::vector<SharedLine> held = std::exchange(held_, {});
  if (link_ == nullptr) return;
  // What this client said itself it never missed (its own lines are not
  // delivered to it, so its last id can be older than them).
  std::vector<SharedLine> others;
  others.reserve(missed.size());
  std::uint64_t answered_up_to = since;
  for (const auto& line : missed) {
    if (line->nick != nick_) others.push_back(line);
    answered_up_to = std::max(answered_up_to, line->id);
  }
  output_->resumed(*link_, room_name_, since, others, skipped);
  last_seen_ = std::max(last_seen_, answered_up_to);
  for (const auto& line : held) {
    if (line->id == 0 || line->id > answered_up_to) deliver(line);
  }
}

// ---- commands -------------------------------------------------------------------

bool ChatSession::within_flood_limit() {
  if (flood_.take()) {
    flood_strikes_ = 0;
    return true;
  }
  // The room's limits (/ratelimit), or the server's.
  if (++flood_strikes_ == 1) {
    error(fmt::format("slow down: at most {} lines per second (bursts of {}); lines are being dropped",
                      flood_.rate(), flood_.burst()));
  }
  if (flood_strikes_ >= kFloodStrikes) link_->close_after_flush(net::CloseReason::flooding);
  return false;
}

void ChatSession::run(const Command& command) {
  switch (command.kind) {
    case CommandKind::say:
      if (awaiting_nick_) {
        take_first_line_as_nick(command.text);
      } else {
        say(LineKind::message, command.text);
      }
      break;
    case CommandKind::nick:
      awaiting_nick_ = false;
      change_nick(command.target);
      break;
    case CommandKind::join: switch_room(command.target); break;
    case CommandKind::leave:
      if (fold(room_name_) == kLobby) {
        error("you are in general, the room everyone starts in; /quit leaves the server");
      } else {
        switch_room(kLobby);
      }
      break;
    case CommandKind::rooms: hub_->list_rooms(*this); break;
    case CommandKind::who: hub_->list_who(*this); break;
    case CommandKind::msg: send_private(command.target, command.text); break;
    case CommandKind::me: say(LineKind::action, command.text); break;
    case CommandKind::history_back:
      ask_history({HistoryQuery::Kind::before, {}, oldest_seen_, {}, {}, command.number ? command.number : kHistoryPage});
      break;
    case CommandKind::history_age:
      ask_history({HistoryQuery::Kind::since_time, {}, 0,
                   std::chrono::system_clock::now() - std::chrono::seconds(command.number), {}, kMaxHistoryPage});
      break;
    case CommandKind::history_since:
      ask_history({HistoryQuery::Kind::since_id, {}, command.number, {}, {}, kMaxHistoryPage});
      break;
    case CommandKind::search:
      ask_history({HistoryQuery::Kind::search, {}, 0, {}, sanitized(command.text), kSearchResults});
      break;
    case CommandKind::ids: number_lines(command.number != 0); break;
    case CommandKind::resume:
      resuming_ = true;
      hub_->resume(*this, room_, command.number);
      break;
    case CommandKind::help: help(); break;
    case CommandKind::register_account: hub_->register_account(*this, command.text); break;
    case CommandKind::login:
      awaiting_nick_ = false;
      hub_->login(*this, command.target, command.text);
      break;
    case CommandKind::op:
    case CommandKind::deop:
    case CommandKind::kick:
    case CommandKind::ban:
    case CommandKind::unban:
    case CommandKind::bans:
    case CommandKind::mute:
    case CommandKind::unmute:
    case CommandKind::topic:
    case CommandKind::ratelimit:
    case CommandKind::wall: hub_->moderate(*this, command); break;
    case CommandKind::quit:
      // Shown to the room in a notice, which is otherwise server text.
      quit_reason_ = sanitized(net::trim(command.text).substr(0, kMaxQuitReason));
      link_->close_after_flush(net::CloseReason::quit);
      break;
    case CommandKind::invalid: error(command.error); break;
  }
}

void ChatSession::say(LineKind kind, std::string_view text) {
  if (kind == LineKind::message && net::trim(text).empty()) return;  // a stray Enter is not a message
  if (muted_until_ != std::chrono::system_clock::time_point{}) {
    const auto now = std::chrono::system_clock::now();
    if (now < muted_until_) {
      if (muted_until_ == moderation::kForever) {
        error(fmt::format("you are muted in {}: an operator can /unmute you", room_name_));
      } else {
        const auto left = std::chrono::ceil<std::chrono::seconds>(muted_until_ - now);
        error(fmt::format("you are muted in {} for {} more seconds", room_name_, left.count()));
      }
      return;
    }
    muted_until_ = {};
  }
  hub_->broadcast(room_, said_line(kind, room_name_, nick_, text), id_, true);
}

void ChatSession::take_first_line_as_nick(std::string_view text) {
  const std::string_view candidate = net::trim(text);
  if (candidate.empty()) return;  // a stray Enter is not an answer
  awaiting_nick_ = false;
  if (!valid_nickname(candidate)) {
    say(LineKind::message, text);  // not a name: it was meant for the room
    return;
  }
  if (fold(candidate) == fold(nick_)) {  // its own guest name: taken, by itself
    nick_answered(std::string(candidate), fmt::format("nickname '{}' is taken", candidate), true);
    return;
  }
  ask_nick(candidate, true);
}

void ChatSession::change_nick(std::string_view to) {
  if (to == nick_) {
    error(fmt::format("you are {} already", nick_));
    return;
  }
  ask_nick(to, false);
}

// Never while another rename waits: input is held meanwhile (on_message).
void ChatSession::ask_nick(std::string_view to, bool first_line) {
  renaming_ = true;
  hub_->rename(*this, to, first_line);
}

void ChatSession::nick_answered(std::string to, const std::optional<std::string>& problem, bool first_line) {
  renaming_ = false;
  if (!problem) {
    // An account is a nickname: under another one, this client is a guest.
    if (fold(to) != account_) account_.clear();
    renamed(std::exchange(nick_, std::move(to)));
  } else if (first_line) {
    awaiting_nick_ = true;
    error(*problem + "; type another one, or /nick NAME");
  } else {
    error(*problem);
  }
  // What was typed meanwhile, in order, until another rename waits.
  while (!renaming_ && !held_input_.empty() && link_ != nullptr) {
    const std::string text = std::move(held_input_.front());
    held_input_.pop_front();
    run(parse_command(text, hub_->options().quit_word));
  }
}

void ChatSession::renamed_by_server(std::string to, std::string_view why) {
  info(why);
  if (fold(to) != account_) account_.clear();
  renamed(std::exchange(nick_, std::move(to)));
}

void ChatSession::listed_who(const std::vector<std::string>& members, std::string_view note) {
  output_->who(*link_, room_name_, members);
  if (!note.empty()) info(note);
}

void ChatSession::listed_rooms(const std::vector<std::pair<std::string, std::size_t>>& rooms, std::string_view note) {
  output_->rooms(*link_, rooms);
  if (!note.empty()) info(note);
}

void ChatSession::renamed(std::string old) {
  output_->nick_is(*link_, nick_);
  notice_room(NoticeWhat::renamed, old, nick_, fmt::format("{} is now known as {}", old, nick_));
}

void ChatSession::switch_room(std::string_view typed) {
  if (in_room_ && fold(room_name(typed)) == fold(room_name_)) {
    error(fmt::format("you are in {} already", room_name_));
    return;
  }
  ++join_seq_;
  auto result = hub_->join(*this, typed);
  if (auto* problem = std::get_if<std::string>(&result)) {
    --join_seq_;
    error(*problem);
    // Kept out of general (banned there) when it connects: nowhere to be.
    if (!in_room_) link_->close_after_flush(net::CloseReason::quit);
    return;
  }
  auto& joined = std::get<ChatHub::Joined>(result);
  if (in_room_) {
    hub_->leave(*this, room_);  // the member list first, so a /who after the notice is right
    notice_room(NoticeWhat::left, nick_, {}, fmt::format("{} left {} (joined {})", nick_, room_name_, joined.name));
  }
  // A /resume still on its way is for the room being left: its answer will
  // not come (join_seq), and what it held was said there.
  resuming_ = false;
  held_.clear();
  room_ = joined.id;
  room_name_ = joined.name;
  in_room_ = true;
  output_->entered(*link_, room_name_);
  apply_room_rules();
  hub_->subscribe(*this, joined);
  notice_room(NoticeWhat::joined, nick_, {}, fmt::format("{} joined {}", nick_, room_name_));
}

void ChatSession::apply_room_rules() {
  auto& rules = hub_->moderation();
  const std::string room_key = fold(room_name_);
  if (const std::string topic = rules.topic(room_key); !topic.empty()) info(fmt::format("topic: {}", topic));
  muted_until_ = rules.muted_until(room_key, fold(nick_)).value_or(std::chrono::system_clock::time_point{});
  const auto& o = hub_->options();
  auto limits = rules.limits(room_key).value_or(moderation::Moderation::Limits{o.flood_rate, o.flood_burst});
  // Whoever moderates the room must not be slowed out of it by its limits.
  if (hub_->operates(*this)) limits = {o.flood_rate, o.flood_burst};
  flood_.set_limits(limits.rate, limits.burst);
}

void ChatSession::removed_from(RoomId room, std::string_view why, bool disconnect) {
  if (link_ == nullptr || departed_ || (!disconnect && (!in_room_ || room_ != room))) return;
  info(why);
  if (!disconnect && fold(room_name_) != kLobby) {
    switch_room(kLobby);
    if (room_ != room) return;
  }
  // From general, or kept out of it too: off the server.
  removed_ = true;
  quit_reason_ = "removed by a moderator";
  link_->close_after_flush(net::CloseReason::quit);
}

void ChatSession::muted(RoomId room, std::optional<std::chrono::system_clock::time_point> until) {
  if (link_ == nullptr || !in_room_ || room_ != room) return;
  muted_until_ = until.value_or(std::chrono::system_clock::time_point{});
  if (!until) {
    info(fmt::format("you may speak in {} again", room_name_));
  } else if (*until == moderation::kForever) {
    info(fmt::format("you are muted in {} until an operator unmutes you", room_name_));
  } else {
    info(fmt::format("you are muted in {} for {} seconds", room_name_,
                     std::chrono::ceil<std::chrono::seconds>(*until - std::chrono::system_clock::now()).count()));
  }
}

void ChatSession::room_limits_changed(RoomId room, double rate, double burst) {
  if (in_room_ && room_ == room && !hub_->operates(*this)) flood_.set_limits(rate, burst);
}

void ChatSession::send_private(std::string_view to, std::string_view text) {
  if (fold(to) == fold(nick_)) {
    error("that is you");
    return;
  }
  hub_->send_private(*this, to, private_line(LineKind::private_message, nick_, to, text));
}

void ChatSession::private_answered(std::string_view to, const std::optional<std::string>& recipient,
                                   std::string_view text) {
  if (!recipient) {
    error(fmt::format("no one here is called '{}'", quoted_nick(to)));
    return;
  }
  auto echo = private_line(LineKind::private_echo, nick_, *recipient, text);
  encode(*echo, {hub_->options().local_time});
  deliver(std::move(echo));
}

void ChatSession::ask_history(HistoryQuery query) {
  if (!hub_->has_store()) {
    error(fmt::format("this server keeps no history beyond the last {} lines of each room (it runs with "
                      "--history-db none)",
                      hub_->options().history));
    return;
  }
  query.room_key = fold(room_name_);
  query.room = room_name_;
  hub_->ask_history(*this, std::move(query));
}

void ChatSession::number_lines(bool on) {
  output_ = &output_->with_ids(on);
  // `enchufe connect --reconnect` reads the id from this line: keep its form.
  info(on ? fmt::format("ids on: room lines start with #ID; you have seen {} up to #{}", room_name_, last_seen_)
          : "ids off");
}

void ChatSession::help() {
  static constexpr std::string_view kHelp[] = {
      "commands:",
      "  /nick NAME       change your nickname (1-24 letters, digits, _ - .)",
      "  /join ROOM       go to another room (created if new)",
      "  /leave           back to general",
      "  /rooms           rooms and how many are in each",
      "  /who             who is in this room",
      "  /msg NICK TEXT   a private message",
      "  /me ACTION       say what you do (* ana waves)",
      "  /history [N]     earlier lines of this room (again: earlier still)",
      "  /history 1h      the last hour (90s, 30m, 1h, 7d); /history since ID: after line #ID",
      "  /search WORDS    the newest lines of this room with all these words",
      "  /ids on|off      start each room line with its #ID (for clients that resume)",
      "  /resume ID       after a reconnect: the lines of this room after #ID you missed",
      "  /quit [REASON]   leave (so does 'salir')",
      "  /register PASSWORD      keep your nickname: nobody else can take it, even while you are away",
      "  /login NICK PASSWORD    take your registered nickname back (also /nick NICK PASSWORD)",
      "  /topic [TEXT]    show (or, operators, set) this room's topic",
      "anything else is said to the room; start a line with // to say something beginning with /",
  };
  static constexpr std::string_view kOperators[] = {
      "operators of this room (and admins):",
      "  /op NICK, /deop NICK          make or unmake an operator (registered nicknames)",
      "  /kick NICK [REASON]           send someone back to general (from general: off the server)",
      "  /ban NICK|ADDRESS[/PREFIX] [DURATION] [REASON], /unban, /bans   keep someone out (10m, 2h, 7d...)",
      "  /mute NICK [DURATION], /unmute NICK",
      "  /ratelimit LINES/S BURST      this room's flood limits (not for its operators)",
      "admins: their bans are for the whole server; /wall TEXT speaks to every room",
  };
  for (auto line : kHelp) info(line);
  if (hub_->operates(*this)) {
    for (auto line : kOperators) info(line);
  }
}

// ---- output -----------------------------------------------------------------

void ChatSession::info(std::string_view text) { output_->info(*link_, text); }

void ChatSession::error(std::string_view text) { output_->error(*link_, text); }

void ChatSession::notice_room(NoticeWhat what, std::string_view subject, std::string_view to, std::string text) {
  hub_->broadcast(room_, notice_line(room_name_, what, subject, to, std::move(text)), id_, false);
}

}  // namespace enchufe::services::chat
