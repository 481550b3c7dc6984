#pragma once
// One chat client: its nickname, room and flood allowance, and what each
// command does. The protocol object of a chat connection.

#include "net/connection.hpp"
#include "net/token_bucket.hpp"
#include "services/chat/commands.hpp"
#include "services/chat/hub.hpp"

#include <memory>
#include <string>
#include <vector>

namespace enchufe::services::chat {

class ChatSession final : public net::Protocol {
 public:
  explicit ChatSession(std::shared_ptr<ChatHub> hub);

  void on_open(net::Connection& c) override;
  void on_message(net::Connection& c, std::string_view text, std::string_view terminator) override;
  void on_line_too_long(net::Connection& c) override;
  void on_closing(net::Connection& c, net::CloseReason reason) override;
  void on_close(net::Connection& c, net::CloseReason reason) override;

  // For the hub, on this session's loop.
  std::uint64_t id() const { return id_; }
  const std::string& nick() const { return nick_; }
  std::uint64_t join_seq() const { return join_seq_; }
  void deliver(const net::SharedText& line) {
    if (connection_ != nullptr) connection_->send(line);
  }
  void joined(std::string_view room_name, const std::vector<net::SharedText>& history);

 private:
  void run(const Command& command);
  void say(std::string_view text);
  void take_first_line_as_nick(std::string_view text);
  void change_nick(std::string_view to);
  void switch_room(std::string_view room);
  void list_rooms();
  void list_members();
  void send_private(std::string_view to, std::string_view text);
  void help();
  void reply(std::string_view line);   // "* line" to this client only
  void error(std::string_view line);   // "error: line" to this client only
  void notice_room(std::string_view text);
  void depart(net::CloseReason reason);
  bool within_flood_limit();

  std::shared_ptr<ChatHub> hub_;
  net::Connection* connection_ = nullptr;
  std::uint64_t id_ = 0;
  std::string nick_;
  RoomId room_ = 0;
  std::string room_name_;
  std::uint64_t join_seq_ = 0;
  bool in_room_ = false;
  bool departed_ = false;  // left its room and the directory (closing)
  bool awaiting_nick_ = true;  // the first plain line may be a nickname
  std::string quit_reason_;
  net::TokenBucket flood_;
  int flood_strikes_ = 0;
};

}  // namespace enchufe::services::chat
