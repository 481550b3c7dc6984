// The chat's limits per address (--max-per-address, --connect-rate,
// --trust-loopback): one host cannot take the server's slots, and another
// host is served meanwhile. The flood comes from 127.0.0.1; other hosts are
// 127.0.0.2 and 127.0.0.3 (Linux routes all of 127/8 to lo, so a client
// socket can be bound to them).

#include "chat/chat_client.hpp"

#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

const std::string kWelcome = "* Welcome to enchufe chat! /help lists the commands.";
const std::string kTooMany = "error: too many connections from your address (at most 20 at once, --max-per-address)";

// The refusal for --connect-rate R.
std::string too_fast(std::string_view rate) {
  return "error: too many new connections from your address (at most " + std::string(rate) +
         " a second, --connect-rate); try again later";
}

// A client from 127.0.0.1 that reads its first line and closes, as a
// reconnect loop would; returns that line.
std::string connect_and_close(std::uint16_t port) {
  auto client = ChatClient::connect(port);
  return client->raw_line();
}

class ChatPerAddress : public ChatTest {};

// The test: 1,000 connections from one address, each held open.
// The test's own descriptors fit: raise_fd_limit() lifts the soft limit to
// the hard one (20,000 here; 1,024 would not do).
TEST_F(ChatPerAddress, AThousandFromOneAddressGetTwentyWhileAnotherIsServed) {
  constexpr std::size_t kCrowd = 1000;
  ASSERT_GT(raise_fd_limit(), kCrowd + 64) << "not enough descriptors for the crowd";
  start({"--max-per-address", "20"});
  const auto deadline = Clock::now() + 60s;
  std::vector<TcpClient> crowd;
  crowd.reserve(kCrowd);
  for (std::size_t i = 0; i < kCrowd && Clock::now() < deadline; ++i) {
    crowd.push_back(TcpClient::connect("127.0.0.1", port()));
  }
  ASSERT_EQ(crowd.size(), kCrowd) << "connecting took over a minute";

  std::vector<TcpClient*> welcomed;
  std::size_t refused = 0;
  std::vector<std::string> odd;
  for (auto& client : crowd) {
    const auto first = client.recv_until("\n", kIo);
    if (first.data == kWelcome + "\n") {
      welcomed.push_back(&client);
      continue;
    }
    const auto rest = client.recv_until_eof(kIo);
    if (first.data == kTooMany + "\n" && rest.complete() && rest.data.empty()) {
      ++refused;
    } else if (odd.size() < 5) {
      odd.push_back(first.describe() + " then " + rest.describe());
    }
  }
  EXPECT_EQ(welcomed.size(), 20u);
  EXPECT_EQ(refused, kCrowd - 20) << "not one line then a close: " << ::testing::PrintToString(odd);

  // Other hosts are served, and chat with each other.
  auto& ana = login("ana", std::make_unique<ChatClient>(TcpClient::connect("127.0.0.1", port(), kIo, "127.0.0.2")));
  auto& bea = login("bea", std::make_unique<ChatClient>(TcpClient::connect("127.0.0.1", port(), kIo, "127.0.0.3")));
  ASSERT_TRUE(ana.send("hola bea"));
  EXPECT_EQ(bea.next(), "[t] <ana> hola bea");

  // One of the twenty leaves: its place is taken by the next to come (once
  // the server has counted it out, hence the retries).
  welcomed.front()->close();
  std::string last;
  for (const auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    last = connect_and_close(port());
    if (last == kWelcome) break;
  }
  EXPECT_EQ(last, kWelcome);
  crowd.clear();
  ana.drain();
  bea.drain();
}

// Connect and drop in a loop: the burst passes, then the rate refuses, and
// another address is not affected. No limit on the count here (0), so a
// client the server has not counted out yet cannot be what refuses; the
// burst is then kMaxPerAddress, 20.
TEST_F(ChatPerAddress, ConnectingTooOftenIsRefusedPastTheBurst) {
  start({"--max-per-address", "0", "--connect-rate", "1"});
  const auto started = Clock::now();
  std::size_t welcomed = 0, refused = 0;
  std::string odd;
  for (int i = 0; i < 40; ++i) {
    const std::string first = connect_and_close(port());
    if (first == kWelcome) {
      ++welcomed;
    } else if (first == too_fast("1")) {
      ++refused;
    } else {
      odd = first;
    }
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
  EXPECT_EQ(odd, "");
  EXPECT_GE(welcomed, 20u);
  EXPECT_LE(welcomed, 20u + static_cast<std::size_t>(seconds) + 1) << "the rate is 1 a second";
  EXPECT_EQ(welcomed + refused, 40u);
  auto other = std::make_unique<ChatClient>(TcpClient::connect("127.0.0.1", port(), kIo, "127.0.0.2"));
  EXPECT_EQ(other->raw_line(), kWelcome);
  // Refused attempts spend nothing: after a second's wait one more is welcome.
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(connect_and_close(port()), kWelcome);
}

// --trust-loopback: loopback is neither counted nor rate-limited.
TEST_F(ChatPerAddress, TrustLoopbackLiftsBothLimits) {
  start({"--trust-loopback", "--max-per-address", "2", "--connect-rate", "1"});
  std::vector<std::unique_ptr<ChatClient>> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(ChatClient::connect(port()));
    EXPECT_EQ(held.back()->raw_line(), kWelcome) << i;
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(connect_and_close(port()), kWelcome) << i;
}

}  // namespace
