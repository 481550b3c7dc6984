#pragma once
// What the chat tells one client, said once and rendered per kind of client:
// lines of text for terminals (nc, telnet, enchufe connect), JSON events for
// the web page and bots (docs/web.md). Every event has both forms, so a web
// user and a terminal user in one room learn the same things.

#include "net/message_link.hpp"
#include "services/chat/history_store.hpp"
#include "services/chat/lines.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enchufe::services::chat {

using RoomList = std::vector<std::pair<std::string, std::size_t>>;  // name, members

// Stateless: one instance per kind of client serves all of them.
class ChatOutput {
 public:
  virtual ~ChatOutput() = default;
  virtual void welcome(net::MessageLink& to, std::string_view server, std::string_view nick) const = 0;
  virtual void nick_is(net::MessageLink& to, std::string_view nick) const = 0;
  // Entered a room; its history follows (possibly empty), then live lines.
  virtual void entered(net::MessageLink& to, std::string_view room) const = 0;
  virtual void history(net::MessageLink& to, std::string_view room, const std::vector<SharedLine>& lines) const = 0;
  virtual void line(net::MessageLink& to, const SharedLine& line) const = 0;
  // What /history or /search (`asked`) found in `room`.
  virtual void history_page(net::MessageLink& to, std::string_view room, const HistoryQuery& asked,
                            const HistoryPage& page) const = 0;
  // After /resume ID: the lines of `room` after line `since` that the
  // client missed, and how many before those it missed too (beyond what is
  // kept for resuming).
  virtual void resumed(net::MessageLink& to, std::string_view room, std::uint64_t since,
                       const std::vector<SharedLine>& lines, std::uint64_t skipped) const = 0;
  virtual void rooms(net::MessageLink& to, const RoomList& rooms) const = 0;
  virtual void who(net::MessageLink& to, std::string_view room, const std::vector<std::string>& members) const = 0;
  // Server text for this client only (help, goodbyes).
  virtual void info(net::MessageLink& to, std::string_view text) const = 0;
  virtual void error(net::MessageLink& to, std::string_view text) const = 0;

  // This kind of client with room lines numbered (/ids on) or not. Web
  // events always carry the id; terminal lines then start with "#ID ".
  virtual const ChatOutput& with_ids(bool on) const = 0;
};

const ChatOutput& text_output();
const ChatOutput& json_output();

}  // namespace enchufe::services::chat
