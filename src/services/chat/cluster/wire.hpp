#pragma once
// A room line as it travels between nodes through Redis: the line itself
// (who, what, when) and where it comes from (which node, which of its
// sessions, the node's own sequence number, so the node knows its line
// when Redis sends it back). JSON, through Boost.JSON.
//
// The room's number for the line is not in here: Redis gives it as it
// publishes (see bus.cpp), and it travels in front: "<id> <json>".

#include "services/chat/lines.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace enchufe::services::chat::cluster {

struct WireLine {
  std::shared_ptr<ChatLine> line;  // id set from the published number; not encoded
  std::string node;
  std::uint64_t sender = 0;  // the session on `node` that said it (0: the server)
  std::uint64_t seq = 0;     // `node`'s count of lines it published
  bool keep = false;         // kept in history (messages), or not (notices)
};

std::string to_wire(const ChatLine& line, std::string_view node, std::uint64_t sender, std::uint64_t seq, bool keep);

// "<id> <json>" as published; nothing if it is not a line of ours (another
// program on the channel, or a node of a newer version that changed the
// form), so one bad message cannot stop the room.
std::optional<WireLine> from_wire(std::string_view published, std::string_view room);

// A private message (/msg) for a member of another node goes on that
// node's channel as "<session> <json>", the JSON being to_wire()'s; the
// session is the recipient's. Nothing if it is not such a message.
std::optional<std::pair<std::uint64_t, WireLine>> private_from_wire(std::string_view published);

}  // namespace enchufe::services::chat::cluster
