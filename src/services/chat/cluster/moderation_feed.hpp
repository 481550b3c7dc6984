#pragma once
// The moderation state as JSON, in Redis (serve chat --cluster): the
// changes every node publishes on kModerationChannel, and the accounts,
// bans and audit lines kept in its hashes and list (redis_moderation.hpp).
// Times are milliseconds since the epoch; a ban for ever has no "until".
// Decoding never throws: what is not ours (another program, a newer
// version's form) is nothing, not a guess.

#include "services/chat/moderation/change.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace enchufe::services::chat::cluster {

// The channel every node publishes its moderation changes on, and listens
// to (on the first --cluster server).
inline constexpr std::string_view kModerationChannel = "enchufe:moderation";

std::string encode(const moderation::Change& change);
// Nothing if malformed, or of a kind this build does not know.
std::optional<moderation::Change> decode_change(std::string_view payload);

// The values of the hashes and list, in the same form as in a change.
std::string encode(const moderation::Account& account);
std::optional<moderation::Account> decode_account(std::string_view json);
std::string encode(const moderation::Ban& ban);
std::optional<moderation::Ban> decode_ban(std::string_view json);
std::string encode(const moderation::AuditEntry& entry);
std::optional<moderation::AuditEntry> decode_audit(std::string_view json);

}  // namespace enchufe::services::chat::cluster
