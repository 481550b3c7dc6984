#pragma once
// Where a Redis server is, as users write it: redis://HOST[:PORT][/DB], with
// an optional password (redis://:PASSWORD@HOST). Parsed with Boost.URL.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::net::redis {

inline constexpr std::uint16_t kDefaultPort = 6379;

struct Address {
  std::string host;  // an IPv6 literal without its brackets
  std::uint16_t port = kDefaultPort;
  int db = 0;            // SELECTed on connect when not 0
  std::string password;  // AUTH on connect when not empty
  bool operator==(const Address&) const = default;
};

// "redis://127.0.0.1:6379/2". Throws UsageError naming the text and what is
// wrong with it (scheme, host, port, database number).
Address parse_url(std::string_view text);

// Every value of a repeatable flag, each possibly a comma-separated list, in
// order. Throws UsageError for a bad URL or one named twice.
std::vector<Address> parse_urls(const std::vector<std::string>& values);

// The address as a URL for logs and messages: never the password.
std::string to_string(const Address& address);

}  // namespace enchufe::net::redis
