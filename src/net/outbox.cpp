#include "net/outbox.hpp"

namespace enchufe::net {

void Outbox::append(std::initializer_list<std::string_view> pieces) {
  for (auto piece : pieces) data_.append(piece);
}

void Outbox::consume(std::size_t n) {
  head_ += n;
  if (head_ < data_.size()) {
    // Compact only once the written part dominates, so the memmove cost
    // stays proportional to the bytes written.
    if (head_ > data_.size() / 2) {
      data_.erase(0, head_);
      head_ = 0;
    }
    return;
  }
  head_ = 0;
  // A slow client can leave a large buffer behind; an idle connection should
  // not keep it.
  constexpr std::size_t kKeepCapacity = 16 * 1024;
  if (data_.capacity() > kKeepCapacity) {
    std::string().swap(data_);
  } else {
    data_.clear();
  }
}

}  // namespace enchufe::net
