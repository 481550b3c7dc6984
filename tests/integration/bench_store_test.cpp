// `enchufe bench store`: smoke runs of the history store's bench, the real
// binary on real files. Benchmarks are not tests: nothing here asserts a
// speed, only that every line offered was stored, the report says so, and
// the file holds those lines, each room numbering on when the file is used
// again.

#include "support/bench_report.hpp"
#include "support/enchufe.hpp"
#include "support/files.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

using namespace enchufe::test;

namespace {

constexpr auto kRun = 60'000ms;  // generous: CI machines run tests in parallel
constexpr int kLines = 20'000;
constexpr int kRooms = 10;

// `enchufe bench store ARGS`, its fresh files under `tmpdir`.
RunResult store_bench(std::vector<std::string> args, const TempDir& tmpdir) {
  args.insert(args.begin(), {"bench", "store", "--no-progress"});
  return run_enchufe(args, {.timeout = kRun, .env = {"TMPDIR=" + tmpdir.path.string()}});
}

struct Stored {
  std::int64_t lines = 0, rooms = 0, first_id = 0, last_id = 0;  // ids over all rooms
  std::int64_t smallest_room = 0, largest_room = 0;               // lines per room
};

Stored stored_in(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  Stored s;
  s.lines = db.execAndGet("SELECT count(*) FROM lines").getInt64();
  s.rooms = db.execAndGet("SELECT count(*) FROM rooms").getInt64();
  s.first_id = db.execAndGet("SELECT min(id) FROM lines").getInt64();
  s.last_id = db.execAndGet("SELECT max(id) FROM lines").getInt64();
  SQLite::Statement per_room(db, "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM lines GROUP BY room)");
  per_room.executeStep();
  s.smallest_room = per_room.getColumn(0).getInt64();
  s.largest_room = per_room.getColumn(1).getInt64();
  return s;
}

}  // namespace

TEST(BenchStore, StoresEveryLineAndAReusedFileNumbersOn) {
  TempDir dir;
  // The default fresh file, kept: it lands under $TMPDIR and stays.
  auto r = store_bench({"--lines", std::to_string(kLines), "--rooms", std::to_string(kRooms), "--keep", "--json"},
                       dir);
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "offered"), kLines) << r;
  EXPECT_EQ(field(r.out, "refused"), 0) << r;
  EXPECT_EQ(field(r.out, "stored"), kLines) << r;
  EXPECT_EQ(field(r.out, "lost"), 0) << r;
  EXPECT_GT(field(r.out, "bytes_per_line").value_or(0), 0) << r;
  const std::string db = text_field(r.out, "db");
  ASSERT_FALSE(db.empty()) << r;
  EXPECT_EQ(std::filesystem::path(db).parent_path().parent_path(), dir.path) << r;
  auto s = stored_in(db);
  EXPECT_EQ(s.lines, kLines);
  EXPECT_EQ(s.rooms, kRooms);
  EXPECT_EQ(s.smallest_room, kLines / kRooms);  // round-robin: the same share each
  EXPECT_EQ(s.largest_room, kLines / kRooms);
  EXPECT_EQ(s.first_id, 1);
  EXPECT_EQ(s.last_id, kLines / kRooms);

  // The same file again: as many lines more, each room numbering on after
  // its last line as the chat does when a room is made again.
  r = store_bench({"--db", db, "--lines", std::to_string(kLines), "--rooms", std::to_string(kRooms), "--json"}, dir);
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(field(r.out, "refused"), 0) << r;
  EXPECT_EQ(field(r.out, "stored"), kLines) << r;
  EXPECT_EQ(field(r.out, "lines_in_file"), 2 * kLines) << r;
  s = stored_in(db);
  EXPECT_EQ(s.lines, 2 * kLines);
  EXPECT_EQ(s.rooms, kRooms);
  EXPECT_EQ(s.first_id, 1);
  EXPECT_EQ(s.last_id, 2 * kLines / kRooms);
}

// The table, with --history-sync full; the fresh file is removed after.
TEST(BenchStore, TableSaysWhatWasStoredAndTheFreshFileGoes) {
  TempDir dir;
  const auto r = store_bench(
      {"--lines", std::to_string(kLines), "--rooms", std::to_string(kRooms), "--history-sync", "full"}, dir);
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(--history-sync full)"))) << r;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  lines offered +20,000\n)"))) << r;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  refused +0\n)"))) << r;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  stored +20,000  \(committed)"))) << r;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  stored lines/s +[0-9,]+\n)"))) << r;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path)) << r;
}
