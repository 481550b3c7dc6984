#include "net/redis/url.hpp"

#include "net/endpoint.hpp"
#include "net/errors.hpp"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace enchufe::net::redis {

namespace {

// Redis's default `databases` is 16; a server may have more, so only the
// form is checked here and SELECT answers for the rest.
constexpr int kMaxDatabase = 1'000'000;

int parse_db(std::string_view text, std::string_view url) {
  int db = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), db);
  if (ec != std::errc() || end != text.data() + text.size() || db < 0 || db > kMaxDatabase) {
    throw UsageError(fmt::format("'{}': the path is a database number, as in redis://host:6379/2", url));
  }
  return db;
}

}  // namespace

Address parse_url(std::string_view text) {
  const auto url = boost::urls::parse_uri(text);
  if (!url) {
    throw UsageError(fmt::format("'{}' is not a Redis URL ({}); write redis://HOST:PORT", text, url.error().message()));
  }
  if (url->scheme() == "rediss") throw UsageError(fmt::format("'{}': TLS to Redis is not supported; use redis://", text));
  if (url->scheme() != "redis") throw UsageError(fmt::format("'{}': the scheme must be redis://", text));
  if (url->host().empty()) throw UsageError(fmt::format("'{}' names no host", text));
  if (url->has_query() || url->has_fragment()) throw UsageError(fmt::format("'{}': no ?query or #fragment here", text));
  Address address;
  address.host = normalize_host(url->host_address());
  if (url->has_port()) address.port = parse_port(url->port());
  if (address.port == 0) throw UsageError(fmt::format("'{}': port 0 is no server's port", text));
  std::string_view path = url->encoded_path();
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) address.db = parse_db(path, text);
  if (url->has_password()) address.password = url->password();
  return address;
}

std::vector<Address> parse_urls(const std::vector<std::string>& values) {
  std::vector<Address> out;
  for (const std::string& value : values) {
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view one = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (one.empty()) throw UsageError(fmt::format("'{}': an empty URL between commas", value));
      Address address = parse_url(one);
      const auto same_server = [&](const Address& known) {
        return known.host == address.host && known.port == address.port && known.db == address.db;
      };
      if (std::any_of(out.begin(), out.end(), same_server)) {
        throw UsageError(fmt::format("'{}' is named twice", one));
      }
      out.push_back(std::move(address));
    }
  }
  return out;
}

std::string to_string(const Address& address) {
  const bool v6 = address.host.find(':') != std::string::npos;
  std::string text = fmt::format("redis://{}{}{}:{}", v6 ? "[" : "", address.host, v6 ? "]" : "", address.port);
  if (address.db != 0) text += fmt::format("/{}", address.db);
  return text;
}

}  // namespace enchufe::net::redis
