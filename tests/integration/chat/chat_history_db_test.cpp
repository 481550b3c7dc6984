// `enchufe serve chat --history-db PATH`: the rooms' lines in an SQLite
// file survive a restart and a room emptying; a second server on the same
// file, or a file that is not a database, is refused with one line.

#include "chat/chat_client.hpp"
#include "support/files.hpp"
#include "support/metrics.hpp"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

class ChatHistoryDb : public ChatTest {
 protected:
  TempDir dir_;
  std::string db() const { return (dir_.path / "state" / "chat.db").string(); }
};

// A newcomer's replay: the announcement, then the lines.
void expect_replay(ChatClient& c, const std::string& room, const std::vector<std::string>& lines) {
  EXPECT_EQ(c.next(), "* the last " + std::to_string(lines.size()) + " message" + (lines.size() == 1 ? "" : "s") +
                          " in " + room + ":");
  for (const auto& line : lines) EXPECT_EQ(c.next(), line);
}

}  // namespace

TEST_F(ChatHistoryDb, TheRoomsLinesSurviveARestart) {
  start({"--history", "3", "--history-db", db()});
  auto& ana = login("ana");
  auto& bob = login("bob");
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(ana.send("m" + std::to_string(i)));
    EXPECT_EQ(bob.next(), "[t] <ana> m" + std::to_string(i));
  }
  ASSERT_TRUE(bob.send("/me se va"));
  EXPECT_EQ(ana.next(), "[t] * bob se va");
  const auto stopped = server().stop();
  ASSERT_TRUE(stopped && stopped->is_exit_code(0)) << server().process().diagnostics();
  // A clean stop leaves one file: the write-ahead log is folded into it.
  EXPECT_FALSE(std::filesystem::exists(db() + "-wal"));
  forget(ana);
  forget(bob);

  start({"--history", "3", "--history-db", db()});
  auto cy = ChatClient::connect(port());
  EXPECT_EQ(cy->next(), "* Welcome to enchufe chat! /help lists the commands.");
  EXPECT_TRUE(cy->next().starts_with("* You are guest-"));
  EXPECT_EQ(cy->next(), "* you are in general now; /who lists who is here");
  expect_replay(*cy, "general", {"[t] <ana> m3", "[t] <ana> m4", "[t] * bob se va"});
  EXPECT_EQ(cy->drain(), "");
}

TEST_F(ChatHistoryDb, ARoomThatEmptiedKeepsItsLines) {
  start({"--history", "10", "--history-db", db()});
  auto& ana = login("ana");
  auto& bob = login("bob");
  move(ana, "dev");
  move(bob, "dev");
  ASSERT_TRUE(ana.send("solo en dev"));
  EXPECT_EQ(bob.next(), "[t] <ana> solo en dev");
  move(ana, "general");
  move(bob, "general");  // dev is gone now; its lines are not
  auto& cy = login("cy");
  ASSERT_TRUE(cy.send("/join dev"));
  EXPECT_EQ(cy.next(), "* you are in dev now; /who lists who is here");
  expect_replay(cy, "dev", {"[t] <ana> solo en dev"});
  EXPECT_EQ(ana.next(), "[t] * cy left general (joined dev)");
  EXPECT_EQ(bob.next(), "[t] * cy left general (joined dev)");
  cy.room = "dev";
  expect_all_quiet();
}

TEST_F(ChatHistoryDb, ASecondServerOnTheSameFileIsRefused) {
  start({"--history-db", db()});
  const auto second = run_enchufe({"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--no-web", "--history-db",
                                   db()});
  EXPECT_TRUE(second.exited_with(1)) << second;
  EXPECT_NE(second.err.find("--history-db " + db() + ": another enchufe server is using it"), std::string::npos)
      << second;
  EXPECT_EQ(second.out.find("listening:"), std::string::npos) << "it bound ports before refusing\n" << second;
}

TEST_F(ChatHistoryDb, AFileThatIsNoDatabaseIsRefusedAndKept) {
  const auto path = dir_.path / "notes.txt";
  std::ofstream(path) << std::string(2048, 'n');
  const auto r = run_enchufe({"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--history-db", path.string()});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_NE(r.err.find("it is not an SQLite database, or it is damaged (it was left as it is)"), std::string::npos)
      << r;
  EXPECT_EQ(read_file(path), std::string(2048, 'n'));
}

// ---- /history and /search ------------------------------------------------------------

namespace {

// Reads a /history or /search answer: its first line, then `count` lines.
std::vector<std::string> page(ChatClient& c, std::size_t count) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i <= count; ++i) lines.push_back(c.raw_line());
  return lines;
}

// "#12 [12:04:05] <ana> hola" -> "#12 <ana> hola": the stamp varies.
std::string unstamped(const std::string& line) {
  const auto stamp = line.find(" [");
  if (!line.starts_with("#") || stamp == std::string::npos || line.size() < stamp + 12) return line;
  return line.substr(0, stamp) + line.substr(stamp + 11);
}

std::vector<std::string> unstamped(std::vector<std::string> lines) {
  for (auto& line : lines) line = unstamped(line);
  return lines;
}

}  // namespace

TEST_F(ChatHistoryDb, HistoryPagesBackAndSearchFindsAfterARestart) {
  start({"--history", "0", "--history-db", db()});
  auto& ana = login("ana");
  for (const std::string text : {"vamos a la playa", "mejor al monte", "la playa está llena"}) {
    ASSERT_TRUE(ana.send(text));
  }
  ASSERT_TRUE(ana.send("/who"));
  EXPECT_EQ(ana.next(), "* 1 in general: ana");  // every line is in
  const auto stopped = server().stop();
  ASSERT_TRUE(stopped && stopped->is_exit_code(0)) << server().process().diagnostics();
  forget(ana);

  start({"--history", "0", "--history-db", db()});
  auto& bob = login("bob");
  // From the newest back, a page at a time.
  ASSERT_TRUE(bob.send("/history 3"));
  EXPECT_EQ(unstamped(page(bob, 4)),
            (std::vector<std::string>{"* 3 earlier lines in general:", "#6 * ana left (server shutting down)",
                                      "#7 * guest-1 joined general", "#8 * guest-1 is now known as bob",
                                      "* /history shows earlier ones"}));
  ASSERT_TRUE(bob.send("/history 3"));
  EXPECT_EQ(unstamped(page(bob, 3)),
            (std::vector<std::string>{"* 3 earlier lines in general:", "#3 <ana> vamos a la playa",
                                      "#4 <ana> mejor al monte", "#5 <ana> la playa está llena"}));
  EXPECT_EQ(bob.raw_line(), "* /history shows earlier ones");
  ASSERT_TRUE(bob.send("/history"));
  EXPECT_EQ(unstamped(page(bob, 2)),
            (std::vector<std::string>{"* 2 earlier lines in general:", "#1 * guest-1 joined general",
                                      "#2 * guest-1 is now known as ana"}));
  ASSERT_TRUE(bob.send("/history"));
  EXPECT_EQ(bob.raw_line(), "* no earlier lines in general");
  ASSERT_TRUE(bob.send("/search PLAYA"));
  EXPECT_EQ(unstamped(page(bob, 2)),
            (std::vector<std::string>{"* 2 lines in general with 'PLAYA', newest first:",
                                      "#5 <ana> la playa está llena", "#3 <ana> vamos a la playa"}));
  ASSERT_TRUE(bob.send("/history since 6"));
  EXPECT_EQ(unstamped(page(bob, 2)),
            (std::vector<std::string>{"* 2 lines in general:", "#7 * guest-1 joined general",
                                      "#8 * guest-1 is now known as bob"}));
  ASSERT_TRUE(bob.send("/history 1h"));
  EXPECT_EQ(bob.raw_line(), "* 8 lines in general:");
  for (int i = 1; i <= 8; ++i) EXPECT_TRUE(bob.raw_line().starts_with("#" + std::to_string(i) + " ["));
  expect_all_quiet();
}

TEST_F(ChatHistoryDb, BadHistoryAndSearchArgumentsAreExplained) {
  start({"--history-db", db()});
  auto& ana = login("ana");
  for (const std::string bad : {"/history 0", "/history 201", "/history -1", "/history 5x", "/history since",
                                "/history since x", "/history 3 4", "/history 0h", "/history 367d"}) {
    ASSERT_TRUE(ana.send(bad));
    EXPECT_TRUE(ana.next().starts_with("error: usage: /history [N | 1h | since ID]")) << bad;
  }
  ASSERT_TRUE(ana.send("/search"));
  EXPECT_EQ(ana.next(), "error: usage: /search WORDS (up to 200 characters)");
  ASSERT_TRUE(ana.send("/search " + std::string(201, 'a')));
  EXPECT_EQ(ana.next(), "error: usage: /search WORDS (up to 200 characters)");
  ASSERT_TRUE(ana.send("/search \"* OR NEAR("));  // FTS5 syntax is taken as words
  EXPECT_EQ(ana.next(), "* nothing in general has '\"* OR NEAR('");
  expect_all_quiet();
}

TEST_F(ChatHistoryDb, WithoutAStoreHistoryIsRefusedWithTheReason) {
  start({"--history-db", "none", "--history", "7"});
  auto& ana = login("ana");
  for (const std::string command : {"/history", "/search hola"}) {
    ASSERT_TRUE(ana.send(command));
    EXPECT_EQ(ana.next(),
              "error: this server keeps no history beyond the last 7 lines of each room (it runs with "
              "--history-db none)");
  }
}

TEST_F(ChatHistoryDb, BadStoreOptionsNameTheOption) {
  for (const auto& [flag, value, says] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--history-keep", "30x", "--history-keep: '30x': unknown time unit 'x'"},
           {"--history-window", "soon", "--history-window: 'soon' is not a duration"},
           {"--history-sync", "sometimes", "--history-sync: sometimes not in {batch,full}"}}) {
    const auto r = run_enchufe({"serve", "chat", "--host", "127.0.0.1", "--port", "0", "--history-db", db(), flag,
                                value});
    EXPECT_TRUE(r.exited_with(2) || r.exited_with(1)) << r;
    EXPECT_NE(r.err.find(says), std::string::npos) << r;
  }
}

// ---- what a kill -9 may lose ---------------------------------------------------------

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Received {
  std::string text;
  SteadyClock::time_point at;
};

// Every stored line's text in general said by `speaker`, read back with /history since, a
// page at a time, by a new member.
std::set<std::string> stored_texts(ChatClient& reader, const std::string& speaker = "ana") {
  const std::string said_by = "<" + speaker + "> ";
  std::set<std::string> texts;
  std::uint64_t after = 0;
  for (;;) {
    EXPECT_TRUE(reader.send("/history since " + std::to_string(after)));
    const std::string header = reader.raw_line();
    if (header.find("no lines in general since then") != std::string::npos) return texts;
    const auto count = std::stoul(header.substr(2));  // "* 200 lines in general:"
    for (std::size_t i = 0; i < count; ++i) {
      const std::string line = reader.raw_line();
      after = std::stoull(line.substr(1));
      if (const auto said = line.find(said_by); said != std::string::npos) {
        texts.insert(line.substr(said + said_by.size()));
      }
    }
    if (count == 200) {  // a full page says how to go on
      EXPECT_TRUE(reader.raw_line().starts_with("* more follow"));
    }
  }
}

}  // namespace

class ChatHistoryKill : public ChatHistoryDb {
 protected:
  // ana talks without pause while bob listens; the server is killed (-9)
  // after `talk`. Returns what bob received, and when.
  // `pace`: a pause of 1 ms after every `pace` lines.
  std::vector<Received> talk_then_kill(std::chrono::milliseconds talk, int pace) {
    auto& ana = login("ana");
    // bob: not login(), which checks every notice in order; with
    // --history-sync full a notice may reach him late (once it is written).
    auto bob_client = ChatClient::connect(port());
    auto& bob = *bob_client;
    bob.read_welcome();
    EXPECT_TRUE(bob.send("bob"));
    EXPECT_TRUE(bob.wait_for("* you are bob now"));
    std::vector<Received> received;
    std::atomic<bool> stop{false};
    std::thread listener([&] {
      while (!stop) {
        const std::string line = bob.next(200ms);
        if (line.starts_with("[t] <ana> ")) received.push_back({line.substr(10), SteadyClock::now()});
      }
    });
    const auto until = SteadyClock::now() + talk;
    for (int i = 0; i < 20'000 && SteadyClock::now() < until; ++i) {
      if (!ana.send("k" + std::to_string(i))) break;
      if (i % pace == 0) std::this_thread::sleep_for(1ms);
    }
    server().process().send_signal(SIGKILL);
    std::this_thread::sleep_for(300ms);  // bob reads what is still in flight
    stop = true;
    listener.join();
    forget(ana);
    return received;
  }
};

TEST_F(ChatHistoryKill, FullSyncLosesNoLineAnyoneSaw) {
  // A long window, which full sync must not wait for: a line that went out
  // before its commit would then be lost to the kill.
  const std::vector<std::string> flags{"--history-db", db(), "--history-sync", "full", "--history-window", "10s",
                                       "--history", "0", "--flood-rate", "1000000", "--flood-burst", "1000000"};
  start(flags);
  const auto received = talk_then_kill(500ms, 50);  // the writer has lines to catch up with
  ASSERT_GT(received.size(), 50u) << "too few lines to tell";
  start(flags);
  auto& reader = login("cy");
  const auto stored = stored_texts(reader);
  std::size_t missing = 0;
  for (const auto& r : received) missing += stored.count(r.text) == 0;
  EXPECT_EQ(missing, 0u) << "of " << received.size() << " lines bob saw; " << stored.size() << " stored";
}

TEST_F(ChatHistoryKill, BatchLosesNothingOlderThanTheWindow) {
  const std::vector<std::string> flags{"--history-db", db(), "--history", "0", "--flood-rate", "1000000",
                                       "--flood-burst", "1000000"};
  start(flags);
  const auto killed_at = SteadyClock::now() + 2500ms;
  const auto received = talk_then_kill(2500ms, 2);  // steady, not a flood
  ASSERT_GT(received.size(), 50u) << "too few lines to tell";
  start(flags);
  auto& reader = login("cy");
  const auto stored = stored_texts(reader);
  // The window is 50 ms; a second covers a slow (sanitizer) build's commit.
  std::size_t old = 0, missing = 0;
  for (const auto& r : received) {
    if (r.at > killed_at - 1s) continue;
    ++old;
    missing += stored.count(r.text) == 0;
  }
  ASSERT_GT(old, 50u) << "too few lines to tell";
  EXPECT_EQ(missing, 0u) << "of " << old << " lines seen over a second before the kill";
}

// A full disk never stops the chat: the store warns once, the lines wait in
// its queue, and once there is room again they are written. The disk is a
// 4 MiB tmpfs, nearly filled, in a private mount namespace (root only).
TEST_F(ChatHistoryDb, AFullDiskDoesNotStopTheChatAndWritingRecovers) {
  const std::string disk = (dir_.path / "disk").string();
  std::filesystem::create_directories(disk);
  const std::string script = "mount -t tmpfs -o size=4m tmpfs '" + disk + "' && head -c 3900k /dev/zero > '" + disk +
                             "/filler' && exec '" + enchufe_binary() +
                             "' serve chat --host 127.0.0.1 --port 0 --no-web --threads 2 --history 0 --flood-rate "
                             "1000000 --flood-burst 1000000 --metrics 127.0.0.1:0 --history-db '" + disk + "/chat.db'";
  Process chat("/usr/bin/unshare", {"-m", "--propagation", "private", "sh", "-c", script});
  const auto listening = chat.read_stdout_line(10'000ms);
  if (!listening && chat.wait_exit(2000ms)) {
    GTEST_SKIP() << "no private mount namespace here (root needed): " << chat.stderr_text();
  }
  ASSERT_TRUE(listening && listening->starts_with("listening: chat tcp 127.0.0.1:")) << chat.diagnostics();
  const auto chat_port = static_cast<std::uint16_t>(std::stoi(listening->substr(listening->rfind(':') + 1)));
  const auto metrics_line = chat.read_stdout_line(10'000ms);
  ASSERT_TRUE(metrics_line && metrics_line->starts_with("listening: metrics tcp 127.0.0.1:")) << chat.diagnostics();
  const auto metrics_port = static_cast<std::uint16_t>(std::stoi(metrics_line->substr(metrics_line->rfind(':') + 1)));
  auto ana = ChatClient::connect(chat_port);
  auto bob = ChatClient::connect(chat_port);
  ana->read_welcome();
  bob->read_welcome();
  const std::string padding(1000, 'p');
  constexpr int kLines = 300;  // 300 KB: more than the disk has left
  for (int i = 0; i < kLines; ++i) ASSERT_TRUE(ana->send("linea " + std::to_string(i) + " " + padding));
  // Everyone is still served, every line.
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE(bob->wait_for_prefix("[", kIo).find("linea " + std::to_string(i) + " ") != std::string::npos) << i;
  }
  ASSERT_TRUE(chat.wait_stderr_contains("history: writing to " + disk + "/chat.db failed", 10'000ms))
      << chat.diagnostics();
  // The metrics say so too: failing, the lines waiting for the disk.
  const std::string full = scrape_until(metrics_port, "enchufe_chat_history_failing", 1);
  EXPECT_GT(metric(full, "enchufe_chat_history_waiting"), 0) << full;
  // Room again (seen from outside through the server's own root).
  ASSERT_TRUE(std::filesystem::remove("/proc/" + std::to_string(chat.pid()) + "/root" + disk + "/filler"));
  ASSERT_TRUE(chat.wait_stderr_contains("history: writing to " + disk + "/chat.db works again", 10'000ms))
      << chat.diagnostics();
  scrape_until(metrics_port, "enchufe_chat_history_failing", 0);
  const std::string recovered = scrape_until(metrics_port, "enchufe_chat_history_waiting", 0);
  EXPECT_EQ(metric(recovered, "enchufe_chat_history_not_stored_total"), 0) << recovered;
  EXPECT_EQ(stored_texts(*bob, "guest-1").size(), static_cast<std::size_t>(kLines));
  chat.send_signal(SIGTERM);
  const auto status = chat.wait_exit(10'000ms);
  EXPECT_TRUE(status && status->is_exit_code(0)) << chat.diagnostics();
}
