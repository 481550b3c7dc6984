// `enchufe chat-export`: what a running chat server keeps in its history
// file comes out in order, as the web's JSON events or as text, while the
// server goes on serving (and writing); --room, --since, --private and the
// default file select; every unusable file or bad option is one line with
// its exit code.

#include "chat/chat_client.hpp"
#include "support/files.hpp"
#include "support/history_file.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

using namespace enchufe::test;
using namespace enchufe::test::chat;

namespace {

namespace json = boost::json;

RunResult chat_export(std::vector<std::string> args, RunOptions options = {}) {
  args.insert(args.begin(), "chat-export");
  return run_enchufe(args, std::move(options));
}

// The lines `enchufe chat-export ARGS` prints, once they are at least
// `count` (for up to 3 s: the server writes a line within its commit window
// after it sent it). Every run must succeed.
std::vector<std::string> export_lines(const std::vector<std::string>& args, std::size_t count = 0,
                                      const std::vector<std::string>& env = {}) {
  const auto deadline = Clock::now() + 3s;
  for (;; std::this_thread::sleep_for(20ms)) {
    const auto r = chat_export(args, {.env = env});
    EXPECT_TRUE(r.exited_with(0) && r.err.empty()) << r;
    auto lines = split_lines(r.out);
    if (lines.size() >= count || Clock::now() > deadline || !r.exited_with(0)) return lines;
  }
}

class ChatExport : public ChatTest {
 protected:
  TempDir dir_;
  std::string db() const { return (dir_.path / "chat.db").string(); }

  // A server keeping its history in db(), private messages too.
  void start_storing(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--history-db", db(), "--store-private"};
    args.insert(args.end(), extra.begin(), extra.end());
    start(args);
  }
  // export_lines() of db().
  std::vector<std::string> exported(std::vector<std::string> args = {}, std::size_t count = 0) {
    args.insert(args.begin(), {"--db", db()});
    return export_lines(args, count);
  }
};

// Each line of a jsonl export as JSON without its "ts" (checked to be there
// and UTC): what remains is the same on every run.
std::vector<std::string> events(const std::vector<std::string>& lines) {
  static const std::regex utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<std::string> out;
  for (const auto& line : lines) {
    boost::system::error_code error;
    auto value = json::parse(line, error);
    if (error || !value.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << line;
      continue;
    }
    auto& event = value.as_object();
    const auto* ts = event.if_contains("ts");
    EXPECT_TRUE(ts != nullptr && ts->is_string() && std::regex_match(std::string(ts->as_string()), utc)) << line;
    event.erase("ts");
    out.push_back(json::serialize(event));
  }
  return out;
}

// A txt line with "T" for its leading UTC time (checked to be one).
std::vector<std::string> unstamped(const std::vector<std::string>& lines) {
  static const std::regex stamped(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*))");
  std::vector<std::string> out;
  for (const auto& line : lines) {
    std::smatch m;
    out.push_back(std::regex_match(line, m, stamped) ? "T " + m[1].str() : "<no time> " + line);
  }
  return out;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_F(ChatExport, WhatARunningServerKeepsComesOutInOrderInBothFormats) {
  start_storing();
  auto& ana = login("ana");
  auto& bob = login("bob");
  ASSERT_TRUE(ana.send("hola a todos"));
  EXPECT_EQ(bob.next(), "[t] <ana> hola a todos");
  ASSERT_TRUE(bob.send("/me saluda"));
  EXPECT_EQ(ana.next(), "[t] * bob saluda");
  ASSERT_TRUE(ana.send("/msg bob psst"));
  EXPECT_EQ(bob.next(), "[t] *ana* psst");
  EXPECT_EQ(ana.next(), "[t] -> *bob* psst");
  ASSERT_TRUE(ana.send("\"adiós\" <b>"));
  EXPECT_EQ(bob.next(), "[t] <ana> \"adiós\" <b>");

  EXPECT_EQ(events(exported({"--private"}, 8)),
            (std::vector<std::string>{
                R"({"type":"notice","room":"general","id":1,"nick":"guest-1","what":"joined","text":"guest-1 joined general"})",
                R"({"type":"notice","room":"general","id":2,"nick":"guest-1","to":"ana","what":"renamed","text":"guest-1 is now known as ana"})",
                R"({"type":"notice","room":"general","id":3,"nick":"guest-2","what":"joined","text":"guest-2 joined general"})",
                R"({"type":"notice","room":"general","id":4,"nick":"guest-2","to":"bob","what":"renamed","text":"guest-2 is now known as bob"})",
                R"({"type":"message","room":"general","id":5,"nick":"ana","text":"hola a todos"})",
                R"({"type":"action","room":"general","id":6,"nick":"bob","text":"saluda"})",
                R"({"type":"message","room":"general","id":7,"nick":"ana","text":"\"adiós\" <b>"})",
                R"({"type":"private","nick":"ana","to":"bob","text":"psst"})",
            }));
  EXPECT_EQ(unstamped(exported({"--format", "txt", "--private"})), (std::vector<std::string>{
                                                                       "T general * guest-1 joined general",
                                                                       "T general * guest-1 is now known as ana",
                                                                       "T general * guest-2 joined general",
                                                                       "T general * guest-2 is now known as bob",
                                                                       "T general <ana> hola a todos",
                                                                       "T general * bob saluda",
                                                                       "T general <ana> \"adiós\" <b>",
                                                                       "T *ana* -> *bob* psst",
                                                                   }));
  EXPECT_EQ(exported().size(), 7u) << "private messages only with --private";

  // The export took nothing from the server: it still serves and stores.
  ASSERT_TRUE(ana.send("sigo aquí"));
  EXPECT_EQ(bob.next(), "[t] <ana> sigo aquí");
  const auto after = exported({"--format", "txt"}, 8);
  ASSERT_EQ(after.size(), 8u);
  EXPECT_EQ(unstamped({after.back()}).front(), "T general <ana> sigo aquí");
}

// Exports while a client floods the room and the server commits batch
// after batch: each is a snapshot, every room line from 1 without a gap, and
// the server loses nothing meanwhile.
TEST_F(ChatExport, ExportsDuringAFloodAreEachAConsistentSnapshot) {
  start_storing({"--flood-rate", "100000", "--flood-burst", "100000"});
  auto& ana = login("ana");
  auto& bob = login("bob");
  constexpr std::size_t kNotices = 4;  // ana's and bob's joined and renamed
  std::size_t sent = 0;
  const auto check_snapshot = [&] {
    const auto lines = events(exported());  // as far as the server has written
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto event = json::parse(lines[i]).as_object();
      ASSERT_EQ(event.at("id").to_number<std::size_t>(), i + 1) << lines[i];
      if (i >= kNotices) {
        ASSERT_EQ(event.at("text").as_string(), "n" + std::to_string(i + 1 - kNotices)) << lines[i];
      }
    }
  };
  for (int chunk = 0; chunk < 20; ++chunk) {
    std::string lines;
    for (int i = 0; i < 100; ++i) lines += "n" + std::to_string(++sent) + "\n";
    ASSERT_TRUE(ana.send_raw(lines));
    check_snapshot();
  }
  for (std::size_t i = 1; i <= sent; ++i) ASSERT_EQ(bob.next(), "[t] <ana> n" + std::to_string(i));
  EXPECT_EQ(exported({}, kNotices + sent).size(), kNotices + sent);
}

TEST_F(ChatExport, RoomIsMatchedWhateverItsCase) {
  start_storing();
  auto& ana = login("ana");
  auto& bob = login("bob");
  move(ana, "Dev");
  move(bob, "Dev");
  ASSERT_TRUE(ana.send("/me programa"));
  EXPECT_EQ(bob.next(), "[t] * ana programa");
  ASSERT_EQ(exported({}, 9).size(), 9u) << "general's 6 notices (joined, renamed, left) and Dev's 3 lines";
  const std::vector<std::string> dev{"T Dev * ana joined Dev", "T Dev * bob joined Dev", "T Dev * ana programa"};
  EXPECT_EQ(unstamped(exported({"--room", "dev", "--format", "txt"})), dev);
  EXPECT_EQ(unstamped(exported({"--room", "#DEV", "--format", "txt"})), dev);
  const auto general = unstamped(exported({"--room", "General", "--format", "txt"}));
  EXPECT_EQ(general.size(), 6u);
  for (const auto& line : general) EXPECT_TRUE(line.starts_with("T general * ")) << line;
}

TEST_F(ChatExport, SinceTakesADateATimeOrASpan) {
  {
    HistoryFile file(db());
    const auto room = file.room("general", "general");
    file.line(room, 1, 981'158'399'999, kMessage, "ana", "2001-02-02 23:59:59.999");
    file.line(room, 2, 981'158'400'000, kMessage, "ana", "2001-02-03 00:00");
    file.line(room, 3, 981'201'600'000, kMessage, "ana", "2001-02-03 12:00");
    file.line(room, 4, now_ms() - 2 * 3600'000, kMessage, "ana", "two hours ago");
    file.line(room, 5, now_ms() - 60'000, kMessage, "ana", "a minute ago");
    file.private_line(981'201'600'000, "ana", "bob", "psst at noon");
  }
  const auto texts = [&](const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const auto& event : events(exported(args))) out.emplace_back(json::parse(event).at("text").as_string());
    return out;
  };
  EXPECT_EQ(texts({"--since", "2001-02-03"}),
            (std::vector<std::string>{"2001-02-03 00:00", "2001-02-03 12:00", "two hours ago", "a minute ago"}));
  EXPECT_EQ(texts({"--since", "2001-02-03T12:00:00Z", "--private"}),
            (std::vector<std::string>{"2001-02-03 12:00", "two hours ago", "a minute ago", "psst at noon"}));
  EXPECT_EQ(texts({"--since", "2001-02-03T12:00:00.001Z"}),
            (std::vector<std::string>{"two hours ago", "a minute ago"}));
  EXPECT_EQ(texts({"--since", "2001-02-03T12:30+01:00"}),
            (std::vector<std::string>{"2001-02-03 12:00", "two hours ago", "a minute ago"}));
  EXPECT_EQ(texts({"--since", "1h"}), (std::vector<std::string>{"a minute ago"}));
  EXPECT_EQ(texts({"--since", "3h"}), (std::vector<std::string>{"two hours ago", "a minute ago"}));
}

// The same default file as the server's: $XDG_STATE_HOME/enchufe/chat.db,
// else ~/.local/state/enchufe/chat.db.
TEST_F(ChatExport, WithoutDbItReadsTheServersDefaultFile) {
  for (const std::vector<std::string>& env :
       {std::vector<std::string>{"XDG_STATE_HOME=" + dir_.path.string()},
        std::vector<std::string>{"XDG_STATE_HOME", "HOME=" + dir_.path.string()}}) {
    server_.emplace(Server::start("chat", {"-q"}, {.spawn = {.env = env}}));
    auto& ana = login("ana");
    auto& bob = login("bob");
    ASSERT_TRUE(ana.send("/me está en casa"));
    EXPECT_EQ(bob.next(), "[t] * ana está en casa");
    const auto lines = unstamped(export_lines({"--format", "txt"}, 5, env));
    EXPECT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines.empty() ? "" : lines.back(), "T general * ana está en casa") << env.back();
    ASSERT_TRUE(server().stop());
    forget(ana);
    forget(bob);
  }
  EXPECT_TRUE(std::filesystem::exists(dir_.path / "enchufe/chat.db"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path / ".local/state/enchufe/chat.db"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path / ".local/state/enchufe/chat.db"));
}

// Every failure is one line on stderr, nothing on stdout: 1 for a file that
// cannot be exported, 2 for a bad option.
TEST_F(ChatExport, EveryErrorIsOneLineWithItsExitCode) {
  const auto expect_error = [](const RunResult& r, int code, const std::string& first_line) {
    EXPECT_TRUE(r.exited_with(code)) << r;
    EXPECT_EQ(r.out, "") << r;
    const auto lines = split_lines(r.err);
    EXPECT_EQ(lines.empty() ? "" : lines.front(), first_line) << r;
    EXPECT_EQ(lines.size(), code == 1 ? 1u : 2u) << "a usage error adds its --help hint\n" << r;
  };
  const std::string missing = (dir_.path / "missing.db").string();
  expect_error(chat_export({"--db", missing}), 1,
               "enchufe chat-export: " + missing + ": no such file (give the server's --history-db file with --db)");
  EXPECT_FALSE(std::filesystem::exists(missing)) << "the export created it";

  const auto notes = dir_.path / "notes.txt";
  std::ofstream(notes) << std::string(2048, 'n');
  expect_error(chat_export({"--db", notes.string()}), 1,
               "enchufe chat-export: " + notes.string() + ": not an SQLite database, or a damaged one");
  EXPECT_EQ(read_file(notes), std::string(2048, 'n'));

  const std::string other = (dir_.path / "other.db").string();
  SQLite::Database(other, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE).exec("CREATE TABLE recetas (nombre TEXT)");
  expect_error(chat_export({"--db", other}), 1,
               "enchufe chat-export: " + other + ": not an enchufe chat history (it has no rooms and lines tables)");

  {
    HistoryFile file(db());
    file.line(file.room("general", "general"), 1, now_ms(), kMessage, "ana", "hola");
    file.room("Dev", "dev");
  }
  expect_error(chat_export({"--db", db(), "--room", "nadie"}), 1,
               "enchufe chat-export: " + db() + ": no room nadie (its rooms: Dev, general)");
  // A full disk must not pass for a complete export.
  expect_error(run_program("/bin/sh", {"-c", "exec \"$0\" chat-export --db \"$1\" >/dev/full", enchufe_binary(), db()}),
               1, "enchufe chat-export: writing the export failed: No space left on device");
  SQLite::Database(db(), SQLite::OPEN_READWRITE).exec("PRAGMA user_version = 4");
  expect_error(chat_export({"--db", db()}), 1,
               "enchufe chat-export: " + db() +
                   ": written by a newer enchufe (history schema 4; this one reads up to 3)");

  expect_error(chat_export({"--db", db(), "--since", "yesterday"}), 2,
               "enchufe: --since yesterday: not a time; give a date (2026-12-01), a UTC time (2026-12-01T12:00:00Z) "
               "or a span back from now (30m, 1h, 7d)");
  expect_error(chat_export({"--db", db(), "--since", "2026-02-30"}), 2,
               "enchufe: --since 2026-02-30: no such date or time (years 1970 to 2200, hours 00-23, minutes 00-59)");
  expect_error(chat_export({"--db", db(), "--room", "a b"}), 2,
               "enchufe: --room a b: not a room name (1-32 ASCII letters, digits, '_', '-' or '.')");
  expect_error(chat_export({"--db", db(), "--format", "csv"}), 2,
               "--format: csv not in {jsonl,txt}");
  expect_error(chat_export({}, {.env = {"XDG_STATE_HOME", "HOME"}}), 2,
               "enchufe: chat-export: --db: no default (neither XDG_STATE_HOME nor HOME is set); give the file");
}
