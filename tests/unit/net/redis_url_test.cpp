#include "net/redis/url.hpp"

#include "net/errors.hpp"

#include <gtest/gtest.h>

using namespace enchufe;
using namespace enchufe::net::redis;

namespace {

std::string why_refused(std::string_view text) {
  try {
    parse_url(text);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST(RedisUrl, HostPortDatabaseAndPassword) {
  EXPECT_EQ(parse_url("redis://127.0.0.1:7000"), (Address{"127.0.0.1", 7000, 0, ""}));
  EXPECT_EQ(parse_url("redis://localhost"), (Address{"localhost", kDefaultPort, 0, ""}));
  EXPECT_EQ(parse_url("redis://[::1]:7001/5"), (Address{"::1", 7001, 5, ""}));
  EXPECT_EQ(parse_url("redis://:s3cret@10.0.0.2/0"), (Address{"10.0.0.2", kDefaultPort, 0, "s3cret"}));
}

TEST(RedisUrl, EachMistakeIsNamed) {
  EXPECT_NE(why_refused("127.0.0.1:6379").find("write redis://HOST:PORT"), std::string::npos);
  EXPECT_NE(why_refused("host:6379").find("the scheme must be redis://"), std::string::npos);
  EXPECT_NE(why_refused("rediss://host").find("TLS to Redis is not supported"), std::string::npos);
  EXPECT_NE(why_refused("http://host").find("the scheme must be redis://"), std::string::npos);
  EXPECT_NE(why_refused("redis://").find("names no host"), std::string::npos);
  EXPECT_NE(why_refused("redis://host:0").find("port 0"), std::string::npos);
  EXPECT_NE(why_refused("redis://host:70000").find("70000"), std::string::npos);
  EXPECT_NE(why_refused("redis://host/x").find("database number"), std::string::npos);
  EXPECT_NE(why_refused("redis://host/-1").find("database number"), std::string::npos);
  EXPECT_NE(why_refused("redis://host/1/2").find("database number"), std::string::npos);
  EXPECT_NE(why_refused("redis://host?db=1").find("no ?query"), std::string::npos);
  EXPECT_NE(why_refused("not a url at all").find("is not a Redis URL"), std::string::npos);
}

TEST(RedisUrl, ListsAreCommaSeparatedOrRepeatedWithoutTwins) {
  const auto shards = parse_urls({"redis://a:1,redis://b:2", "redis://c:3/1"});
  ASSERT_EQ(shards.size(), 3u);
  EXPECT_EQ(shards[0].host, "a");
  EXPECT_EQ(shards[2].db, 1);
  // The same server and database twice, even spelled with another password.
  EXPECT_THROW(parse_urls({"redis://a:1", "redis://:x@a:1"}), UsageError);
  EXPECT_NO_THROW(parse_urls({"redis://a:1/0", "redis://a:1/1"}));
  EXPECT_THROW(parse_urls({"redis://a:1,,redis://b:2"}), UsageError);
}

TEST(RedisUrl, PrintedWithoutThePassword) {
  EXPECT_EQ(to_string(parse_url("redis://:s3cret@host:7000/2")), "redis://host:7000/2");
  EXPECT_EQ(to_string(parse_url("redis://[::1]")), "redis://[::1]:6379");
}
