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
    SqliteHistory store(path);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return {};
}

TEST(SqliteHistory, LinesOutliveTheStoreInOrderAndPerRoom) {
  TempDir dir;
  const std::string path = (dir.path / "state" / "chat.db").string();  // the folder is made too
  {
    SqliteHistory store(path);
    for (std::uint64_t id = 1; id <= 5; ++id) store.append(numbered("General", id, "g" + std::to_string(id)));
    store.append(numbered("otra", 1, "o1"));
  }
  SqliteHistory store(path);
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
  SqliteHistory store((dir.path / "chat.db").string());
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
  SqliteHistory first(path);
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
  EXPECT_NE(opening_error(newer).find("it was written by a newer enchufe (schema 99; this one knows 1)"),
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

}  // namespace
}  // namespace enchufe::services::chat
