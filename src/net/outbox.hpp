#pragma once
// Bytes owed to one client, in order, kept in one contiguous buffer so a
// whole backlog of replies leaves in a single write(2).

#include <asio/buffer.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace enchufe::net {

class Outbox {
 public:
  // Appends the pieces back to back (e.g. {"Eco: ", text, "\n"}).
  void append(std::initializer_list<std::string_view> pieces);

  std::size_t size() const { return data_.size() - head_; }
  bool empty() const { return size() == 0; }

  // Everything owed, as one buffer for write_some().
  asio::const_buffer pending() const { return asio::buffer(data_.data() + head_, size()); }

  // Drops the first n bytes (they were written).
  void consume(std::size_t n);

 private:
  std::string data_;
  std::size_t head_ = 0;  // bytes before head_ are already written
};

}  // namespace enchufe::net
