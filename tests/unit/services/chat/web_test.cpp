// Who may open the chat's WebSocket: the Origin check of the web door.
#include "services/chat/web.hpp"

#include <gtest/gtest.h>

namespace enchufe::services::chat {
namespace {

net::HttpRequest upgrade(std::string_view host, std::string_view origin) {
  net::HttpRequest request{net::http::verb::get, "/ws", 11};
  request.set(net::http::field::host, host);
  if (!origin.empty()) request.set(net::http::field::origin, origin);
  return request;
}

TEST(WebOrigin, TheServersOwnPagesAndBotsMayConnect) {
  EXPECT_TRUE(origin_allowed(upgrade("localhost:8080", "http://localhost:8080"), {}));
  EXPECT_TRUE(origin_allowed(upgrade("chat.example:443", "https://chat.example:443"), {}));
  EXPECT_TRUE(origin_allowed(upgrade("Chat.Example", "http://chat.example"), {})) << "host names ignore case";
  EXPECT_TRUE(origin_allowed(upgrade("localhost:8080", ""), {})) << "no Origin: not a browser";
}

TEST(WebOrigin, OtherSitesAreRefusedUnlessAllowed) {
  EXPECT_FALSE(origin_allowed(upgrade("localhost:8080", "http://evil.example"), {}));
  EXPECT_FALSE(origin_allowed(upgrade("localhost:8080", "http://localhost:9999"), {})) << "another port";
  EXPECT_FALSE(origin_allowed(upgrade("localhost:8080", "null"), {})) << "a file:// or sandboxed page";
  EXPECT_FALSE(origin_allowed(upgrade("localhost:8080", "ftp://localhost:8080"), {}));
  EXPECT_FALSE(origin_allowed(upgrade("localhost:8080", "http://localhost:8080.evil.example"), {}));
  EXPECT_TRUE(origin_allowed(upgrade("localhost:8080", "https://aula.example"), {"https://aula.example"}));
  EXPECT_TRUE(origin_allowed(upgrade("localhost:8080", "https://anything.example"), {"*"}));
  EXPECT_FALSE(origin_allowed(upgrade("localhost:8080", "https://aula.example.evil"), {"https://aula.example"}));
}

}  // namespace
}  // namespace enchufe::services::chat
