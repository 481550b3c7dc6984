// net::redis::Client against a real redis-server: pipelined commands answered
// in order, pub/sub with binary payloads, the handshake (SELECT, AUTH), and
// the faults a cluster node meets: Redis killed and restarted, Redis stopped
// (SIGSTOP) while the loop goes on, a command queue that would grow without
// bound, a server that is not there yet.

#include "net/redis/client.hpp"

#include "support/redis_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

using namespace enchufe;
using namespace enchufe::test;
using namespace std::chrono_literals;
namespace redis = enchufe::net::redis;

namespace {

class RedisClient : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& client : clients_) client->stop();
    io_.run_for(100ms);  // the coroutines see the stop and end
  }

  struct Heard {
    int ups = 0;
    std::vector<std::string> downs;
    std::vector<std::pair<std::string, std::string>> messages;  // channel, payload
  };

  std::shared_ptr<redis::Client> client(const std::string& url, Heard& heard, redis::Client::Options options = {}) {
    options.address = redis::parse_url(url);
    options.name = "enchufe-test";
    auto made = redis::Client::start(
        io_, options,
        {.up = [&heard] { ++heard.ups; },
         .down = [&heard](const std::string& why) { heard.downs.push_back(why); },
         .message = [&heard](std::string_view channel,
                             std::string_view payload) { heard.messages.emplace_back(channel, payload); }});
    clients_.push_back(made);
    return made;
  }

  // Runs the loop until `done` or `timeout`; true if `done`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(5ms);
    }
    return true;
  }

  // One command's reply, waited for on the loop.
  redis::Reply ask(redis::Client& c, std::initializer_list<std::string_view> args) {
    std::optional<redis::Reply> got;
    c.command(args, [&got](const redis::Reply& reply) { got = reply; });
    EXPECT_TRUE(run_until([&] { return got.has_value(); })) << "no reply";
    return got.value_or(redis::local_error("no reply"));
  }

  asio::io_context io_;
  std::vector<std::shared_ptr<redis::Client>> clients_;
};

using Message = std::pair<std::string, std::string>;  // channel, payload

redis::Reply bulk(std::string text) {
  redis::Reply r;
  r.type = redis::Reply::Type::string;
  r.text = std::move(text);
  return r;
}

}  // namespace

TEST_F(RedisClient, PipelinedCommandsAreAnsweredInOrder) {
  auto server = RedisServer::start();
  Heard heard;
  auto c = client(server.url(), heard);
  ASSERT_TRUE(run_until([&] { return c->ready(); })) << (heard.downs.empty() ? "" : heard.downs.front());
  EXPECT_EQ(heard.ups, 1);

  // Asked in one go: they leave in one write or a few, and come back in order.
  constexpr int kCommands = 2000;
  std::vector<long long> counts;
  for (int i = 0; i < kCommands; ++i) {
    c->command({"INCR", "n"}, [&counts](const redis::Reply& r) { counts.push_back(r.integer); });
  }
  ASSERT_TRUE(run_until([&] { return counts.size() == kCommands; }));
  for (int i = 0; i < kCommands; ++i) ASSERT_EQ(counts[i], i + 1);

  // Binary safe both ways, and every reply type.
  const std::string odd("a b\r\nc\0d", 8);
  EXPECT_EQ(ask(*c, {"SET", "k", odd}).text, "OK");
  EXPECT_EQ(ask(*c, {"GET", "k"}), bulk(odd));
  EXPECT_EQ(ask(*c, {"GET", "missing"}).type, redis::Reply::Type::nil);
  const auto list = ask(*c, {"RPUSH", "l", "x", "y"});
  EXPECT_EQ(list.integer, 2);
  EXPECT_EQ(ask(*c, {"LRANGE", "l", "0", "-1"}).elements, (std::vector{bulk("x"), bulk("y")}));
  const auto wrong = ask(*c, {"INCR", "k"});
  EXPECT_TRUE(wrong.is_error());
  EXPECT_NE(wrong.text.find("not an integer"), std::string::npos) << wrong.text;
  EXPECT_TRUE(c->ready()) << "an error reply is an answer, not a fault";
  EXPECT_TRUE(heard.downs.empty());
}

TEST_F(RedisClient, SubscribersHearEveryMessageOnceAndInOrder) {
  auto server = RedisServer::start();
  Heard pub_heard, sub_heard;
  auto publisher = client(server.url(), pub_heard);
  auto subscriber = client(server.url(), sub_heard);
  subscriber->subscribe({"room:a", "room:b"});
  ASSERT_TRUE(run_until([&] { return publisher->ready() && subscriber->ready() && subscriber->in_flight() == 0; }));

  const std::string binary("línea\n\r\n\0fin", 14);
  std::vector<long long> receivers;
  for (int i = 0; i < 100; ++i) {
    publisher->command({"PUBLISH", i % 2 ? "room:b" : "room:a", std::to_string(i)},
                       [&receivers](const redis::Reply& r) { receivers.push_back(r.integer); });
  }
  publisher->command({"PUBLISH", "room:c", "nobody listens"});
  publisher->command({"PUBLISH", "room:a", binary});
  ASSERT_TRUE(run_until([&] { return sub_heard.messages.size() == 101; }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sub_heard.messages[i], Message(i % 2 ? "room:b" : "room:a", std::to_string(i)));
  }
  EXPECT_EQ(sub_heard.messages[100], Message("room:a", binary));
  EXPECT_EQ(receivers, std::vector<long long>(100, 1));

  // Unsubscribed: no more from that channel, the other still comes.
  subscriber->unsubscribe({"room:a"});
  ASSERT_TRUE(run_until([&] { return subscriber->in_flight() == 0; }));
  publisher->command({"PUBLISH", "room:a", "gone"});
  publisher->command({"PUBLISH", "room:b", "still"});
  ASSERT_TRUE(run_until([&] { return sub_heard.messages.size() == 102; }));
  EXPECT_EQ(sub_heard.messages.back(), Message("room:b", "still"));
  io_.run_for(100ms);
  EXPECT_EQ(sub_heard.messages.size(), 102u);
}

TEST_F(RedisClient, ARestartedRedisIsReconnectedAndSubscribedAgain) {
  auto server = RedisServer::start();
  Heard pub_heard, sub_heard;
  redis::Client::Options fast;
  fast.backoff_first = 20ms;
  fast.backoff_max = 200ms;
  auto publisher = client(server.url(), pub_heard, fast);
  auto subscriber = client(server.url(), sub_heard, fast);
  subscriber->subscribe({"room"});
  ASSERT_TRUE(run_until([&] { return publisher->ready() && subscriber->ready() && subscriber->in_flight() == 0; }));

  server.kill();
  ASSERT_TRUE(run_until([&] { return !pub_heard.downs.empty() && !sub_heard.downs.empty(); }));
  EXPECT_NE(pub_heard.downs.front().find(server.url()), std::string::npos) << pub_heard.downs.front();
  // Down: a command fails at once, told on the loop.
  std::optional<redis::Reply> refused;
  publisher->command({"PUBLISH", "room", "lost"}, [&refused](const redis::Reply& r) { refused = r; });
  EXPECT_FALSE(refused.has_value()) << "the callback must not run inside command()";
  io_.run_for(1ms);
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(refused->is_error());
  EXPECT_EQ(refused->text, "not connected to " + server.url());

  // A few failed attempts later it is back, and the subscription with it.
  io_.run_for(300ms);
  EXPECT_EQ(pub_heard.downs.size(), 1u) << "down is said once per loss, not once per attempt";
  server.restart();
  ASSERT_TRUE(run_until([&] { return pub_heard.ups == 2 && sub_heard.ups == 2 && subscriber->in_flight() == 0; }));
  publisher->command({"PUBLISH", "room", "back"});
  ASSERT_TRUE(run_until([&] { return !sub_heard.messages.empty(); }));
  EXPECT_EQ(sub_heard.messages, (std::vector<Message>{{"room", "back"}}));
}

TEST_F(RedisClient, AStoppedRedisIsLeftAfterTheReplyTimeoutAndTheLoopNeverWaits) {
  auto server = RedisServer::start();
  Heard heard;
  redis::Client::Options options;
  options.reply_timeout = 300ms;
  options.ping_every = 100ms;
  options.backoff_first = 50ms;
  options.backoff_max = 100ms;
  auto c = client(server.url(), heard, options);
  ASSERT_TRUE(run_until([&] { return c->ready(); }));

  // A ticker on the same loop: the longest gap between its ticks is how long
  // the loop was kept from its other work.
  asio::steady_timer ticker(io_);
  auto last = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration longest{};
  std::function<void()> tick = [&] {
    ticker.expires_after(5ms);
    ticker.async_wait([&](const error_code& ec) {
      if (ec) return;
      const auto now = std::chrono::steady_clock::now();
      longest = std::max(longest, now - last);
      last = now;
      tick();
    });
  };
  tick();

  ASSERT_TRUE(server.pause());
  std::optional<redis::Reply> answer;
  c->command({"SET", "k", "v"}, [&answer](const redis::Reply& r) { answer = r; });
  // Not even a quiet client waits: its PING goes unanswered just the same.
  ASSERT_TRUE(run_until([&] { return !heard.downs.empty(); }, 2000ms));
  EXPECT_NE(heard.downs.front().find("no reply for"), std::string::npos) << heard.downs.front();
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->is_error());
  // Still stopped: the port accepts, the handshake gets no answer, it tries again.
  io_.run_for(500ms);
  EXPECT_FALSE(c->ready());
  ASSERT_TRUE(server.resume());
  ASSERT_TRUE(run_until([&] { return c->ready(); }));
  // The SET's reply was lost, not the SET: Redis, continued, may still read
  // and do it. Callers treat a lost reply as "maybe done".
  EXPECT_EQ(ask(*c, {"PING"}).text, "PONG");
  ticker.cancel();
  EXPECT_LT(longest, 100ms) << "the loop waited for Redis";
}

TEST_F(RedisClient, CommandsBeyondTheUnsentBoundFailAtOnce) {
  auto server = RedisServer::start();
  Heard heard;
  redis::Client::Options options;
  options.max_unsent_bytes = 0;  // the second command of a tick is over it
  auto c = client(server.url(), heard, options);
  ASSERT_TRUE(run_until([&] { return c->ready(); }));
  std::vector<redis::Reply> replies;
  for (int i = 0; i < 3; ++i) c->command({"PING"}, [&replies](const redis::Reply& r) { replies.push_back(r); });
  ASSERT_TRUE(run_until([&] { return replies.size() == 3; }));
  // The refusals come first: they are posted, the answer needs a round trip.
  EXPECT_TRUE(replies[0].is_error());
  EXPECT_NE(replies[0].text.find("bytes of commands wait to be sent"), std::string::npos) << replies[0].text;
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[2].text, "PONG");
  EXPECT_TRUE(c->ready());
}

TEST_F(RedisClient, TheHandshakeSelectsTheDatabaseAndARefusalIsTold) {
  auto server = RedisServer::start();
  Heard in_3, in_0;
  auto db3 = client(server.url() + "/3", in_3);
  auto db0 = client(server.url(), in_0);
  ASSERT_TRUE(run_until([&] { return db3->ready() && db0->ready(); }));
  EXPECT_EQ(ask(*db3, {"SET", "where", "three"}).text, "OK");
  EXPECT_EQ(ask(*db0, {"GET", "where"}).type, redis::Reply::Type::nil);
  EXPECT_EQ(ask(*db0, {"CLIENT", "GETNAME"}), bulk("enchufe-test"));

  // This server wants no password: AUTH is refused, and the client says so.
  Heard wrong;
  auto with_password = client("redis://:secret@127.0.0.1:" + std::to_string(server.port()), wrong);
  ASSERT_TRUE(run_until([&] { return !wrong.downs.empty(); }));
  EXPECT_NE(wrong.downs.front().find("AUTH refused"), std::string::npos) << wrong.downs.front();
  EXPECT_EQ(wrong.downs.front().find("secret"), std::string::npos) << "the password is never told";
  EXPECT_FALSE(with_password->ready());
}

TEST_F(RedisClient, AServerNotThereYetIsWaitedFor) {
  Heard heard;
  auto server = RedisServer::start();
  const std::string url = server.url();
  server.kill();
  redis::Client::Options fast;
  fast.backoff_first = 20ms;
  fast.backoff_max = 100ms;
  auto c = client(url, heard, fast);
  ASSERT_TRUE(run_until([&] { return !heard.downs.empty(); }));
  EXPECT_NE(heard.downs.front().find("refused"), std::string::npos) << heard.downs.front();
  server.restart();
  ASSERT_TRUE(run_until([&] { return c->ready(); }));
  EXPECT_EQ(heard.ups, 1);
  EXPECT_EQ(heard.downs.size(), 1u);
}
