// `bench store`: the chat's history store (SqliteHistory) flooded in this
// process, with no network: how many lines per second it commits, and how
// large its file grows per line (issue 11).
//
// This thread makes lines as the hub does (said_line, numbered in its room,
// encoded) and offers each once to append(), round-robin over the rooms.
// append() never waits: with its queue full it refuses the line, which the
// chat would then not keep either, so the bench counts it, backs off and
// goes on with the next line. At the end it waits until everything accepted
// is committed; "stored" is then counted in the file, not taken from what
// the bench handed over.

#include "bench/engine.hpp"
#include "bench/modes.hpp"
#include "net/errors.hpp"
#include "services/chat/lines.hpp"
#include "services/chat/names.hpp"
#include "services/chat/options.hpp"
#include "services/chat/sqlite_history.hpp"

#include <SQLiteCpp/Database.h>
#include <fmt/format.h>

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <thread>

namespace enchufe::bench {

namespace {

namespace chat = services::chat;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// After a refusal, before the next line: the writer empties its whole queue
// when a commit starts, so room comes back all at once, and a commit takes
// milliseconds; trying sooner would only take the core the writer needs.
constexpr auto kBackoff = 1ms;
// No text is longer than a chat line can be.
constexpr std::size_t kMaxTextSize = chat::kChatMaxLine;
constexpr auto kProgressEvery = 1s;
// Who says the lines, in turn.
constexpr std::string_view kNicks[] = {"ana", "bruno", "carla", "diego", "elena", "fede", "gala", "hugo"};
// What they say: common short words (ASCII, so that a cut never splits a
// letter and every text is exactly --size bytes), so that the full-text index is fed as
// people feed it (many words per line, few of them new), not one long token.
constexpr std::string_view kWords[] = {
    "hola",  "que",    "tal",     "bien",   "gracias", "vale",    "si",      "no",      "ahora",  "luego", "manana",
    "hoy",   "casa",   "trabajo", "cafe",   "comida",  "tren",    "lluvia",  "sol",     "frio",   "calor", "musica",
    "libro", "peli",   "partido", "gol",    "perro",   "gato",    "amigo",   "fiesta",  "cena",   "noche", "semana",
    "lunes", "viernes", "puerto", "red",    "socket",  "server",  "bug",     "fix",     "build",  "test",  "deploy",
    "log",   "error",  "ok",      "lol",    "jaja",    "genial",  "claro",   "vamos",   "espera", "mira",  "oye",
    "nada",  "todo",   "mucho",   "poco",   "otra",    "vez",     "nunca",   "siempre", "quiza"};

// splitmix64: a cheap, well-spread sequence of words for each line.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = state += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Line `n`'s text: words separated by spaces, cut to exactly `size` bytes
// (a cut word is still a word to the index).
void make_text(std::string& out, std::uint64_t n, std::size_t size) {
  out.clear();
  std::uint64_t state = n;
  while (out.size() < size) {
    out += kWords[next_random(state) % std::size(kWords)];
    out += ' ';
  }
  out.resize(size);
}

// A fresh folder under $TMPDIR for the default file, removed with it at
// the end unless --keep.
class TempFile {
 public:
  TempFile() {
    std::string pattern = (fs::temp_directory_path() / "enchufe-bench-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw RuntimeError(fmt::format("bench store: cannot make a folder like {}: {}", pattern, std::strerror(errno)));
    }
    folder_ = pattern;
  }
  ~TempFile() {
    if (keep_) return;
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  std::string path() const { return (folder_ / "history.db").string(); }
  void keep() { keep_ = true; }

 private:
  fs::path folder_;
  bool keep_ = false;
};

// Lines in the file, read on a connection of our own: what is committed,
// whatever the store believes.
std::uint64_t lines_in(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return static_cast<std::uint64_t>(db.execAndGet("SELECT count(*) FROM lines").getInt64());
}

std::uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

struct Room {
  std::string name;
  std::uint32_t id = 0;
  std::uint64_t next_line_id = 1;
};

}  // namespace

Outcome run_store(const Options& o) {
  if (o.size == 0 || o.size > kMaxTextSize) {
    throw UsageError(fmt::format("bench store: --size is the text of one line: 1 to {} bytes (a chat line's most)",
                                 kMaxTextSize));
  }
  std::optional<TempFile> temp;
  if (o.db.empty()) temp.emplace();
  const std::string path = temp ? temp->path() : o.db;
  if (temp && o.keep) temp->keep();

  chat::SqliteHistorySettings settings;
  settings.path = path;
  settings.sync = o.sync_full ? chat::HistorySync::full : chat::HistorySync::batch;
  settings.window = o.history_window.value_or(chat::kHistoryWindow);
  auto store = std::make_unique<chat::SqliteHistory>(settings);

  // Each room goes on numbering after its last stored line, as the hub's
  // room home does when it is made: a reused --db keeps growing.
  std::vector<Room> rooms(o.rooms);
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    rooms[i].name = fmt::format("bench-{}", i + 1);
    rooms[i].id = static_cast<std::uint32_t>(i + 1);
    rooms[i].next_line_id = store->recent(chat::fold(rooms[i].name), 0).last_id + 1;
  }
  const std::uint64_t lines_before = lines_in(path);

  const bool by_time = o.duration_given;
  const std::uint64_t limit =
      o.count > 0 ? o.count : by_time ? std::numeric_limits<std::uint64_t>::max() : kStoreLines;
  Progress progress(o.progress);
  std::uint64_t offered = 0, refused = 0;
  std::string text;
  const auto cpu_before = cpu_seconds(std::nullopt);
  const auto t0 = Clock::now();
  const auto deadline = by_time ? t0 + o.duration : Clock::time_point::max();
  auto next_show = t0 + kProgressEvery;
  while (offered < limit) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    if (now >= next_show) {
      progress.show(fmt::format("{:5.1f}s  offered {}  refused {}", seconds(now - t0), grouped(offered),
                                grouped(refused)));
      next_show += kProgressEvery;
    }
    Room& room = rooms[offered % rooms.size()];
    make_text(text, offered, o.size);
    auto line = chat::said_line(chat::LineKind::message, room.name,
                                kNicks[(offered / rooms.size()) % std::size(kNicks)], text);
    line->id = room.next_line_id++;
    line->room_id = room.id;
    chat::encode(*line, {});
    ++offered;
    if (!store->append(std::move(line))) {
      ++refused;
      std::this_thread::sleep_for(kBackoff);
    }
  }
  const auto offer_time = Clock::now() - t0;
  progress.show(fmt::format("{:5.1f}s  offered {}  refused {}  writing what is queued", seconds(offer_time),
                            grouped(offered), grouped(refused)));
  store->wait_written();
  const auto elapsed = Clock::now() - t0;
  const auto cpu_after = cpu_seconds(std::nullopt);
  progress.clear();

  const std::uint64_t lines_after = lines_in(path);
  const std::uint64_t stored = lines_after - lines_before;
  const std::uint64_t accepted = offered - refused;
  const std::uint64_t lost = accepted > stored ? accepted - stored : 0;
  store->close();
  store.reset();
  // As the store leaves the disk: its last connection to close is the
  // read-only reader, which cannot fold the WAL into the file, so the WAL
  // (as large as the largest commit) stays until a writer checkpoints it.
  const std::uint64_t db_bytes = size_of(path);
  const std::uint64_t wal_bytes = size_of(path + "-wal");
  const std::uint64_t total_bytes = db_bytes + wal_bytes;
  // What the lines take for good: the file once that WAL is folded in (the
  // same lines, nothing else changes).
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const std::uint64_t checkpointed_bytes = size_of(path);
  const double per_line =
      lines_after ? static_cast<double>(checkpointed_bytes) / static_cast<double>(lines_after) : 0;

  Outcome out{Report("store")};
  Report& r = out.report;
  const std::string sync = o.sync_full ? "full" : fmt::format("batch, window {} ms", settings.window.count());
  r.note(fmt::format("enchufe bench store: {}, {} room{}, {}-byte texts, --history-sync {}", path, grouped(rooms.size()),
                     rooms.size() == 1 ? "" : "s", o.size, sync));
  r.add("db", path);
  r.add("kept", !temp || o.keep);
  r.add("rooms", std::uint64_t{rooms.size()});
  r.add("text_bytes", std::uint64_t{o.size});
  r.add("sync", std::string(o.sync_full ? "full" : "batch"));
  // full commits at once: the store lets no window pass then.
  r.add("window_ms", o.sync_full ? std::uint64_t{0} : static_cast<std::uint64_t>(settings.window.count()));
  r.add("offered", offered, "lines offered");
  r.add("refused", refused, "refused",
        refused ? fmt::format("{}  (the store's queue held {}: lines the chat would not keep)", grouped(refused),
                              grouped(chat::kHistoryQueueMax))
                : "0");
  r.add("stored", stored, "stored", fmt::format("{}  (committed, counted in the file)", grouped(stored)));
  r.add("lost", lost, lost ? "lost" : "", fmt::format("{}  (accepted, yet not in the file)", grouped(lost)));
  r.add("elapsed_s", seconds(elapsed), "elapsed",
        fmt::format("{:.2f} s  (offering {:.2f} s, then until the last line was committed)", seconds(elapsed),
                    seconds(offer_time)));
  r.add("stored_per_s", stored / seconds(elapsed), "stored lines/s", per_second(stored / seconds(elapsed)));
  r.add("offered_per_s", offered / seconds(offer_time), "offered lines/s", per_second(offered / seconds(offer_time)));
  if (cpu_before && cpu_after) {
    const double cpu = *cpu_after - *cpu_before;
    r.add("cpu_s", cpu, "CPU",
          fmt::format("{:.2f} s  ({:.2f} cores: making lines, and the store's writer)", cpu, cpu / seconds(elapsed)));
  }
  r.add("lines_in_file", lines_after, lines_after != stored ? "lines in the file" : "");
  r.add("db_bytes", db_bytes);
  r.add("wal_bytes", wal_bytes);
  r.add("file_bytes", total_bytes, "database size",
        wal_bytes ? fmt::format("{}  as the store left it (file {} + WAL {})", bytes(total_bytes), bytes(db_bytes),
                                bytes(wal_bytes))
                  : bytes(total_bytes));
  r.add("checkpointed_bytes", checkpointed_bytes, "checkpointed",
        fmt::format("{}  (the WAL folded into the file)", bytes(checkpointed_bytes)));
  // A million lines of B bytes are B MB: one figure, said both ways.
  r.add("bytes_per_line", per_line, "per line",
        fmt::format("{:.1f} B  ({:.1f} MB per million lines; checkpointed file / lines in it)", per_line, per_line));
  r.add("mb_per_million_lines", per_line);
  if (temp && o.keep) r.note(fmt::format("kept: {}", path));
  if (lost) {
    r.samples({fmt::format("{} lines append() accepted were not in {} after wait_written()", grouped(lost), path)});
  }
  out.failed = lost > 0 || stored == 0;
  return out;
}

}  // namespace enchufe::bench
