// Fuzzes LineFramer: any bytes, split at any points, must frame into lines
// that never exceed the maximum and, put back together with their
// terminators, reproduce the input (over-long lines aside).
#include "net/line_framer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max_line = 1 + data[0] % 64;  // small limits reach every branch
  const std::size_t step = 1 + data[1] % 17;      // how the stream is cut into reads
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  enchufe::net::LineFramer framer(max_line);
  std::string rebuilt;
  bool too_long = false;
  for (std::size_t at = 0; at < input.size(); at += step) {
    framer.feed(
        input.substr(at, step),
        [&](std::string_view line, std::string_view term) {
          if (line.size() > max_line) std::abort();
          if (term != "\n" && term != "\r\n") std::abort();
          if (line.find('\n') != std::string_view::npos) std::abort();
          rebuilt.append(line).append(term);
          return true;
        },
        [&] {
          too_long = true;
          return true;
        });
  }
  rebuilt.append(framer.pending());
  if (framer.pending().size() > max_line + 1) std::abort();
  if (!too_long && rebuilt != input) std::abort();
  return 0;
}
