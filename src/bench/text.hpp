#pragma once
// The small languages of `enchufe bench`: escapes in --request, sizes
// ("64KiB"), durations ("500ms"), the request template ({c}, {n}), and the
// lines the chat fanout sends and reads. Pure functions, unit-tested.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::bench {

// C-style escapes as typed on a command line: \n \r \t \0 \\ \xHH. Any other
// backslash sequence (or a lone trailing backslash) throws UsageError, so a
// typo is not sent silently.
std::string decode_escapes(std::string_view text);

// "100", "64k", "64KiB", "1M", "1MB", "2G" (K, M, G are powers of 1024,
// case-insensitive, optional "i" and "B"). Throws UsageError.
std::uint64_t parse_size(std::string_view text);

// "5" (seconds), "1.5s", "500ms", "250us", "2m", "1h", "30d". Must be
// positive. Throws UsageError.
std::chrono::nanoseconds parse_duration(std::string_view text);

// A request with placeholders: {c} becomes the connection's number, {n} the
// request's sequence number on that connection (0, 1, 2, ...). With a line
// terminator (TCP), the text's own "\n" or "\r\n" ending is kept, or "\n"
// is added. With a size, the request is padded with 'x' before its
// terminator to exactly that many bytes (when it is shorter).
class RequestTemplate {
 public:
  RequestTemplate(std::string_view text, std::size_t size, bool line_terminated);

  bool has_placeholders() const { return uses_conn_ || uses_seq_; }
  bool uses_seq() const { return uses_seq_; }
  const std::string& terminator() const { return terminator_; }

  // Appends the request for (conn, seq) to `out`; no allocation when `out`
  // has the capacity (see max_length()).
  void render(std::string& out, std::uint64_t conn, std::uint64_t seq) const;
  // The longest request render() can produce (numbers of 20 digits).
  std::size_t max_length() const;

  // The text before {n} with {c} substituted: a reply contains it followed
  // by the sequence number (used to match UDP replies to requests).
  std::string stem(std::uint64_t conn) const;

 private:
  enum class Kind { literal, conn, seq };
  struct Piece {
    Kind kind;
    std::string text;
  };
  std::vector<Piece> pieces_;
  std::string terminator_;
  std::size_t size_;
  bool uses_conn_ = false, uses_seq_ = false;
};

// The sequence number right after the first `stem` in `reply`.
std::optional<std::uint64_t> seq_after(std::string_view reply, std::string_view stem);

// ---- chat fanout ------------------------------------------------------------

// What a fanout sender puts in each line: "t=<ns> s=<sender> n=<seq> r=<run>".
// t is the send time in steady-clock nanoseconds (CLOCK_MONOTONIC, the same
// in every process of the machine), r tells this run's lines from older ones
// (a room's history replays them).
struct Stamp {
  std::uint64_t t = 0;
  std::uint32_t sender = 0;
  std::uint64_t seq = 0;
  std::uint32_t run = 0;
  bool operator==(const Stamp&) const = default;
};

// Appends the stamp's line with "\n", padded with " xxx..." to `size` bytes
// in all (when shorter).
void format_stamp_line(std::string& out, const Stamp& stamp, std::size_t size);
// The longest such line.
std::size_t max_stamp_line(std::size_t size);
// Parses a stamp at the start of `text` (what follows it is ignored).
std::optional<Stamp> parse_stamp(std::string_view text);

// A chat message as the chat server sends it: "[HH:MM:SS] <nick> text"
// (without the "\n"). Notices ("[..] * ana joined"), actions and private
// messages are not messages: nullopt.
struct ChatMessage {
  std::string_view nick;
  std::string_view text;
};
std::optional<ChatMessage> parse_chat_message(std::string_view line);

}  // namespace enchufe::bench
