#pragma once
// The chat's moderation settings (serve chat's flags).

#include <set>
#include <string>

namespace enchufe::services::chat::moderation {

// --registration: who creates accounts.
enum class Registration {
  open,    // anyone, with /register
  closed,  // an admin, offline: `enchufe chat-admin add-account`
};

struct Settings {
  // --admin: registered nicknames (folded) with the server's powers, once
  // their owner has logged in.
  std::set<std::string> admins;
  Registration registration = Registration::open;
  // --require-tls-for-login: no password over a connection in clear.
  bool require_tls_for_login = false;
};

}  // namespace enchufe::services::chat::moderation
