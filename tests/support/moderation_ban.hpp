#pragma once
// A ban as the moderation stores' tests write and read it back: by address
// if `target` parses as one, else by nickname; by root, for spam.

#include "services/chat/moderation/store.hpp"

#include <string>
#include <utility>

namespace enchufe::test {

inline services::chat::moderation::Ban test_ban(std::string room_key, std::string target,
                                                services::chat::moderation::Clock::time_point until,
                                                services::chat::moderation::Clock::time_point at,
                                                std::string reason = "spam") {
  services::chat::moderation::Ban ban;
  ban.room_key = std::move(room_key);
  ban.target = std::move(target);
  ban.address = net::AddressPrefix::parse(ban.target);
  ban.until = until;
  ban.by = "root";
  ban.reason = std::move(reason);
  ban.at = at;
  return ban;
}

}  // namespace enchufe::test
