#pragma once
// What the cluster's tests share: nodes of `serve chat --cluster` on real
// redis-server processes, members on them with /ids on, and the checks of
// numbered lines.

#include "chat/chat_client.hpp"
#include "support/redis_server.hpp"

#include <fmt/format.h>

#include <deque>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace enchufe::test::chat {

inline constexpr std::string_view kLostTouch =
    "[t] * this server lost touch with the others: lines said here reach only its members, and theirs do not "
    "come, until it is back";
inline constexpr std::string_view kBackInTouch =
    "[t] * this server is back in touch with the others: lines reach every member again";

// "#12 [10:00:00] <bob> hola" -> {12, "<bob> hola"}; {0, line} if unnumbered.
inline std::pair<std::uint64_t, std::string> numbered(std::string_view line) {
  static const std::regex kNumbered(R"(^#(\d+) \[\d\d:\d\d:\d\d\] (.*)$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(line.begin(), line.end(), m, kNumbered)) return {0, std::string(line)};
  return {std::stoull(m[1]), m[2].str()};
}

class ChatCluster : public ::testing::Test {
 protected:
  void TearDown() override {
    // Every node must still be serving, but those the test killed: a
    // crashed node is no quiet one.
    for (auto& node : nodes_) {
      if (node.process().was_signalled()) continue;
      EXPECT_FALSE(node.process().poll_exit()) << "a node exited during the test";
    }
  }

  // A node of the cluster on `shards` (their URLs), two loops.
  Server& node(const std::vector<std::string>& shards, const std::string& name,
               const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"serve", "chat", "--host", "127.0.0.1", "--port", "0", "-q", "--threads", "2",
                                  "--node-name", name, "--metrics", "127.0.0.1:0"};
    for (const auto& url : shards) args.insert(args.end(), {"--cluster", url});
    args.insert(args.end(), extra.begin(), extra.end());
    auto wanted = services_of("chat", args);
    wanted.push_back("metrics");
    nodes_.push_back(Server::start_args(args, wanted));
    return nodes_.back();
  }

  // A member on `server` named `nick`, in general, with /ids on: its room
  // lines come numbered ("#ID [t] ..."). What others see of its arrival is
  // not checked here (drain them with settle()).
  ChatClient& member(Server& server, const std::string& nick) {
    auto client = ChatClient::connect(server.port("chat"));
    client->read_welcome();
    // Lines from the room (arrivals said earlier, heard back from Redis
    // now) may come between the answers.
    EXPECT_TRUE(client->send(nick));
    EXPECT_EQ(client->wait_for_prefix("* you are "), "* you are " + nick + " now");
    client->nick = nick;
    EXPECT_TRUE(client->send("/ids on"));
    EXPECT_NE(client->wait_for_prefix("* ids on: "), "<none>") << nick;
    members_.push_back(std::move(client));
    return *members_.back();
  }

  // Once every node with members in `room` listens to it on `redis`, lines
  // said anywhere reach everyone: waits for `subscribers` of the channel.
  static void wait_subscribed(const RedisServer& redis, const std::string& room, int subscribers) {
    const std::string channel = "enchufe:room:" + room;
    const auto deadline = Clock::now() + 5000ms;
    std::string out;
    while (Clock::now() < deadline) {
      out = redis_cli(redis, {"PUBSUB", "NUMSUB", channel});
      if (out == channel + "\n" + std::to_string(subscribers) + "\n") return;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "not " << subscribers << " subscribers of " << channel << ": " << escape(out);
  }

  // Nodes "a" and "b" on `redis`, with the members named in `on_a` and
  // `on_b` in general (in that order), once both nodes hear the room and
  // what the members' arrivals said is read. `extra`: more flags for both.
  std::vector<ChatClient*> two_nodes(const RedisServer& redis, const std::vector<std::string>& on_a,
                                     const std::vector<std::string>& on_b, const std::vector<std::string>& extra = {}) {
    auto& a = node({redis.url()}, "a", extra);
    auto& b = node({redis.url()}, "b", extra);
    std::vector<ChatClient*> made;
    for (const auto& nick : on_a) made.push_back(&member(a, nick));
    for (const auto& nick : on_b) made.push_back(&member(b, nick));
    wait_subscribed(redis, "general", 2);
    settle();
    return made;
  }

  // Reads what every member has waiting (arrivals, renames), so the checks
  // after it see only what they caused.
  void settle() {
    std::this_thread::sleep_for(kQuiet);
    for (auto& m : members_) m->drain(50ms);
  }

  // The next line of `who`, which must be `text` said by `nick`, numbered;
  // returns its number.
  static std::uint64_t expect_line(ChatClient& who, const std::string& nick, const std::string& text,
                                   Duration timeout = kIo) {
    const std::string raw = who.raw_line(timeout);
    const auto [id, rest] = numbered(raw);
    EXPECT_EQ(rest, "<" + nick + "> " + text) << who.nick << " got " << escape(raw);
    EXPECT_NE(id, 0u) << who.nick << " got " << escape(raw);
    return id;
  }

  // What redis-cli prints for `args` on `redis` (the nodes' keys, checked
  // from outside).
  static std::string redis_cli(const RedisServer& redis, const std::vector<std::string>& args) {
    std::vector<std::string> all{"-p", std::to_string(redis.port())};
    all.insert(all.end(), args.begin(), args.end());
    return run_program("/usr/bin/redis-cli", all).out;
  }

  std::deque<Server> nodes_;  // a deque: references to its nodes stay valid
  std::vector<std::unique_ptr<ChatClient>> members_;
};

}  // namespace enchufe::test::chat
