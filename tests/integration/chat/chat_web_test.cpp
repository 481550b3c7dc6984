// The chat's web front door (docs/web.md): the page and its HTTP answers,
// the JSON events, terminals and pages in one room, and every bad input with
// its close code while the others go on being served.

#include "chat_client.hpp"
#include "support/websocket.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <regex>
#include <set>

namespace enchufe::test::chat {
namespace {

namespace json = boost::json;

std::string field(const json::object& event, std::string_view key) {
  const auto* v = event.if_contains(key);
  if (v == nullptr) return "<missing " + std::string(key) + ">";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

bool is_utc_timestamp(const std::string& ts) {
  static const std::regex format(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  return std::regex_match(ts, format);
}

// A whole HTTP exchange on a fresh connection ("Connection: close").
std::string http(std::uint16_t port, std::string_view method, std::string_view path) {
  auto client = TcpClient::connect("127.0.0.1", port);
  EXPECT_TRUE(client.send_all(std::string(method) + " " + std::string(path) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  return client.recv_until_eof(kIo).data;
}

// A client that upgrades by hand and then never reads: not even pings.
TcpClient deaf_websocket(std::uint16_t port, int rcvbuf = 0) {
  TcpClient client = rcvbuf > 0 ? connect_with_small_receive_buffer(port, rcvbuf)
                                : TcpClient::connect("127.0.0.1", port);
  EXPECT_TRUE(client.send_all(
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  const auto answer = client.recv_until("\r\n\r\n", kIo);
  EXPECT_EQ(answer.data.rfind("HTTP/1.1 101", 0), 0u) << answer;
  return client;
}

class ChatWebTest : public ChatTest {
 protected:
  std::uint16_t web_port() const { return server_->web_port(); }

  // A page that has arrived: welcome (protocol 1) and general joined; with a
  // nick, renamed too. Terminals in general see it arrive.
  std::unique_ptr<WsClient> page(const std::string& nick = {}) {
    auto ws = WsClient::connect("127.0.0.1", web_port());
    const auto welcome = ws->next_event();
    EXPECT_EQ(field(welcome, "type"), "welcome") << to_string(welcome);
    EXPECT_EQ(field(welcome, "v"), "1") << to_string(welcome);
    EXPECT_EQ(field(welcome, "server"), "enchufe");
    EXPECT_TRUE(is_utc_timestamp(field(welcome, "ts"))) << to_string(welcome);
    const std::string guest = field(welcome, "nick");
    EXPECT_EQ(guest.rfind("guest-", 0), 0u) << to_string(welcome);
    const auto joined = ws->wait_for("joined");
    EXPECT_EQ(field(joined, "room"), "general") << to_string(joined);
    for (auto* c : in_room("general")) EXPECT_EQ(c->next(), "[t] * " + guest + " joined general");
    if (!nick.empty()) {
      EXPECT_TRUE(ws->type(nick));  // the first plain line is the nickname, as on a terminal
      EXPECT_EQ(field(ws->wait_for("nick"), "nick"), nick);
      for (auto* c : in_room("general")) EXPECT_EQ(c->next(), "[t] * " + guest + " is now known as " + nick);
    }
    return ws;
  }
};

TEST_F(ChatWebTest, ServesThePageItsHealthAndClearErrors) {
  start();
  const auto page = http(web_port(), "GET", "/");
  EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << escape(page);
  EXPECT_NE(page.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << escape(page);
  EXPECT_NE(page.find("Content-Security-Policy: default-src 'none'; script-src 'self'"), std::string::npos);
  EXPECT_NE(page.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos);
  EXPECT_NE(page.find("<script src=\"/app.js\""), std::string::npos) << "the page loads its own script";
  EXPECT_EQ(page.find("innerHTML"), std::string::npos);
  EXPECT_NE(http(web_port(), "GET", "/app.js").find("Content-Type: text/javascript"), std::string::npos);
  EXPECT_NE(http(web_port(), "GET", "/style.css").find("Content-Type: text/css"), std::string::npos);
  const auto health = http(web_port(), "GET", "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << escape(health);
  EXPECT_EQ(health.substr(health.size() - 7), "\r\n\r\nok\n") << escape(health);
  EXPECT_EQ(http(web_port(), "GET", "/nope").rfind("HTTP/1.1 404", 0), 0u);
  const auto post = http(web_port(), "POST", "/");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << escape(post);
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos) << escape(post);
  const auto plain_ws = http(web_port(), "GET", "/ws");
  EXPECT_EQ(plain_ws.rfind("HTTP/1.1 426", 0), 0u) << escape(plain_ws);
}

TEST_F(ChatWebTest, APageGetsTheHistoryWithIdsAndTimes) {
  start();
  auto& ana = login("ana");
  ana.send("hola");
  ana.send("/me saluda");
  ana.send("/who");  // the reply comes after both lines reached the room's home
  EXPECT_EQ(ana.wait_for_prefix("* 1 in general"), "* 1 in general: ana");
  auto web = page();
  // Lines and notices share a room's numbering: the history holds the two lines.
  const auto again = WsClient::connect("127.0.0.1", web_port());
  const auto joined = again->wait_for("joined");
  const auto& history = joined.at("history").as_array();
  ASSERT_EQ(history.size(), 2u) << to_string(joined);
  const auto& first = history[0].as_object();
  const auto& second = history[1].as_object();
  EXPECT_EQ(field(first, "type"), "message");
  EXPECT_EQ(field(first, "nick"), "ana");
  EXPECT_EQ(field(first, "text"), "hola");
  EXPECT_EQ(field(first, "room"), "general");
  EXPECT_TRUE(is_utc_timestamp(field(first, "ts"))) << to_string(first);
  EXPECT_EQ(field(second, "type"), "action");
  EXPECT_EQ(field(second, "text"), "saluda");
  EXPECT_LT(first.at("id").as_int64(), second.at("id").as_int64());
  ana.drain();  // the second page's arrival
}

TEST_F(ChatWebTest, TerminalsAndPagesTalkBothWays) {
  start();
  auto& ana = login("ana");
  auto bob = page("bob");

  EXPECT_TRUE(bob->type("hola ana"));
  EXPECT_EQ(ana.next(), "[t] <bob> hola ana");
  ana.send("hola bob <b>&amp;");
  const auto said = bob->wait_for("message");
  EXPECT_EQ(field(said, "nick"), "ana");
  EXPECT_EQ(field(said, "text"), "hola bob <b>&amp;") << "text travels as it was typed (sanitised, not escaped)";
  EXPECT_EQ(field(said, "room"), "general");

  EXPECT_TRUE(bob->type("/me waves"));
  EXPECT_EQ(ana.next(), "[t] * bob waves");
  EXPECT_TRUE(bob->type("/msg ANA psst"));
  EXPECT_EQ(ana.next(), "[t] *bob* psst");
  const auto echo = bob->wait_for("private");
  EXPECT_EQ(field(echo, "nick"), "bob");
  EXPECT_EQ(field(echo, "to"), "ana") << "the recipient as they spell it";
  EXPECT_EQ(echo.if_contains("id"), nullptr) << "private lines have no room id";
  ana.send("/msg bob hi");
  EXPECT_EQ(ana.next(), "[t] -> *bob* hi");
  const auto private_to_bob = bob->wait_for("private");
  EXPECT_EQ(field(private_to_bob, "nick"), "ana");
  EXPECT_EQ(field(private_to_bob, "to"), "bob");
  EXPECT_EQ(field(private_to_bob, "text"), "hi");

  EXPECT_TRUE(bob->type("/who"));
  const auto who = bob->wait_for("who");
  EXPECT_EQ(field(who, "members"), R"(["ana","bob"])");
  EXPECT_TRUE(bob->type("/rooms"));
  EXPECT_EQ(field(bob->wait_for("rooms"), "rooms"), R"([{"name":"general","members":2}])");
  EXPECT_TRUE(bob->type("/help"));
  EXPECT_EQ(field(bob->wait_for("info"), "text"), "commands:");
  EXPECT_TRUE(bob->type("/nope"));
  EXPECT_EQ(field(bob->wait_for("error"), "text").rfind("unknown command", 0), 0u);

  // A frame that is not {"type":"line",...} is refused, and the page stays.
  EXPECT_TRUE(bob->send_text("hola"));
  EXPECT_EQ(field(bob->wait_for("error"), "text").rfind("not understood", 0), 0u);
  EXPECT_TRUE(bob->send_text(R"({"type":"line","text":42})"));
  EXPECT_EQ(field(bob->wait_for("error"), "text").rfind("not understood", 0), 0u);
  EXPECT_TRUE(bob->type("sigo aqui"));
  EXPECT_EQ(ana.next(), "[t] <bob> sigo aqui");

  // /join moves the page; the terminal sees it leave, with structured notices on the web.
  ana.send("/join juegos");
  EXPECT_EQ(ana.next(), "* you are in juegos now; /who lists who is here");
  const auto left = bob->wait_for("notice");
  EXPECT_EQ(field(left, "what"), "left") << to_string(left);
  EXPECT_EQ(field(left, "nick"), "ana");
  EXPECT_TRUE(bob->type("/join juegos"));
  EXPECT_EQ(field(bob->wait_for("joined"), "room"), "juegos");
  EXPECT_EQ(ana.next(), "[t] * bob joined juegos");
  ana.room = "juegos";
  EXPECT_TRUE(bob->type("/quit adios"));
  EXPECT_EQ(field(bob->wait_for("info"), "text"), "bye!");
  EXPECT_TRUE(bob->closed_within(kIo));
  EXPECT_EQ(bob->close_code(), 1000);
  EXPECT_EQ(ana.next(), "[t] * bob left (quit: adios)");
}

// Three terminals and three pages in one room, on two loops, all talking at
// once: everyone hears every other member's line exactly once, each sender's
// lines in order, and any two members hear the room in the same order.
TEST_F(ChatWebTest, AMixedRoomHearsEveryLineOnceInOneOrder) {
  start({"--flood-rate", "1000", "--flood-burst", "1000"});
  constexpr int kLines = 20;
  std::vector<ChatClient*> terminals;
  for (const char* nick : {"t0", "t1", "t2"}) terminals.push_back(&login(nick));
  std::vector<std::unique_ptr<WsClient>> pages;
  for (const char* nick : {"w0", "w1", "w2"}) pages.push_back(page(nick));
  // Earlier pages saw later ones arrive: settle that first.
  for (auto& p : pages) p->drain(300ms);

  const std::vector<std::string> names{"t0", "t1", "t2", "w0", "w1", "w2"};
  for (int i = 0; i < kLines; ++i) {
    for (int t = 0; t < 3; ++t) terminals[t]->send(names[t] + " " + std::to_string(i));
    for (int w = 0; w < 3; ++w) EXPECT_TRUE(pages[w]->type(names[3 + w] + " " + std::to_string(i)));
  }
  const std::size_t expected = (names.size() - 1) * kLines;
  std::vector<std::vector<std::string>> heard(names.size());  // "nick text", in arrival order
  for (int t = 0; t < 3; ++t) {
    while (heard[t].size() < expected) {
      const std::string line = terminals[t]->next();
      const std::smatch m = [&] {
        std::smatch m;
        static const std::regex said(R"(\[t\] <([^>]+)> (.*))");
        std::regex_match(line, m, said);
        return m;
      }();
      ASSERT_FALSE(m.empty()) << names[t] << " got " << line << " after " << heard[t].size();
      heard[t].push_back(m[1].str() + ": " + m[2].str());
    }
  }
  for (int w = 0; w < 3; ++w) {
    std::int64_t last_id = 0;
    while (heard[3 + w].size() < expected) {
      const auto event = pages[w]->wait_for("message");
      ASSERT_FALSE(event.empty()) << names[3 + w] << " heard only " << heard[3 + w].size();
      const auto id = event.at("id").as_int64();
      EXPECT_GT(id, last_id) << "ids increase in the room's order";
      last_id = id;
      heard[3 + w].push_back(field(event, "nick") + ": " + field(event, "text"));
    }
  }
  for (std::size_t m = 0; m < names.size(); ++m) {
    std::map<std::string, int> next_of;  // sender -> the next number expected from it
    for (const auto& line : heard[m]) {
      const auto colon = line.find(": ");
      const std::string sender = line.substr(0, colon);
      EXPECT_NE(sender, names[m]) << "nobody hears their own lines";
      EXPECT_EQ(line.substr(colon + 2), sender + " " + std::to_string(next_of[sender]++)) << names[m];
    }
    EXPECT_EQ(next_of.size(), names.size() - 1) << names[m];
  }
  // The same order: two members agree on the lines of everyone else.
  for (std::size_t a = 0; a < names.size(); ++a) {
    for (std::size_t b = a + 1; b < names.size(); ++b) {
      auto others = [&](const std::vector<std::string>& lines) {
        std::vector<std::string> out;
        for (const auto& l : lines) {
          if (l.rfind(names[a] + ":", 0) != 0 && l.rfind(names[b] + ":", 0) != 0) out.push_back(l);
        }
        return out;
      };
      EXPECT_EQ(others(heard[a]), others(heard[b])) << names[a] << " and " << names[b] << " disagree";
    }
  }
}

TEST_F(ChatWebTest, TwoHundredPagesHearATerminalAndEachOther) {
  start({"--trust-loopback"});  // 200 pages from one address, past --max-per-address
  auto& ana = login("ana");
  constexpr int kPages = 200;
  std::vector<std::unique_ptr<WsClient>> pages;
  std::vector<std::string> nicks;
  for (int i = 0; i < kPages; ++i) {
    pages.push_back(WsClient::connect("127.0.0.1", web_port()));
    nicks.push_back(field(pages.back()->wait_for("welcome"), "nick"));
    ASSERT_FALSE(pages.back()->wait_for("joined").empty()) << "page " << i;
  }
  for (int i = 0; i < kPages; ++i) EXPECT_EQ(ana.next(), "[t] * " + nicks[i] + " joined general");
  ana.send("hola a todos");
  for (int i = 0; i < kPages; ++i) {
    ASSERT_FALSE(pages[i]->wait_for("message", "hola a todos", 5000ms).empty()) << "page " << i << " missed it";
  }
  EXPECT_TRUE(pages[7]->type("/me y yo"));
  EXPECT_EQ(ana.next(), "[t] * " + nicks[7] + " y yo");
  for (int i = 0; i < kPages; ++i) {
    if (i == 7) continue;
    const auto event = pages[i]->wait_for("action", "y yo", 5000ms);
    ASSERT_EQ(field(event, "nick"), nicks[7]) << "page " << i;
  }
}

TEST_F(ChatWebTest, BadFramesGetTheirCloseCodesAndOthersGoOn) {
  start({"--flood-rate", "1000", "--flood-burst", "1000"});
  auto& ana = login("ana");
  auto witness = page("witness");
  const struct {
    const char* what;
    std::function<bool(WsClient&)> send;
    int code;
  } cases[] = {
      {"a message over --max-line (4 KiB)", [](WsClient& ws) { return ws.send_text(std::string(5000, 'x')); }, 1009},
      {"a text frame that is not UTF-8", [](WsClient& ws) { return ws.send_text("hola \xff\xfe"); }, 1007},
      {"a binary frame", [](WsClient& ws) { return ws.send_binary("\x01\x02"); }, 1003},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto bad = page();
    const std::string nick = field(witness->wait_for("notice"), "nick");
    ana.next();  // its arrival
    EXPECT_TRUE(c.send(*bad));
    EXPECT_TRUE(bad->closed_within(kIo));
    EXPECT_EQ(bad->close_code(), c.code);
    EXPECT_EQ(ana.next().rfind("[t] * " + nick + " left (", 0), 0u);
    EXPECT_EQ(field(witness->wait_for("notice"), "what"), "left");
    // The others are served as before.
    ana.send("sigue");
    EXPECT_FALSE(witness->wait_for("message", "sigue").empty());
    EXPECT_TRUE(witness->type("y aqui"));
    EXPECT_EQ(ana.next(), "[t] <witness> y aqui");
  }
}

TEST_F(ChatWebTest, AFloodingPageIsWarnedThenClosedWith1008) {
  start({"--flood-rate", "1", "--flood-burst", "2"});
  auto flooder = page("flooder");
  for (int i = 0; i < 40; ++i) flooder->type("spam " + std::to_string(i));
  EXPECT_EQ(field(flooder->wait_for("error"), "text").rfind("slow down", 0), 0u);
  EXPECT_TRUE(flooder->closed_within(kIo));
  EXPECT_EQ(flooder->close_code(), 1008);
}

// A page that stops reading is cut once it owes --max-output; the room
// never waits for it, and a page that reads hears everything.
TEST_F(ChatWebTest, APageThatDoesNotReadIsCutAndNobodyWaits) {
  // The default bound, 1 MiB: the hard limit (16 MiB) stays out of reach,
  // so the cut must come from the stall rule, at once, not from the soft
  // limit 10 s later.
  start({"--flood-rate", "100000", "--flood-burst", "100000"});
  auto& ana = login("ana");
  auto deaf = deaf_websocket(web_port(), 4096);
  ana.next();  // its arrival
  auto reader = page("reader");
  // 8 MB: more than the deaf page's socket buffers hold (the server's send
  // buffer grows to 4 MB) plus the bound, less than the hard limit.
  constexpr int kLines = 2048;  // 256 bursts of 8
  const std::string text(3900, 'z');
  // Ana talks in bursts of 32 KB, under the bound, and the reader reads each
  // (the web door writes one message per loop turn, so a bigger burst is
  // judged by the soft limit: docs/web.md).
  int heard = 0;
  for (int i = 0; i < kLines; i += 8) {
    for (int j = i; j < i + 8; ++j) ana.send(std::to_string(j) + " " + text);
    for (; heard < i + 8; ++heard) {
      if (reader->wait_for("message", std::to_string(heard) + " " + text, 5000ms).empty()) break;
    }
    if (heard < i + 8) break;
  }
  EXPECT_EQ(heard, kLines) << "the reading page missed lines";
  const std::string left = ana.wait_for_prefix("[t] * guest-");
  EXPECT_NE(left.find(" left (too slow)"), std::string::npos) << left;
  EXPECT_TRUE(deaf.recv_until_eof(10'000ms).complete()) << "the page that does not read is cut";
}

TEST_F(ChatWebTest, PagesFromOtherSitesAreRefused) {
  start({"--web-origin", "https://aula.example"});
  WsClient::Options evil;
  evil.headers = {{"Origin", "https://evil.example"}};
  EXPECT_EQ(WsClient::refused_status("127.0.0.1", web_port(), evil), 403);
  WsClient::Options same;
  same.headers = {{"Origin", "http://127.0.0.1:" + std::to_string(web_port())}};
  EXPECT_NO_THROW(WsClient::connect("127.0.0.1", web_port(), same)) << "the page's own origin";
  WsClient::Options allowed;
  allowed.headers = {{"Origin", "https://aula.example"}};
  EXPECT_NO_THROW(WsClient::connect("127.0.0.1", web_port(), allowed)) << "--web-origin";
}

TEST_F(ChatWebTest, MaxConnectionsCountsTerminalsAndPagesTogether) {
  start({"--max-connections", "2"});
  auto& ana = login("ana");
  auto bob = page("bob");
  EXPECT_EQ(WsClient::refused_status("127.0.0.1", web_port(), {}), 503);
  auto third = ChatClient::connect(port());
  EXPECT_EQ(third->raw_line().rfind("error: server full", 0), 0u);
  bob->close();
  EXPECT_EQ(ana.next(), "[t] * bob left (disconnected)");
  // The place is free again.
  EXPECT_NO_THROW(WsClient::connect("127.0.0.1", web_port()));
  ana.drain();
}

// One address's terminals and pages count together under --max-per-address
// (the rate is raised out of the way: this is about the count).
TEST_F(ChatWebTest, MaxPerAddressCountsTerminalsAndPagesTogether) {
  start({"--max-per-address", "2", "--connect-rate", "1000"});
  auto& ana = login("ana");
  auto bob = page("bob");
  EXPECT_EQ(WsClient::refused_status("127.0.0.1", web_port(), {}), 503);
  auto third = ChatClient::connect(port());
  EXPECT_EQ(third->raw_line(),
            "error: too many connections from your address (at most 2 at once, --max-per-address)");
  // Another address is served meanwhile.
  auto& cid = login("cid", std::make_unique<ChatClient>(TcpClient::connect("127.0.0.1", port(), kIo, "127.0.0.2")));
  bob->close();
  EXPECT_EQ(ana.next(), "[t] * bob left (disconnected)");
  EXPECT_EQ(cid.next(), "[t] * bob left (disconnected)");
  // The page's place is free again.
  EXPECT_NO_THROW(WsClient::connect("127.0.0.1", web_port()));
  ana.drain();
  cid.drain();
}

TEST_F(ChatWebTest, ShutdownSaysGoodbyeAndClosesWith1001) {
  start();
  auto page_client = page("ana");
  server().process().send_signal(SIGTERM);
  EXPECT_EQ(field(page_client->wait_for("info"), "text"), "disconnected: server shutting down");
  EXPECT_TRUE(page_client->closed_within(kIo));
  EXPECT_EQ(page_client->close_code(), 1001);
  const auto status = server().process().wait_exit(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->is_exit_code(0)) << status->describe();
}

// Pings find a page that vanished; a page that answers them stays.
TEST_F(ChatWebTest, APeerThatAnswersNoPingIsClosedAfterTheIdleTimeout) {
  start({"--idle-timeout", "1"});
  auto alive = page("alive");
  auto deaf = deaf_websocket(web_port());
  // The live page answers the pings while it waits (the client reads).
  const auto seen = alive->drain(2500ms);
  for (const auto& m : seen) EXPECT_EQ(m.find("<closed"), std::string::npos) << "a page that answers pings stays";
  const auto rest = deaf.recv_until_eof(500ms);
  EXPECT_TRUE(rest.complete()) << "a peer silent for 2.5 s with --idle-timeout 1 is still open: " << rest;
}

}  // namespace
}  // namespace enchufe::test::chat
