#pragma once
// How `enchufe connect --reconnect` takes an enchufe chat session back after
// the connection drops: as the server's lines pass, it notes the nickname
// taken, the room entered and the id of the newest room line seen (the chat
// numbers lines for it after /ids on); once connected again it asks for
// the same nickname and room and for the lines after that id (/resume), and
// hides what the new session repeats (welcome, join replay) until the
// server's answer to /resume, so each line is shown once.
//
// Pure: no I/O, so it is tested line by line (tests/unit/client).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::client {

class ChatResume {
 public:
  // Sent first on every connection: room lines then start with "#ID ".
  static constexpr std::string_view kNumberLines = "/ids on";

  // A line from the server, without its line ending: true to show it.
  bool on_line(std::string_view line);

  // After a reconnect: what to send, in order; lines are hidden from now
  // until the answer to the last one.
  std::vector<std::string> resume_lines();

  // The user ended the session (/quit answered "bye!"): do not come back.
  bool said_goodbye() const { return goodbye_; }

  const std::string& nick() const { return nick_; }
  const std::string& room() const { return room_; }
  std::uint64_t last_id() const { return last_id_; }

 private:
  std::string nick_;  // empty: the guest name the server gave
  std::string room_;  // empty: the room everyone starts in
  std::uint64_t last_id_ = 0;
  bool resuming_ = false;
  bool goodbye_ = false;
};

}  // namespace enchufe::client
