#pragma once
// `chat-export --since TIME`: where an export starts, as people write it.

#include <chrono>
#include <optional>
#include <string_view>

namespace enchufe::services::chat {

// "2026-12-01" (midnight UTC); "2026-12-01T12:00", "2026-12-01T12:00:00Z",
// "2026-12-01 12:00:00.250+02:00" (seconds, fraction and zone optional; no
// zone is UTC, like every time the export prints); or a span back from
// `now`: "90s", "30m", "1h", "7d", "2w". Throws UsageError saying which
// forms there are, or that the date or time does not exist.
// "90s", "30m", "1h", "7d", "2w": a count and one unit letter, as seconds
// (seconds::max() past what they can hold); nullopt for any other shape.
// Also what /history 1h takes.
std::optional<std::chrono::seconds> span(std::string_view typed);

std::chrono::system_clock::time_point parse_since(std::string_view typed, std::chrono::system_clock::time_point now);

}  // namespace enchufe::services::chat
