#pragma once
// One chat client: its nickname, room and flood allowance, and what each
// command does. It sees messages, not sockets: the same session serves a
// terminal over TCP and a page over WebSocket (doors.hpp), and `output`
// renders what it says for the kind of client it has.

#include "net/message_link.hpp"
#include "net/token_bucket.hpp"
#include "services/chat/commands.hpp"
#include "services/chat/hub.hpp"
#include "services/chat/output.hpp"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace enchufe::services::chat {

class ChatSession final : public net::MessageProtocol {
 public:
  ChatSession(std::shared_ptr<ChatHub> hub, const ChatOutput& output);

  void on_open(net::MessageLink& link) override;
  void on_message(net::MessageLink& link, std::string_view text) override;
  void on_closing(net::MessageLink& link, net::CloseReason reason) override;
  void on_close(net::MessageLink& link, net::CloseReason reason) override;
  // A command that came as an event, not as a line (the page's login):
  // counted by flood control like a line.
  void on_command(const Command& command);

  // For the hub, on this session's loop.
  std::uint64_t id() const { return id_; }
  const std::string& nick() const { return nick_; }
  // The registered nickname (folded) this client logged in as; empty if none.
  const std::string& account() const { return account_; }
  const asio::ip::address& address() const { return address_; }
  bool encrypted() const { return encrypted_; }
  bool in_room() const { return in_room_; }
  RoomId room() const { return room_; }
  const std::string& current_room() const { return room_name_; }  // its name
  std::uint64_t join_seq() const { return join_seq_; }
  void deliver(const SharedLine& line) {
    if (resuming_ && held_.size() < kMaxHeldWhileResuming) {
      held_.push_back(line);
      return;
    }
    if (line->id > last_seen_) last_seen_ = line->id;
    if (link_ != nullptr) output_->line(*link_, line);
  }
  void joined(std::string_view room_name, const std::vector<SharedLine>& history);
  void history_page(const HistoryQuery& asked, const HistoryPage& page);
  void resumed(std::uint64_t since, const std::vector<SharedLine>& missed, std::uint64_t skipped);
  // The answer to a rename asked of the hub: nothing, or why not.
  void nick_answered(std::string to, const std::optional<std::string>& problem, bool first_line);
  // The server gave this session another nickname (`why` says why).
  void renamed_by_server(std::string to, std::string_view why);
  // The answer to a /msg: the recipient's nickname as spelled, or nothing
  // (no such member); `text` is what was sent, for the echo.
  void private_answered(std::string_view to, const std::optional<std::string>& recipient, std::string_view text);
  // /who and /rooms; `note` (if any) says what the list leaves out.
  void listed_who(const std::vector<std::string>& members, std::string_view note);
  void listed_rooms(const std::vector<std::pair<std::string, std::size_t>>& rooms, std::string_view note);

  // Logged in (or registered) as `nick_key`.
  void logged_in(std::string nick_key) { account_ = std::move(nick_key); }
  // A moderator sent it out of `room` (kicked, banned): `why` is shown,
  // then it goes back to general, or off the server (`disconnect`, or it
  // was in general).
  void removed_from(RoomId room, std::string_view why, bool disconnect);
  // Muted in `room` until `until` (nothing: unmuted).
  void muted(RoomId room, std::optional<std::chrono::system_clock::time_point> until);
  // The flood limits of `room` changed (/ratelimit).
  void room_limits_changed(RoomId room, double rate, double burst);
  // One line of server text to this client only.
  void info(std::string_view text);

  // "error: ..." to this client only.
  void error(std::string_view text);
  // Input that is not a line (a malformed web frame): refused with `why`,
  // and counted by flood control like a line.
  void refuse(std::string_view why);

 private:
  void run(const Command& command);
  void say(LineKind kind, std::string_view text);
  void take_first_line_as_nick(std::string_view text);
  void change_nick(std::string_view to);
  void ask_nick(std::string_view to, bool first_line);
  void renamed(std::string old);
  void switch_room(std::string_view room);
  void send_private(std::string_view to, std::string_view text);
  void ask_history(HistoryQuery query);
  void number_lines(bool on);
  void help();
  // The moderation state of the room just joined: its topic, this member's
  // mute, its flood limits.
  void apply_room_rules();
  // A notice about `subject` (renamed: to `to`) for the rest of the room.
  void notice_room(NoticeWhat what, std::string_view subject, std::string_view to, std::string text);
  void depart(net::CloseReason reason);
  bool within_flood_limit();

  std::shared_ptr<ChatHub> hub_;
  const ChatOutput* output_;  // changes with /ids
  net::MessageLink* link_ = nullptr;
  std::uint64_t id_ = 0;
  std::string nick_;
  std::string account_;
  asio::ip::address address_;
  bool encrypted_ = false;
  // Muted in the current room until then (time_point{}: not muted); a copy
  // of moderation's, so that saying a line costs no lock.
  std::chrono::system_clock::time_point muted_until_{};
  RoomId room_ = 0;
  std::string room_name_;
  std::uint64_t join_seq_ = 0;
  bool in_room_ = false;
  // The oldest line of this room shown so far (join replay or /history): a
  // bare /history pages back from it. 0: from the newest.
  std::uint64_t oldest_seen_ = 0;
  // The newest line of this room delivered to this client (its own lines
  // are not): /ids tells it, and a /resume after a reconnect starts there.
  std::uint64_t last_seen_ = 0;
  // Between /resume and its answer, live lines wait here, so that one the
  // answer also has is not shown twice. The answer is one hop from the
  // room's home away: past this bound (a stuck loop), they go out as they come.
  static constexpr std::size_t kMaxHeldWhileResuming = 10'000;
  bool resuming_ = false;
  std::vector<SharedLine> held_;
  bool departed_ = false;  // left its room and the directory (closing)
  bool awaiting_nick_ = true;  // the first plain line may be a nickname
  bool renaming_ = false;      // a rename asked of the hub, not answered yet
  // Lines typed while a rename waits for the other servers (at most Redis's
  // reply timeout, 2 s): run once it is answered. Flood control has let
  // through at most its burst meanwhile; this bound holds if it is raised.
  static constexpr std::size_t kMaxHeldInput = 64;
  std::deque<std::string> held_input_;
  std::string quit_reason_;
  bool removed_ = false;  // sent off by a moderator (it was told why)
  net::TokenBucket flood_;
  int flood_strikes_ = 0;
};

}  // namespace enchufe::services::chat
