#pragma once
// A bench connection's input: bytes read but not yet parsed. Complete lines
// are taken from the front (views into the buffer, no copy); reads append at
// the back. One line may not outgrow `max` bytes: a server sending one is
// broken, and the bench says so instead of buffering without bound.

#include "net/asio.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

namespace enchufe::bench {

class LineBuffer {
 public:
  LineBuffer(std::size_t initial, std::size_t max) : data_(initial), max_(max) {}

  std::size_t max() const { return max_; }

  // The next complete line including its '\n', or nullopt. The view stays
  // valid until the next space().
  std::optional<std::string_view> next_line() {
    const void* nl = std::memchr(data_.data() + begin_, '\n', end_ - begin_);
    if (nl == nullptr) return std::nullopt;
    const std::size_t stop = static_cast<std::size_t>(static_cast<const char*>(nl) - data_.data()) + 1;
    const std::string_view line(data_.data() + begin_, stop - begin_);
    begin_ = stop;
    return line;
  }

  // Every byte not taken yet, for a protocol framed elsewhere (Redis's,
  // by its reply reader). The view stays valid until the next space().
  std::string_view take_all() {
    const std::string_view rest(data_.data() + begin_, end_ - begin_);
    begin_ = end_;
    return rest;
  }

  // Where the next read goes: the free tail, after moving a partial line to
  // the front or doubling the buffer when it is full. Empty when a single
  // line already fills `max` bytes.
  asio::mutable_buffer space() {
    if (begin_ == end_) {
      begin_ = end_ = 0;
    } else if (end_ == data_.size()) {
      if (begin_ > 0) {
        std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      } else if (data_.size() < max_) {
        data_.resize(data_.size() * 2);  // a line longer than any so far: rare
      } else {
        return {};
      }
    }
    return asio::buffer(data_.data() + end_, data_.size() - end_);
  }

  // `n` bytes were read into space().
  void filled(std::size_t n) { end_ += n; }

 private:
  std::vector<char> data_;
  std::size_t begin_ = 0, end_ = 0;
  std::size_t max_;
};

}  // namespace enchufe::bench
