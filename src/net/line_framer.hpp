#pragma once
// Splits a byte stream into lines ending in "\n" (or "\r\n").
//
// Complete lines are handed out as views into the caller's buffer when they
// lie inside one read, so the common case copies nothing; only a line that
// spans reads is assembled in the framer's own (otherwise empty) buffer.
// Bytes after the last newline stay pending: the caller decides when they
// count as a message of their own (the tutorial's client never sends "\n").

#include <cstddef>
#include <string>
#include <string_view>

namespace enchufe::net {

class LineFramer {
 public:
  explicit LineFramer(std::size_t max_line_bytes) : max_line_(max_line_bytes) {}

  // Calls on_line(line, terminator) for every complete line in `bytes`, in
  // order; `line` excludes the terminator ("\n" or "\r\n"). A line longer
  // than the maximum is never delivered: on_too_long() is called as soon as
  // it is known to be too long (before its newline arrives, so a client
  // streaming bytes without a newline is stopped at the limit), the rest of
  // it is skipped up to its newline, and framing goes on after it.
  // Either callback returns false to stop; the rest of `bytes` is dropped.
  template <typename OnLine, typename OnTooLong>
  void feed(std::string_view bytes, OnLine&& on_line, OnTooLong&& on_too_long);

  bool has_pending() const { return !pending_.empty(); }
  std::string_view pending() const { return pending_; }
  void clear_pending();

 private:
  std::size_t max_line_;
  std::string pending_;     // bytes of an unfinished line
  bool skipping_ = false;   // inside an over-long line, waiting for its end
};

namespace detail {
// Splits "...\r\n" / "...\n" into the line and its terminator.
inline void split_terminator(std::string_view with_newline, std::string_view& line, std::string_view& term) {
  const bool crlf = with_newline.size() >= 2 && with_newline[with_newline.size() - 2] == '\r';
  const std::size_t term_len = crlf ? 2 : 1;
  line = with_newline.substr(0, with_newline.size() - term_len);
  term = with_newline.substr(with_newline.size() - term_len);
}
}  // namespace detail

inline void LineFramer::clear_pending() {
  // A long line that spanned reads leaves a large buffer behind; give it back
  // so ten thousand quiet connections do not each keep one.
  constexpr std::size_t kKeepCapacity = 1024;
  if (pending_.capacity() > kKeepCapacity) {
    std::string().swap(pending_);
  } else {
    pending_.clear();
  }
}

template <typename OnLine, typename OnTooLong>
void LineFramer::feed(std::string_view bytes, OnLine&& on_line, OnTooLong&& on_too_long) {
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    if (skipping_) {
      if (nl == std::string_view::npos) return;
      bytes.remove_prefix(nl + 1);
      skipping_ = false;
      continue;
    }
    if (nl == std::string_view::npos) {
      // Unfinished: one byte of slack for a "\r" whose "\n" is still to come.
      if (pending_.size() + bytes.size() > max_line_ + 1) {
        clear_pending();
        skipping_ = true;
        on_too_long();
        return;
      }
      pending_.append(bytes);
      return;
    }
    std::string_view line, term;
    if (pending_.empty()) {
      detail::split_terminator(bytes.substr(0, nl + 1), line, term);
    } else {
      // The line began in an earlier read: finish it in our own buffer.
      pending_.append(bytes.substr(0, nl + 1));
      detail::split_terminator(pending_, line, term);
    }
    bytes.remove_prefix(nl + 1);
    const bool go_on = line.size() > max_line_ ? on_too_long() : on_line(line, term);
    clear_pending();
    if (!go_on) return;
  }
}

}  // namespace enchufe::net
