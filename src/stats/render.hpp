#pragma once
// The text of one `enchufe stats` refresh. Pure: a View in, a string out.

#include "stats/rates.hpp"

#include <string>

namespace enchufe::stats {

struct RenderOptions {
  std::string source;  // "http://127.0.0.1:9100/metrics"
  std::string clock;   // "12:00:03 UTC", when the scrape was taken
  // On a terminal the block redraws the screen in place (cursor home, each
  // line cleared to its end, the rest of the screen cleared); otherwise it is
  // plain text, one block per refresh ending in an empty line.
  bool terminal = false;
};

std::string render(const View& view, const RenderOptions& options);

// Number formats used in the view (exposed for tests).
std::string format_rate(double per_second);  // "0", "12.5", "16.4k", "2.1M"
std::string format_count(double count);      // "1234567" (exact)
std::string format_latency(double seconds);  // "48us", "1.25ms", "2.00s"
std::string format_uptime(double seconds);   // "59s", "1m05s", "2h03m", "3d04h"

}  // namespace enchufe::stats
