#include "net/outbox.hpp"

namespace enchufe::net {

namespace {
// A slow client can leave large buffers behind; an idle connection should not
// keep them.
constexpr std::size_t kKeepOwnedCapacity = 16 * 1024;
constexpr std::size_t kKeepChunkCapacity = 64;
}  // namespace

void Outbox::append(std::initializer_list<std::string_view> pieces) {
  std::size_t added = 0;
  for (auto piece : pieces) {
    owned_.append(piece);
    added += piece.size();
  }
  if (added == 0) return;
  if (head_ < chunks_.size() && !chunks_.back().shared) {
    chunks_.back().size += added;  // extends the last owned run
  } else {
    chunks_.push_back({nullptr, added});
  }
  size_ += added;
}

void Outbox::append(SharedText text) {
  if (!text || text->empty()) return;
  size_ += text->size();
  chunks_.push_back({std::move(text), 0});
}

std::size_t Outbox::gather(std::span<asio::const_buffer> out) const {
  std::size_t used = 0;
  std::size_t owned_pos = owned_head_;
  for (std::size_t i = head_; i < chunks_.size() && used < out.size(); ++i) {
    const Chunk& c = chunks_[i];
    const std::size_t skip = i == head_ ? head_offset_ : 0;
    if (c.shared) {
      out[used++] = asio::buffer(c.shared->data() + skip, c.shared->size() - skip);
    } else {
      out[used++] = asio::buffer(owned_.data() + owned_pos + skip, c.size - skip);
      owned_pos += c.size;
    }
  }
  return used;
}

void Outbox::consume(std::size_t n) {
  size_ -= n;
  while (n > 0) {
    Chunk& c = chunks_[head_];
    const std::size_t chunk_size = c.shared ? c.shared->size() : c.size;
    const std::size_t left = chunk_size - head_offset_;
    if (n < left) {
      head_offset_ += n;
      break;
    }
    n -= left;
    if (!c.shared) owned_head_ += c.size;
    c.shared.reset();
    ++head_;
    head_offset_ = 0;
  }
  if (head_ == chunks_.size()) {
    clear();
    return;
  }
  // Compact only once the written part dominates, so the cost stays
  // proportional to the bytes written.
  if (owned_head_ > owned_.size() / 2) {
    owned_.erase(0, owned_head_);
    owned_head_ = 0;
  }
  if (head_ > chunks_.size() / 2) {
    chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void Outbox::clear() {
  if (owned_.capacity() > kKeepOwnedCapacity) {
    std::string().swap(owned_);
  } else {
    owned_.clear();
  }
  if (chunks_.capacity() > kKeepChunkCapacity) {
    std::vector<Chunk>().swap(chunks_);
  } else {
    chunks_.clear();
  }
  head_ = head_offset_ = owned_head_ = size_ = 0;
}

}  // namespace enchufe::net
