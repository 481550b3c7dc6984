#pragma once
// Passwords, hashed with Argon2id through libsodium (crypto_pwhash_str):
// the stored string carries its salt and cost, so a cost raised later still
// verifies old hashes. Never logged, never stored in clear. Both calls are
// slow on purpose: run them on the moderation worker, never on a loop.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enchufe::services::chat::moderation {

// libsodium's "interactive" cost (2 passes over 64 MiB): about 50-100 ms
// here, which makes each guess expensive; login_throttle.hpp bounds guesses.
// Nothing, if the machine cannot spare the memory.
std::optional<std::string> hash_password(std::string_view password);
bool password_matches(const std::string& hash, std::string_view password);

// Hashes computed (hash or verify), for the metric: brute force shows here
// only as far as the throttle lets it.
std::uint64_t hashes_computed();

}  // namespace enchufe::services::chat::moderation
