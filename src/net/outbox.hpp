#pragma once
// Bytes owed to one client, in order, ready to leave in one gathered write.
//
// Two kinds of bytes: copies the connection made itself (echo replies),
// kept back to back in one buffer, and shared immutable texts (a chat line
// encoded once for all its recipients), referenced, never copied.

#include "net/asio.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::net {

using SharedText = std::shared_ptr<const std::string>;

class Outbox {
 public:
  // Copies the pieces, back to back (e.g. {"Eco: ", text, "\n"}).
  void append(std::initializer_list<std::string_view> pieces);
  // Queues a shared text without copying it.
  void append(SharedText text);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Fills `out` with buffers covering the start of what is owed, in order;
  // returns how many it used.
  std::size_t gather(std::span<asio::const_buffer> out) const;

  // Drops the first n bytes (they were written).
  void consume(std::size_t n);

  // Drops everything.
  void clear();

 private:
  // A run of owed bytes: a shared text, or (when `shared` is null) the next
  // `size` bytes of owned_.
  struct Chunk {
    SharedText shared;
    std::size_t size;
  };

  std::vector<Chunk> chunks_;   // chunks_[head_..] are owed
  std::size_t head_ = 0;
  std::size_t head_offset_ = 0;  // bytes of chunks_[head_] already written
  std::string owned_;            // bytes of the owned chunks, in order
  std::size_t owned_head_ = 0;   // owned_ bytes before this are written
  std::size_t size_ = 0;
};

}  // namespace enchufe::net
