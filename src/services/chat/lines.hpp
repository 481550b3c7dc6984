#pragma once
// The lines a chat client sees, encoded once per message and shared by all
// recipients. User text is sanitised here, at the single point where it
// enters a line; nicknames and room names are validated when chosen.

#include "net/outbox.hpp"

#include <string_view>

namespace enchufe::services::chat {

struct Stamp {
  bool local_time = false;  // UTC otherwise
};

// "[12:04:05] <ana> hola\n"
net::SharedText message_line(Stamp stamp, std::string_view nick, std::string_view text);
// "[12:04:05] * ana waves\n"
net::SharedText action_line(Stamp stamp, std::string_view nick, std::string_view text);
// "[12:04:05] *ana* psst\n"  (to the recipient of /msg)
net::SharedText private_line(Stamp stamp, std::string_view from, std::string_view text);
// "[12:04:05] -> *bob* psst\n"  (back to its sender)
net::SharedText private_echo_line(Stamp stamp, std::string_view to, std::string_view text);
// "[12:04:05] * ana joined general\n"; `text` is built by the server from
// validated names and already-sanitised text, so it is taken as it is.
net::SharedText notice_line(Stamp stamp, std::string_view text);

}  // namespace enchufe::services::chat
