// Reading a history file back out (chat-export): rows become the server's
// own ChatLines, room by room (by name) and oldest first, then the private
// ones; --room, --since and --private select; the JSON is the web event of
// the same line; one read snapshot; every unusable file is refused with a
// line naming it. And the --since parser.

#include "services/chat/history_export.hpp"

#include "net/errors.hpp"
#include "services/chat/since.hpp"
#include "services/chat/sqlite_history.hpp"
#include "support/files.hpp"
#include "support/history_file.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <string>
#include <vector>

namespace enchufe::services::chat {
namespace {

using namespace std::chrono;
using test::HistoryFile;
using test::TempDir;

// 2026-12-01 12:04:05.123 UTC
constexpr std::int64_t kT0 = 1'796'126'645'123;
const auto kTime = system_clock::time_point(milliseconds(kT0));

class HistoryExport : public ::testing::Test {
 protected:
  TempDir dir_;
  const std::string path_ = (dir_.path / "chat.db").string();

  // The export as text lines.
  std::vector<std::string> exported(const ExportSelection& selection = {}) {
    std::vector<std::string> out;
    export_history(path_, selection, [&](const ChatLine& line) { out.push_back(export_text(line)); });
    return out;
  }
  // What exporting `path` fails with ("" if it does not).
  static std::string failure(const std::string& path, const ExportSelection& selection = {}) {
    try {
      export_history(path, selection, [](const ChatLine&) {});
    } catch (const std::runtime_error& e) {  // UsageError and RuntimeError
      return e.what();
    }
    return {};
  }
};

TEST_F(HistoryExport, RoomsComeByNameEachOldestFirst) {
  HistoryFile file(path_);
  const auto general = file.room("general", "general");
  const auto dev = file.room("Dev", "dev");
  const auto otra = file.room("Otra", "otra");  // after general: by name whatever the case
  // Written out of order: the export orders them.
  file.line(otra, 1, kT0, test::kMessage, "cy", "en otra");
  file.line(general, 2, kT0 + 2000, test::kMessage, "ana", "hola");
  file.line(general, 1, kT0 + 1000, test::kNotice, "ana", "ana joined general", test::kJoined);
  file.line(dev, 1, kT0 + 3000, test::kAction, "bob", "waves");
  file.line(general, 3, kT0 + 4000, test::kNotice, "ana", "ana is now known as ana2", test::kRenamed, "ana2");
  EXPECT_EQ(exported(), (std::vector<std::string>{
                            "2026-12-01T12:04:08.123Z Dev * bob waves",
                            "2026-12-01T12:04:06.123Z general * ana joined general",
                            "2026-12-01T12:04:07.123Z general <ana> hola",
                            "2026-12-01T12:04:09.123Z general * ana is now known as ana2",
                            "2026-12-01T12:04:05.123Z Otra <cy> en otra",
                        }));
}

// Each stored line is exported as the very event the web page got for it.
TEST_F(HistoryExport, JsonIsTheWebEventOfTheSameLine) {
  std::vector<std::shared_ptr<ChatLine>> said = {
      said_line(LineKind::message, "general", "ana", "<b>\"hola\"</b> ñandú"),
      said_line(LineKind::action, "general", "ana", "waves"),
      notice_line("general", NoticeWhat::joined, "bob", {}, "bob joined general"),
      notice_line("general", NoticeWhat::renamed, "bob", "rob", "bob is now known as rob"),
      notice_line("general", NoticeWhat::left, "rob", {}, "rob left (quit)"),
      private_line(LineKind::private_message, "ana", "rob", "psst"),
  };
  {
    HistoryFile file(path_);
    const auto room = file.room("general", "general");
    for (std::size_t i = 0; i < said.size(); ++i) {
      auto& line = *said[i];
      line.time = kTime + milliseconds(i);
      if (line.kind == LineKind::private_message) {
        file.private_line(kT0 + static_cast<std::int64_t>(i), line.nick, line.to, line.text);
      } else {
        line.id = i + 1;
        file.line(room, static_cast<std::int64_t>(line.id), kT0 + static_cast<std::int64_t>(i),
                  static_cast<int>(line.kind), line.nick, line.text, static_cast<int>(line.what), line.to);
      }
      encode(line, {});
    }
  }
  std::vector<std::string> json;
  export_history(path_, {.private_lines = true}, [&](const ChatLine& line) { json.push_back(export_json(line)); });
  ASSERT_EQ(json.size(), said.size());
  for (std::size_t i = 0; i < said.size(); ++i) EXPECT_EQ(json[i], said[i]->as_json) << i;
}

TEST(HistoryExportFormats, OneTextLineEach) {
  auto line = said_line(LineKind::message, "general", "ana", "hola");
  line->time = kTime;
  EXPECT_EQ(export_text(*line), "2026-12-01T12:04:05.123Z general <ana> hola");
  line->kind = LineKind::action;
  EXPECT_EQ(export_text(*line), "2026-12-01T12:04:05.123Z general * ana hola");
  auto notice = notice_line("general", NoticeWhat::joined, "ana", {}, "ana joined general");
  notice->time = kTime;
  EXPECT_EQ(export_text(*notice), "2026-12-01T12:04:05.123Z general * ana joined general");
  auto whisper = private_line(LineKind::private_message, "ana", "bob", "psst");
  whisper->time = kTime;
  EXPECT_EQ(export_text(*whisper), "2026-12-01T12:04:05.123Z *ana* -> *bob* psst");
  EXPECT_EQ(export_json(*whisper),
            R"({"type":"private","nick":"ana","to":"bob","text":"psst","ts":"2026-12-01T12:04:05.123Z"})");
}

TEST_F(HistoryExport, ARoomIsMatchedWhateverItsCase) {
  HistoryFile file(path_);
  const auto general = file.room("General", "general");
  const auto dev = file.room("dev", "dev");
  file.line(general, 1, kT0, test::kMessage, "ana", "en general");
  file.line(dev, 1, kT0, test::kMessage, "ana", "en dev");
  const std::vector<std::string> only_general{"2026-12-01T12:04:05.123Z General <ana> en general"};
  EXPECT_EQ(exported({.room = "general"}), only_general);
  EXPECT_EQ(exported({.room = "GENERAL"}), only_general);
  EXPECT_EQ(exported({.room = "#General"}), only_general);
  EXPECT_EQ(exported({.room = "DEV"}), (std::vector<std::string>{"2026-12-01T12:04:05.123Z dev <ana> en dev"}));
}

TEST_F(HistoryExport, AnUnknownRoomIsRefusedNamingTheRoomsThereAre) {
  HistoryFile file(path_);
  EXPECT_EQ(failure(path_, {.room = "nadie"}), path_ + ": no room nadie (it has no rooms)");
  file.room("general", "general");
  file.room("Dev", "dev");
  EXPECT_EQ(failure(path_, {.room = "nadie"}), path_ + ": no room nadie (its rooms: Dev, general)");
  for (int i = 0; i < 10; ++i) file.room("r" + std::to_string(i), "r" + std::to_string(i));
  EXPECT_EQ(failure(path_, {.room = "nadie"}),
            path_ + ": no room nadie (its rooms: Dev, general, r0, r1, r2, r3, r4, r5, r6, r7 and 2 more)");
}

TEST_F(HistoryExport, ARoomThatCannotBeANameIsAUsageError) {
  HistoryFile file(path_);
  EXPECT_THROW(exported({.room = "a b"}), UsageError);
  EXPECT_EQ(failure(path_, {.room = "a b"}),
            "--room a b: not a room name (1-32 ASCII letters, digits, '_', '-' or '.')");
  // Checked before the file: it is the same mistake whatever is on disk.
  EXPECT_THROW(exported({.room = std::string(33, 'x')}), UsageError);
  EXPECT_EQ(failure((dir_.path / "missing.db").string(), {.room = "#"}).rfind("--room #: not a room name", 0), 0u);
}

TEST_F(HistoryExport, SinceKeepsTheLinesSaidAtOrAfterIt) {
  HistoryFile file(path_);
  const auto room = file.room("general", "general");
  file.line(room, 1, kT0 - 1, test::kMessage, "ana", "antes");
  file.line(room, 2, kT0, test::kMessage, "ana", "justo");
  file.line(room, 3, kT0 + 1, test::kMessage, "ana", "después");
  file.private_line(kT0 - 1, "ana", "bob", "antes");
  file.private_line(kT0, "ana", "bob", "justo");
  EXPECT_EQ(exported({.since = kTime, .private_lines = true}), (std::vector<std::string>{
                                                                   "2026-12-01T12:04:05.123Z general <ana> justo",
                                                                   "2026-12-01T12:04:05.124Z general <ana> después",
                                                                   "2026-12-01T12:04:05.123Z *ana* -> *bob* justo",
                                                               }));
  // A fraction of a millisecond after a line's stamp is after that line.
  EXPECT_EQ(exported({.since = kTime + microseconds(1)}).size(), 1u);
}

TEST_F(HistoryExport, PrivateMessagesOnlyWhenAskedAfterTheRoomsInTheOrderSaid) {
  HistoryFile file(path_);
  const auto room = file.room("general", "general");
  file.line(room, 1, kT0 + 5000, test::kMessage, "ana", "hola");
  file.private_line(kT0 + 2000, "ana", "bob", "primero");
  file.private_line(kT0 + 1000, "bob", "ana", "segundo");  // a clock that stepped back: still said second
  EXPECT_EQ(exported(), (std::vector<std::string>{"2026-12-01T12:04:10.123Z general <ana> hola"}));
  const std::vector<std::string> everything{
      "2026-12-01T12:04:10.123Z general <ana> hola",
      "2026-12-01T12:04:07.123Z *ana* -> *bob* primero",
      "2026-12-01T12:04:06.123Z *bob* -> *ana* segundo",
  };
  EXPECT_EQ(exported({.private_lines = true}), everything);
  EXPECT_EQ(exported({.room = "general", .private_lines = true}), everything);
}

TEST_F(HistoryExport, ASchemaOneFileHasNoPrivateMessages) {
  HistoryFile file(path_, R"sql(
    CREATE TABLE rooms (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
    CREATE TABLE lines (room INTEGER NOT NULL, id INTEGER NOT NULL, time_ms INTEGER NOT NULL, kind INTEGER NOT NULL,
                        what INTEGER NOT NULL, nick TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL,
                        PRIMARY KEY (room, id)) WITHOUT ROWID;
    PRAGMA user_version = 1;)sql");
  file.line(file.room("general", "general"), 1, kT0, test::kMessage, "ana", "hola");
  EXPECT_EQ(exported({.private_lines = true}),
            (std::vector<std::string>{"2026-12-01T12:04:05.123Z general <ana> hola"}));
}

// What the file holds reaches a terminal: a line from elsewhere than the
// server cannot break the one-line-per-line form nor drive the terminal.
TEST_F(HistoryExport, StoredTextIsSanitised) {
  HistoryFile file(path_);
  file.line(file.room("general", "general"), 1, kT0, test::kMessage, "a\x1b[2Jna", "uno\ndos\x1b]0;x\x07");
  EXPECT_EQ(exported(), (std::vector<std::string>{"2026-12-01T12:04:05.123Z general <a^[[2Jna> uno^Jdos^[]0;x^G"}));
}

TEST_F(HistoryExport, AKindThisBuildDoesNotKnowIsRefused) {
  HistoryFile file(path_);
  file.line(file.room("general", "general"), 4, kT0, 9, "ana", "hola");
  EXPECT_EQ(failure(path_), path_ + ": line 4 of room general has an unknown kind 9");
}

// The server commits while the export reads: the export is the file as it
// was when reading began, rooms and private messages alike.
TEST_F(HistoryExport, TheExportIsOneSnapshot) {
  HistoryFile file(path_);
  const auto room = file.room("general", "general");
  file.line(room, 1, kT0, test::kMessage, "ana", "uno");
  std::vector<std::string> seen;
  export_history(path_, {.private_lines = true}, [&](const ChatLine& line) {
    if (seen.empty()) {
      file.line(room, 2, kT0, test::kMessage, "ana", "dos");
      file.private_line(kT0, "ana", "bob", "psst");
    }
    seen.push_back(line.text);
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"uno"}));
  EXPECT_EQ(exported({.private_lines = true}).size(), 3u) << "the writes did happen";
}

// The server's own store writes, and holds its lock on the file, while the
// export reads: the export needs neither the lock nor the store to stop.
TEST_F(HistoryExport, ReadsWhatTheServersStoreWritesWhileItRuns) {
  SqliteHistory store({.path = path_, .store_private = true});
  for (std::uint64_t id = 1; id <= 3; ++id) {
    auto line = said_line(LineKind::message, "General", "ana", "l" + std::to_string(id));
    line->id = id;
    line->time = kTime;
    store.append(line);
  }
  auto whisper = private_line(LineKind::private_message, "ana", "bob", "psst");
  whisper->time = kTime;
  store.append(whisper);
  store.wait_written();
  EXPECT_EQ(exported({.room = "general", .private_lines = true}), (std::vector<std::string>{
                                                                      "2026-12-01T12:04:05.123Z General <ana> l1",
                                                                      "2026-12-01T12:04:05.123Z General <ana> l2",
                                                                      "2026-12-01T12:04:05.123Z General <ana> l3",
                                                                      "2026-12-01T12:04:05.123Z *ana* -> *bob* psst",
                                                                  }));
  auto more = said_line(LineKind::message, "General", "ana", "l4");
  more->id = 4;
  store.append(more);
  store.wait_written();
  EXPECT_EQ(exported().size(), 4u) << "the store still writes after an export";
}

// Read-only, even when nobody else has the file open: a reader that could
// write would, as its last user, move the log's lines into it on closing.
TEST_F(HistoryExport, TheFileIsNeverWritten) {
  {
    HistoryFile file(path_);
    file.line(file.room("general", "general"), 1, kT0, test::kMessage, "ana", "hola");
    // Closed as a killed server leaves it: the lines still in the log.
    sqlite3_db_config(file.db.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }
  const auto log = path_ + "-wal";
  const auto file_before = test::read_file(path_), log_before = test::read_file(log);
  ASSERT_FALSE(log_before.empty());
  EXPECT_EQ(exported().size(), 1u);
  EXPECT_EQ(test::read_file(path_), file_before);
  EXPECT_EQ(test::read_file(log), log_before);
}

TEST_F(HistoryExport, AFileThatIsMissingOrAFolderIsNamed) {
  const auto missing = (dir_.path / "missing.db").string();
  EXPECT_EQ(failure(missing), missing + ": no such file (give the server's --history-db file with --db)");
  EXPECT_FALSE(std::filesystem::exists(missing)) << "it was created";
  EXPECT_EQ(failure(dir_.path.string()), dir_.path.string() + ": is a folder, not a chat history file");
}

TEST_F(HistoryExport, AFileThatIsNoDatabaseIsRefusedAndLeftAsItIs) {
  const std::string garbage(4096, 'x');
  std::ofstream(path_) << garbage;
  EXPECT_EQ(failure(path_), path_ + ": not an SQLite database, or a damaged one");
  EXPECT_EQ(test::read_file(path_), garbage);
}

TEST_F(HistoryExport, ADatabaseOfAnotherProgramOrAnEmptyFileIsNoHistory) {
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE recetas (nombre TEXT)");
  }
  EXPECT_EQ(failure(path_), path_ + ": not an enchufe chat history (it has no rooms and lines tables)");
  const auto empty = (dir_.path / "empty.db").string();
  std::ofstream{empty};
  EXPECT_EQ(failure(empty), empty + ": not an enchufe chat history (it has no rooms and lines tables)");
}

TEST_F(HistoryExport, ANewerSchemaIsRefused) {
  HistoryFile file(path_);
  file.db.exec("PRAGMA user_version = 4");
  EXPECT_EQ(failure(path_), path_ + ": written by a newer enchufe (history schema 4; this one reads up to 3)");
}

// --since

const auto kNow = sys_days(2026y / 12 / 10) + 15h + 30min;

TEST(ParseSince, DatesAndTimesAreUtcUnlessTheySayOtherwise) {
  const auto day = sys_days(2026y / 12 / 1);
  EXPECT_EQ(parse_since("2026-12-01", kNow), day);
  EXPECT_EQ(parse_since("2026-12-01T12:00:00Z", kNow), day + 12h);
  EXPECT_EQ(parse_since("2026-12-01t12:00z", kNow), day + 12h);
  EXPECT_EQ(parse_since("2026-12-01 12:04", kNow), day + 12h + 4min);
  EXPECT_EQ(parse_since("2026-12-01T12:04:05.123Z", kNow), day + 12h + 4min + 5s + 123ms);
  EXPECT_EQ(parse_since("2026-12-01T12:04:05.5", kNow), day + 12h + 4min + 5s + 500ms);
  EXPECT_EQ(parse_since("2026-12-01T12:04:05.123999Z", kNow), day + 12h + 4min + 5s + 123ms);
  EXPECT_EQ(parse_since("2026-12-01T12:00:00+02:00", kNow), day + 10h);
  EXPECT_EQ(parse_since("2026-12-01T12:00-03:30", kNow), day + 15h + 30min);
  EXPECT_EQ(parse_since("2024-02-29", kNow), sys_days(2024y / 2 / 29));
}

TEST(ParseSince, SpansGoBackFromNow) {
  EXPECT_EQ(parse_since("90s", kNow), kNow - 90s);
  EXPECT_EQ(parse_since("30m", kNow), kNow - 30min);
  EXPECT_EQ(parse_since("1h", kNow), kNow - 1h);
  EXPECT_EQ(parse_since("7d", kNow), kNow - days(7));
  EXPECT_EQ(parse_since("2w", kNow), kNow - weeks(2));
  EXPECT_EQ(parse_since("0m", kNow), kNow);
}

std::string since_error(std::string_view typed) {
  try {
    parse_since(typed, kNow);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<accepted>";
}

TEST(ParseSince, WhatIsNoTimeSaysWhatIs) {
  for (const std::string typed :
       {"", "yesterday", "7", "d", "7x", "7D", "1.5h", "-5m", "+5m", " 7d", "2026-1-01", "2026-12-1", "2026/12/01",
        "2026-12-01T12", "2026-12-01T1:00", "2026-12-01T12:00:00Zjunk", "2026-12-01Z", "2026-12-01T12:00:00.",
        "2026-12-01T12:00+0200", "2026-12-01T"}) {
    EXPECT_EQ(since_error(typed), "--since " + typed +
                                      ": not a time; give a date (2026-12-01), a UTC time (2026-12-01T12:00:00Z) "
                                      "or a span back from now (30m, 1h, 7d)");
  }
}

TEST(ParseSince, DatesAndTimesThatDoNotExistAreNamed) {
  for (const std::string typed : {"2026-02-29", "2026-13-01", "2026-00-10", "2026-12-32", "2026-12-01T24:00",
                                  "2026-12-01T12:60", "2026-12-01T12:00:60", "2026-12-01T12:00+24:00", "1969-12-31",
                                  "2201-01-01"}) {
    EXPECT_EQ(since_error(typed),
              "--since " + typed + ": no such date or time (years 1970 to 2200, hours 00-23, minutes 00-59)");
  }
}

TEST(ParseSince, SpansBeyondACenturyAreRefused) {
  EXPECT_NO_THROW(parse_since("36600d", kNow));
  for (const std::string typed : {"36601d", "99999999999999999999999d", "5300w"}) {
    EXPECT_EQ(since_error(typed), "--since " + typed + ": further back than 100 years");
  }
}

}  // namespace
}  // namespace enchufe::services::chat
