#pragma once
// One change to the moderation state, as the nodes of a cluster tell each
// other (serve chat --cluster): the node that made it writes it to Redis
// and publishes it on kModerationChannel (cluster/redis_moderation.hpp);
// every other node applies it to its own copy (Moderation::apply) and
// enforces a ban on its own members at once.

#include "services/chat/moderation/store.hpp"

#include <string>

namespace enchufe::services::chat::moderation {

struct Change {
  enum class Kind { account, ban, unban, op, deop, topic };
  Kind kind = Kind::account;
  std::string node;  // the node that made it: it has applied it already
  Account account;   // account
  Ban ban;           // ban; unban: its room_key and target only
  Op op;             // op, deop
  Topic topic;       // topic
};

}  // namespace enchufe::services::chat::moderation
