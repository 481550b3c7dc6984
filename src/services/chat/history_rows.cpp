#include "services/chat/history_rows.hpp"

#include <SQLiteCpp/Column.h>
#include <fmt/format.h>

namespace enchufe::services::chat {

namespace {

template <typename Enum>
Enum stored(const SQLite::Column& column, Enum last, const ChatLine& line) {
  const int value = column.getInt();
  if (value < 0 || value > static_cast<int>(last)) {
    throw UnknownLineValue(
        fmt::format("line {} of room {} has an unknown {} {}", line.id, line.room, column.getName(), value));
  }
  return static_cast<Enum>(value);
}

}  // namespace

std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::int64_t to_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

void read_line(SQLite::Statement& row, ChatLine& line) {
  line.id = static_cast<std::uint64_t>(row.getColumn(0).getInt64());
  line.room = row.getColumn(7).getString();
  line.time = from_ms(row.getColumn(1).getInt64());
  line.kind = stored(row.getColumn(2), LineKind::private_echo, line);
  line.what = stored(row.getColumn(3), NoticeWhat::renamed, line);
  line.nick = row.getColumn(4).getString();
  line.to = row.getColumn(5).getString();
  line.text = row.getColumn(6).getString();
}

}  // namespace enchufe::services::chat
