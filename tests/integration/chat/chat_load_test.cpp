// `enchufe serve chat` under load: 200 clients in one room, the server on two
// threads so that fan-out crosses loops. Every client must get every other
// client's messages exactly once, in each sender's order, never its own, and
// all clients must see the room's lines in one same order.
//
// The clients are driven from the test's thread with epoll (see Crowd).
// Flood limits are raised (--flood-rate 100 --flood-burst 100): each client
// sends its nickname and 50 messages in well under a second, which the
// default (10/s, bursts of 20) would rightly throttle. And all 200 come from
// 127.0.0.1, ten times --max-per-address: --trust-loopback.

#include "chat/chat_client.hpp"

#include <charconv>
#include <iostream>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

constexpr std::size_t kClients = 200;
constexpr std::uint32_t kMessages = 50;  // per client

struct Tally {
  // Per client.
  std::vector<std::string> guest;
  std::vector<bool> named, joined, said_bye;
  std::vector<std::vector<std::uint32_t>> expected_seq;  // [receiver][sender]
  std::vector<std::vector<std::uint32_t>> order;         // [receiver]: sender * kMessages + seq
  std::vector<std::size_t> messages, notices;
  std::size_t total_messages = 0, total_notices = 0, named_count = 0, joined_count = 0, closed_count = 0;
  std::vector<std::string> problems;

  explicit Tally(std::size_t n)
      : guest(n), named(n), joined(n), said_bye(n), expected_seq(n, std::vector<std::uint32_t>(n)), order(n),
        messages(n), notices(n) {
    for (auto& o : order) o.reserve((n - 1) * kMessages);
  }
  void problem(std::size_t client, std::string what) {
    if (problems.size() < 20) problems.push_back("client " + std::to_string(client) + ": " + std::move(what));
  }
};

std::string nick_of(std::size_t i) { return "c" + std::to_string(i); }

std::string message_of(std::size_t sender, std::uint32_t seq) {
  // Lengths vary so that lines cut or glued together do not look right.
  return "m " + std::to_string(sender) + " " + std::to_string(seq) + " " + std::string(seq % 7 + sender % 5, '.');
}

// "<c12> m 12 3 ...." -> sender 12, seq 3, checked against the nickname.
bool parse_message(std::string_view body, std::size_t& sender, std::uint32_t& seq) {
  if (!body.starts_with("<c")) return false;
  const auto close = body.find("> m ");
  if (close == std::string_view::npos) return false;
  std::size_t from_nick = 0;
  if (std::from_chars(body.data() + 2, body.data() + close, from_nick).ptr != body.data() + close) return false;
  const char* p = body.data() + close + 4;
  const char* end = body.data() + body.size();
  auto r = std::from_chars(p, end, sender);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ' ') return false;
  r = std::from_chars(r.ptr + 1, end, seq);
  if (r.ec != std::errc{}) return false;
  return from_nick == sender && sender < kClients && seq < kMessages &&
         body.substr(close + 2) == message_of(sender, seq);
}

}  // namespace

TEST(ChatLoad, TwoHundredClientsInOneRoomGetEveryMessageOnceAndInOrder) {
  raise_fd_limit();
  auto server = Server::start(
      "chat", {"-q", "--threads", "2", "--flood-rate", "100", "--flood-burst", "100", "--trust-loopback"});
  Crowd crowd(server.port("chat"));
  Tally t(kClients);

  crowd.on_line([&](std::size_t i, std::string_view line) {
    if (has_stamp(line)) {
      const std::string_view body = line.substr(11);
      std::size_t sender;
      std::uint32_t seq;
      if (body.starts_with("* ")) {
        ++t.notices[i];
        ++t.total_notices;
      } else if (parse_message(body, sender, seq)) {
        if (sender == i) {
          t.problem(i, "got its own message back: " + std::string(line));
        } else if (seq != t.expected_seq[i][sender]) {
          t.problem(i, "from c" + std::to_string(sender) + " expected seq " + std::to_string(t.expected_seq[i][sender]) +
                           ", got " + std::string(line));
        }
        t.expected_seq[i][sender] = seq + 1;
        t.order[i].push_back(static_cast<std::uint32_t>(sender * kMessages + seq));
        ++t.messages[i];
        ++t.total_messages;
      } else {
        t.problem(i, "unexpected stamped line: " + escape(line));
      }
      return;
    }
    constexpr std::string_view kYou = "* You are ";
    if (line.starts_with("* Welcome to enchufe chat!")) return;
    if (line.starts_with(kYou)) {
      t.guest[i] = std::string(line.substr(kYou.size(), line.find('.') - kYou.size()));
      crowd.send(i, nick_of(i) + "\n");  // the first line: a nickname
    } else if (line == "* you are " + nick_of(i) + " now") {
      t.named[i] = true;
      ++t.named_count;
    } else if (line == "* you are in general now; /who lists who is here") {
      t.joined[i] = true;
      ++t.joined_count;
    } else if (line == "* bye!") {
      t.said_bye[i] = true;
    } else {
      t.problem(i, "unexpected line: " + escape(line));
    }
  });
  crowd.on_close([&](std::size_t) { ++t.closed_count; });

  // 1. Everyone connects and takes a nickname.
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < kClients; ++i) crowd.add();
  const bool all_in = crowd.pump([&] { return t.named_count == kClients && t.joined_count == kClients; }, 20'000ms);
  const auto t1 = Clock::now();
  ASSERT_TRUE(all_in) << t.named_count << " named, " << t.joined_count << " joined of " << kClients
                      << "; problems: " << ::testing::PrintToString(t.problems) << "\n"
                      << server.process().diagnostics();
  ASSERT_EQ(t.closed_count, 0u);

  // 2. Everyone talks: round r has every client's r-th message.
  for (std::uint32_t r = 0; r < kMessages; ++r) {
    for (std::size_t i = 0; i < kClients; ++i) crowd.send(i, message_of(i, r) + "\n");
    crowd.pump([&] { return crowd.unsent() == 0; }, 5000ms);
  }
  const std::size_t expected_total = kClients * (kClients - 1) * kMessages;
  const bool all_delivered = crowd.pump([&] { return t.total_messages >= expected_total; }, 30'000ms);
  const auto t2 = Clock::now();
  // Anything late (a duplicate) shows up now.
  crowd.pump([] { return false; }, 300ms);

  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "[ chat     ] " << kClients << " clients joined and named in " << ms(t1 - t0) << " ms; "
            << t.total_messages << " of " << expected_total << " message deliveries (" << kClients * kMessages
            << " messages sent) in " << ms(t2 - t1) << " ms; " << t.total_notices << " notices" << std::endl;
  RecordProperty("join_ms", static_cast<int>(ms(t1 - t0)));
  RecordProperty("talk_ms", static_cast<int>(ms(t2 - t1)));
  RecordProperty("deliveries", static_cast<int>(t.total_messages));

  EXPECT_TRUE(all_delivered) << server.process().diagnostics();
  EXPECT_TRUE(t.problems.empty()) << ::testing::PrintToString(t.problems);
  EXPECT_EQ(t.total_messages, expected_total);
  EXPECT_EQ(t.closed_count, 0u) << "nobody may be cut (too slow, flooding)";
  for (std::size_t i = 0; i < kClients; ++i) {
    ASSERT_EQ(t.messages[i], (kClients - 1) * kMessages) << "client " << i;
    for (std::size_t s = 0; s < kClients; ++s) {
      ASSERT_EQ(t.expected_seq[i][s], s == i ? 0u : kMessages) << "client " << i << " from c" << s;
    }
  }

  // 3. One order for the room: for reference clients q, every client r sees
  // the lines of the senders other than q and r in the order q saw them.
  for (std::size_t q : {std::size_t{0}, std::size_t{1}, std::size_t{2}, kClients / 2, kClients - 1}) {
    for (std::size_t r = 0; r < kClients; ++r) {
      if (r == q) continue;
      const auto keep = [&](std::uint32_t id) {
        const std::size_t s = id / kMessages;
        return s != q && s != r;
      };
      std::vector<std::uint32_t> a, b;
      std::copy_if(t.order[q].begin(), t.order[q].end(), std::back_inserter(a), keep);
      std::copy_if(t.order[r].begin(), t.order[r].end(), std::back_inserter(b), keep);
      ASSERT_TRUE(a == b) << "clients " << q << " and " << r << " saw the room's lines in different orders";
    }
  }

  // 4. Everyone leaves: each gets its goodbye and the server closes them all.
  for (std::size_t i = 0; i < kClients; ++i) crowd.send(i, "/quit\n");
  const bool all_closed = crowd.pump([&] { return t.closed_count == kClients; }, 20'000ms);
  EXPECT_TRUE(all_closed) << t.closed_count << " of " << kClients << " closed";
  EXPECT_EQ(std::count(t.said_bye.begin(), t.said_bye.end(), true), static_cast<long>(kClients));
  EXPECT_TRUE(t.problems.empty()) << ::testing::PrintToString(t.problems);
  EXPECT_TRUE(server.process().running()) << server.process().diagnostics();
}
