#include "services/chat/moderation/passwords.hpp"

#include <sodium.h>

#include <stdexcept>

namespace enchufe::services::chat::moderation {

namespace {

std::atomic<std::uint64_t> computed{0};

void ensure_sodium() {
  // Thread-safe and idempotent; fails only without a source of randomness.
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium could not start (no source of randomness)");
}

}  // namespace

std::optional<std::string> hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  computed.fetch_add(1, std::memory_order_relaxed);
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return std::nullopt;
  }
  return std::string(out);
}

bool password_matches(const std::string& hash, std::string_view password) {
  ensure_sodium();
  computed.fetch_add(1, std::memory_order_relaxed);
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::uint64_t hashes_computed() { return computed.load(std::memory_order_relaxed); }

}  // namespace enchufe::services::chat::moderation
