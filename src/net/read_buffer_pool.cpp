#include "net/read_buffer_pool.hpp"

#include <utility>

namespace enchufe::net {

ReadBufferPool::ReadBufferPool(std::size_t max_buffers, std::chrono::milliseconds quiet)
    : max_buffers_(max_buffers), quiet_(quiet) {}

ReadBufferPool::~ReadBufferPool() = default;

void ReadBufferPool::start(asio::io_context::executor_type executor) {
  timer_ = std::make_unique<asio::steady_timer>(executor);
}

void ReadBufferPool::stop() {
  timer_.reset();
  armed_ = false;
}

void ReadBufferPool::set_limits(std::size_t max_buffers, std::chrono::milliseconds quiet) {
  max_buffers_ = std::min<std::size_t>(max_buffers, kNone);
  quiet_ = quiet;
}

ReadBufferPool::Ticket ReadBufferPool::lend(void* borrower, WantedBack wanted_back) {
  Ticket ticket;
  if (!free_.empty()) {
    ticket = free_.back();
    free_.pop_back();
  } else if (slots_.size() < max_buffers_) {
    ticket = static_cast<Ticket>(slots_.size());
    slots_.emplace_back();
  } else {
    return kNone;
  }
  Slot& slot = slots_[ticket];
  if (!slot.buffer) {
    slot.buffer = std::make_unique_for_overwrite<char[]>(kLentBufferBytes);
    held_.fetch_add(1, std::memory_order_relaxed);
  }
  slot.borrower = borrower;
  slot.wanted_back = wanted_back;
  slot.used = true;  // it has just had input: a whole spell before it is asked
  lent_.fetch_add(1, std::memory_order_relaxed);
  arm();
  return ticket;
}

void ReadBufferPool::give_back(Ticket& ticket) {
  if (ticket == kNone) return;
  Slot& slot = slots_[ticket];
  slot.borrower = nullptr;
  slot.wanted_back = nullptr;
  slot.used = true;  // freed now: its memory is kept for a whole spell
  free_.push_back(ticket);
  lent_.fetch_sub(1, std::memory_order_relaxed);
  ticket = kNone;
}

void ReadBufferPool::arm() {
  if (armed_ || !timer_) return;
  armed_ = true;
  timer_->expires_after(quiet_);
  timer_->async_wait([this](const error_code& ec) {
    if (ec) return;  // stopped: the loop is going away
    armed_ = false;
    sweep();
  });
}

// Quiet borrowers are asked for their buffers (they give them back once
// their reads have ended, on a later turn); buffers nobody borrowed for a
// whole spell are freed, so a server gone idle holds none.
void ReadBufferPool::sweep() {
  bool keep_sweeping = false;
  for (Slot& slot : slots_) {
    if (slot.borrower != nullptr) {
      keep_sweeping = true;
      if (!std::exchange(slot.used, false)) slot.wanted_back(slot.borrower);
    } else if (slot.buffer && !std::exchange(slot.used, false)) {
      slot.buffer.reset();
      held_.fetch_sub(1, std::memory_order_relaxed);
    } else if (slot.buffer) {
      keep_sweeping = true;
    }
  }
  if (keep_sweeping) arm();
}

}  // namespace enchufe::net
