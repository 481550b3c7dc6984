// SqliteHistory on real files in a temporary folder: lines survive the
// store's end, in order, per room (folded names are one room); recent()
// sees lines not written yet; a file in use, not a database, of another
// program or of a newer schema is refused with a line that names it.

#include "services/chat/sqlite_history.hpp"

#include "net/errors.hpp"
#include "services/chat/lines.hpp"
#include "support/files.hpp"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace enchufe::services::chat {
namespace {

using test::TempDir;

std::shared_ptr<ChatLine> numbered(std::string_view room, std::uint64_t id, std::string_view text) {
  auto line = said_line(LineKind::message, room, "ana", text);
  line->id = id;
  return line;
}

std::vector<std::string> texts(const RecentLines& recent) {
  std::vector<std::string> out;
  for (const auto& line : recent.lines) out.push_back(std::to_string(line->id) + " " + line->text);
  return out;
}

// The error a store opened on `path` fails with ("" if it opens).
std::string opening_error(const std::string& path) {
  try {
    SqliteHistory store({path});
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return {};
}

TEST(SqliteHistory, LinesOutliveTheStoreInOrderAndPerRoom) {
  TempDir dir;
  const std::string path = (dir.path / "state" / "chat.db").string();  // the folder is made too
  {
    SqliteHistory store({path});
    for (std::uint64_t id = 1; id <= 5; ++id) store.append(numbered("General", id, "g" + std::to_string(id)));
    store.append(numbered("otra", 1, "o1"));
  }
  SqliteHistory store({path});
  const auto general = store.recent("general", 3);  // a folded name: "General" is the same room
  EXPECT_EQ(texts(general), (std::vector<std::string>{"3 g3", "4 g4", "5 g5"}));
  EXPECT_EQ(general.last_id, 5u);
  ASSERT_FALSE(general.lines.empty());
  EXPECT_EQ(general.lines.back()->room, "General") << "the name as first created";
  EXPECT_EQ(general.lines.back()->nick, "ana");
  EXPECT_EQ(texts(store.recent("otra", 10)), (std::vector<std::string>{"1 o1"}));
  const auto none = store.recent("nadie", 10);
  EXPECT_TRUE(none.lines.empty());
  EXPECT_EQ(none.last_id, 0u);
}

TEST(SqliteHistory, RecentSeesLinesNotWrittenYetAndTheLastIdWithoutReplay) {
  TempDir dir;
  SqliteHistory store({(dir.path / "chat.db").string()});
  for (std::uint64_t id = 1; id <= 1000; ++id) store.append(numbered("sala", id, "l" + std::to_string(id)));
  // Some of these are still queued or being written: none is missing, none twice.
  const auto recent = store.recent("sala", 1000);
  ASSERT_EQ(recent.lines.size(), 1000u);
  for (std::size_t i = 0; i < recent.lines.size(); ++i) EXPECT_EQ(recent.lines[i]->id, i + 1);
  const auto none_replayed = store.recent("sala", 0);
  EXPECT_TRUE(none_replayed.lines.empty());
  EXPECT_EQ(none_replayed.last_id, 1000u);
}

TEST(SqliteHistory, AFileInUseByAnotherStoreIsRefused) {
  TempDir dir;
  const std::string path = (dir.path / "chat.db").string();
  SqliteHistory first({path});
  EXPECT_EQ(opening_error(path), "--history-db " + path +
                                     ": another enchufe server is using it; stop that one, or give another "
                                     "--history-db, or --history-db none to keep history in memory");
}

TEST(SqliteHistory, AFileThatIsNoDatabaseIsRefusedAndLeftAsItIs) {
  TempDir dir;
  const auto path = dir.path / "chat.db";
  const std::string garbage(4096, 'x');
  std::ofstream(path) << garbage;
  const auto error = opening_error(path.string());
  EXPECT_NE(error.find("it is not an SQLite database, or it is damaged (it was left as it is)"), std::string::npos)
      << error;
  EXPECT_EQ(test::read_file(path), garbage);
}

TEST(SqliteHistory, AnotherProgramsDatabaseOrANewerSchemaIsRefused) {
  TempDir dir;
  const std::string other = (dir.path / "other.db").string();
  {
    SQLite::Database db(other, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE recetas (nombre TEXT)");
  }
  EXPECT_NE(opening_error(other).find("it is an SQLite database of another program"), std::string::npos);
  const std::string newer = (dir.path / "newer.db").string();
  {
    SQLite::Database db(newer, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version = 99");
  }
  EXPECT_NE(opening_error(newer).find("it was written by a newer enchufe (schema 99; this one knows " + std::to_string(SqliteHistory::kSchemaVersion) + ")"),
            std::string::npos)
      << opening_error(newer);
}

TEST(SqliteHistory, AFolderThatCannotBeMadeIsNamed) {
  TempDir dir;
  const auto blocker = dir.path / "file";
  std::ofstream(blocker) << "not a folder";
  const std::string path = (blocker / "chat.db").string();
  EXPECT_NE(opening_error(path).find("cannot create its folder " + blocker.string()), std::string::npos)
      << opening_error(path);
}


// ---- queries (/history, /search) ------------------------------------------------

// Runs `query` and waits for its answer (it comes on the store's thread).
HistoryPage ask(SqliteHistory& store, HistoryQuery query) {
  std::promise<HistoryPage> answered;
  auto page = answered.get_future();
  store.query(std::move(query), [&](HistoryPage p) { answered.set_value(std::move(p)); });
  return page.get();
}

std::vector<std::uint64_t> ids(const HistoryPage& page) {
  std::vector<std::uint64_t> out;
  for (const auto& line : page.lines) out.push_back(line->id);
  return out;
}

HistoryQuery asking(HistoryQuery::Kind kind, std::uint64_t id, std::size_t limit) {
  HistoryQuery q;
  q.kind = kind;
  q.room_key = "sala";
  q.id = id;
  q.limit = limit;
  return q;
}

TEST(SqliteHistory, PagesBackAndForwardWithNoticesAndUnwrittenLines) {
  TempDir dir;
  SqliteHistory store({(dir.path / "chat.db").string()});
  for (std::uint64_t id = 1; id <= 30; ++id) {
    if (id % 10 == 0) {
      auto notice = notice_line("sala", NoticeWhat::joined, "bob", {}, "bob joined sala");
      notice->id = id;
      store.append(notice);
    } else {
      store.append(numbered("sala", id, "l" + std::to_string(id)));
    }
  }
  using Kind = HistoryQuery::Kind;
  // Some still queued: pages are whole anyway, notices included.
  const auto newest = ask(store, asking(Kind::before, 0, 5));
  EXPECT_EQ(ids(newest), (std::vector<std::uint64_t>{26, 27, 28, 29, 30}));
  EXPECT_TRUE(newest.more);
  EXPECT_EQ(newest.lines.back()->kind, LineKind::notice);
  EXPECT_EQ(ids(ask(store, asking(Kind::before, 26, 3))), (std::vector<std::uint64_t>{23, 24, 25}));
  const auto first = ask(store, asking(Kind::before, 3, 20));
  EXPECT_EQ(ids(first), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_FALSE(first.more);
  const auto after = ask(store, asking(Kind::since_id, 27, 2));
  EXPECT_EQ(ids(after), (std::vector<std::uint64_t>{28, 29}));
  EXPECT_TRUE(after.more);
  EXPECT_FALSE(ask(store, asking(Kind::since_id, 28, 2)).more);
  store.wait_written();
  EXPECT_EQ(ids(ask(store, asking(Kind::before, 0, 2))), (std::vector<std::uint64_t>{29, 30}));
  // Join replay is messages and actions only; the numbering goes on after the notice.
  const auto recent = store.recent("sala", 2);
  EXPECT_EQ(texts(recent), (std::vector<std::string>{"28 l28", "29 l29"}));
  EXPECT_EQ(recent.last_id, 30u);
}

TEST(SqliteHistory, SinceATime) {
  TempDir dir;
  SqliteHistory store({(dir.path / "chat.db").string()});
  const auto now = std::chrono::system_clock::now();
  for (std::uint64_t id = 1; id <= 4; ++id) {
    auto line = numbered("sala", id, "l");
    line->time = now - std::chrono::hours(5 - id);  // 4h, 3h, 2h, 1h ago
    store.append(line);
  }
  auto q = asking(HistoryQuery::Kind::since_time, 0, 10);
  q.since = now - std::chrono::minutes(150);
  EXPECT_EQ(ids(ask(store, q)), (std::vector<std::uint64_t>{3, 4}));
  store.wait_written();
  EXPECT_EQ(ids(ask(store, q)), (std::vector<std::uint64_t>{3, 4}));
}

TEST(SqliteHistory, SearchFindsEveryWordNewestFirstInItsRoomOnly) {
  TempDir dir;
  SqliteHistory store({(dir.path / "chat.db").string()});
  store.append(numbered("sala", 1, "vamos a la playa mañana"));
  store.append(numbered("sala", 2, "la canción del verano"));
  store.append(numbered("sala", 3, "Playa o montaña, esa es la cuestión"));
  store.append(numbered("otra", 1, "playa en otra sala"));
  auto notice = notice_line("sala", NoticeWhat::joined, "playa", {}, "playa joined sala");
  notice->id = 4;
  store.append(notice);  // notices are not searched
  store.wait_written();
  auto q = asking(HistoryQuery::Kind::search, 0, 10);
  q.text = "playa";
  EXPECT_EQ(ids(ask(store, q)), (std::vector<std::uint64_t>{3, 1}));
  q.text = "cancion";  // accents do not matter
  EXPECT_EQ(ids(ask(store, q)), (std::vector<std::uint64_t>{2}));
  q.text = "playa montaña";  // every word
  EXPECT_EQ(ids(ask(store, q)), (std::vector<std::uint64_t>{3}));
  q.text = "\"playa OR NEAR( *";  // what FTS5 would parse is only words here
  const auto odd = ask(store, q);
  EXPECT_TRUE(odd.error.empty()) << odd.error;
  q.text = "playa";
  q.limit = 1;
  const auto bounded = ask(store, q);
  EXPECT_EQ(ids(bounded), (std::vector<std::uint64_t>{3}));
  EXPECT_TRUE(bounded.more);
}

TEST(SqliteHistory, RetentionByCountKeepsNumberingAndForgetsTheWords) {
  TempDir dir;
  const std::string path = (dir.path / "chat.db").string();
  {
    SqliteHistorySettings settings{path};
    settings.max_lines = 3;
    SqliteHistory store(settings);
    for (std::uint64_t id = 1; id <= 10; ++id) store.append(numbered("sala", id, "palabra " + std::to_string(id)));
  }  // pruned by its first commit's prune
  SqliteHistory store({path});
  const auto recent = store.recent("sala", 10);
  EXPECT_EQ(texts(recent), (std::vector<std::string>{"8 palabra 8", "9 palabra 9", "10 palabra 10"}));
  EXPECT_EQ(recent.last_id, 10u);
  auto q = asking(HistoryQuery::Kind::search, 0, 20);
  q.text = "palabra";
  EXPECT_EQ(ids(ask(store, q)), (std::vector<std::uint64_t>{10, 9, 8}));
}

TEST(SqliteHistory, RetentionByAgeKeepsTheRoomsLastId) {
  TempDir dir;
  const std::string path = (dir.path / "chat.db").string();
  {
    SqliteHistorySettings settings{path};
    settings.keep = std::chrono::hours(1);
    SqliteHistory store(settings);
    auto old = numbered("sala", 1, "vieja");
    old->time -= std::chrono::hours(2);
    store.append(old);
    store.append(numbered("sala", 2, "nueva"));
    auto gone = numbered("vacia", 7, "vieja");
    gone->time -= std::chrono::hours(2);
    store.append(gone);
  }
  SqliteHistory store({path});
  EXPECT_EQ(texts(store.recent("sala", 10)), (std::vector<std::string>{"2 nueva"}));
  const auto emptied = store.recent("vacia", 10);
  EXPECT_TRUE(emptied.lines.empty());
  EXPECT_EQ(emptied.last_id, 7u) << "a room whose lines were all pruned goes on numbering after them";
}

TEST(SqliteHistory, PrivateMessagesOnlyWhenAsked) {
  TempDir dir;
  const std::string path = (dir.path / "chat.db").string();
  const auto psst = private_line(LineKind::private_message, "ana", "bob", "psst");
  {
    SqliteHistory store({path});
    EXPECT_FALSE(store.append(psst));
  }
  {
    SqliteHistorySettings settings{path};
    settings.store_private = true;
    SqliteHistory store(settings);
    EXPECT_TRUE(store.append(psst));
    EXPECT_FALSE(store.append(private_line(LineKind::private_echo, "ana", "bob", "psst"))) << "stored once";
  }
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM private_lines").getInt(), 1);
  EXPECT_EQ(db.execAndGet("SELECT nick || '>' || target || ':' || text FROM private_lines").getString(), "ana>bob:psst");
}

TEST(SqliteHistory, FullSyncSettlesEveryLineOnceAfterItIsWritten) {
  TempDir dir;
  const std::string path = (dir.path / "chat.db").string();
  SqliteHistorySettings settings{path};
  settings.sync = HistorySync::full;
  SqliteHistory store(settings);
  std::mutex mutex;
  std::vector<std::uint64_t> settled;
  bool all_on_disk = true;
  SQLite::Database reader(path, SQLite::OPEN_READONLY);
  store.on_settled([&](std::vector<SharedLine> lines) {
    std::lock_guard lock(mutex);
    for (const auto& line : lines) {
      SQLite::Statement row(reader, "SELECT count(*) FROM lines WHERE id = ?");
      row.bind(1, static_cast<std::int64_t>(line->id));
      row.executeStep();
      all_on_disk = all_on_disk && row.getColumn(0).getInt() == 1;
      settled.push_back(line->id);
    }
  });
  for (std::uint64_t id = 1; id <= 500; ++id) store.append(numbered("sala", id, "l"));
  store.wait_written();
  std::lock_guard lock(mutex);
  ASSERT_EQ(settled.size(), 500u);
  for (std::size_t i = 0; i < settled.size(); ++i) EXPECT_EQ(settled[i], i + 1);
  EXPECT_TRUE(all_on_disk) << "a line is settled only once another connection can read it";
}

TEST(SqliteHistory, AVersionOneFileIsBroughtUpToDate) {
  TempDir dir;
  const std::string path = (dir.path / "chat.db").string();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        "CREATE TABLE rooms (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL);"
        "CREATE TABLE lines (room INTEGER NOT NULL REFERENCES rooms (id), id INTEGER NOT NULL, time_ms INTEGER "
        "NOT NULL, kind INTEGER NOT NULL, what INTEGER NOT NULL, nick TEXT NOT NULL, target TEXT NOT NULL, text "
        "TEXT NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;"
        "INSERT INTO rooms VALUES (1, 'sala', 'Sala');"
        "INSERT INTO lines VALUES (1, 1, 0, 0, 0, 'ana', '', 'hola desde la version uno');"
        "INSERT INTO lines VALUES (1, 2, 0, 2, 1, 'bob', '', 'bob joined Sala');"
        "PRAGMA user_version = 1;");
  }
  SqliteHistory store({path});
  const auto recent = store.recent("sala", 10);
  EXPECT_EQ(texts(recent), (std::vector<std::string>{"1 hola desde la version uno"}));
  EXPECT_EQ(recent.last_id, 2u);
  auto q = asking(HistoryQuery::Kind::search, 0, 10);
  q.text = "uno";
  EXPECT_EQ(ids(ask(store, q)), (std::vector<std::uint64_t>{1})) << "old lines are searchable";
}

}  // namespace
}  // namespace enchufe::services::chat
