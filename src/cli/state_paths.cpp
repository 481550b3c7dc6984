#include "cli/state_paths.hpp"

#include <cstdlib>

namespace enchufe::cli {

std::string default_history_db() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state != nullptr && *state == '/') return std::string(state) + "/enchufe/chat.db";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home == '/') return std::string(home) + "/.local/state/enchufe/chat.db";
  return {};
}

}  // namespace enchufe::cli
