#pragma once
// Read buffers a loop lends to its busy connections.
//
// A connection that waits for readiness (async_wait) and then reads into
// the loop's shared buffer holds no buffer while idle; but Asio's reactor
// re-arms epoll (EPOLL_CTL_MOD) for every such wait, which is never
// speculative: one more system call per request. A read handed to the
// reactor with its buffer (async_read_some) needs no re-arm: the
// descriptor stays registered, edge-triggered, and after a short read the
// reactor waits for the next edge without trying again. So a connection
// that has had input borrows a small buffer from its loop and reads that
// way; a sweep every quiet spell asks those that read nothing since the
// last one to give theirs back, and they wait for readiness again. The
// pool is as large as the busy connections, not all of them; with every
// buffer lent, a connection goes on waiting for readiness (one system
// call more, never wrong).
//
// One per loop, used on its thread only; the counts may be read from any
// (--metrics).

#include "net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace enchufe::net {

// --read-buffers: buffers each loop lends at most. A request/reply client
// sends little at a time; a connection that fills its buffer reads on
// into the loop's shared one. 4,096 of 4 KiB is 16 MiB a loop at most,
// more busy clients than one core keeps busy at full speed.
inline constexpr std::size_t kLentBufferBytes = 4 * 1024;
inline constexpr std::size_t kMaxLentBuffers = 4096;
// --read-quiet: a connection with no input for one to two of these gives
// its buffer back: long enough that a client pausing between requests
// keeps it, short enough that idle connections pin no memory.
inline constexpr std::chrono::milliseconds kReadQuietSpell{1000};

class ReadBufferPool {
 public:
  // What a borrower is told when its buffer is wanted back: it ends its
  // read (cancels it), then calls give_back().
  using WantedBack = void (*)(void* borrower);
  using Ticket = std::uint32_t;
  static constexpr Ticket kNone = UINT32_MAX;

  ReadBufferPool(std::size_t max_buffers = kMaxLentBuffers, std::chrono::milliseconds quiet = kReadQuietSpell);
  ReadBufferPool(const ReadBufferPool&) = delete;
  ReadBufferPool& operator=(const ReadBufferPool&) = delete;
  ~ReadBufferPool();

  // Sweeps run on `executor`'s loop; stop() before its context goes.
  void start(asio::io_context::executor_type executor);
  void stop();
  // Before the loop runs (serve's --read-buffers, --read-quiet).
  void set_limits(std::size_t max_buffers, std::chrono::milliseconds quiet);

  // A buffer for `borrower`, or kNone when every buffer is lent.
  Ticket lend(void* borrower, WantedBack wanted_back);
  std::span<char> buffer(Ticket ticket) { return {slots_[ticket].buffer.get(), kLentBufferBytes}; }
  // The borrower read into its buffer: it is busy, and keeps it.
  void used(Ticket ticket) { slots_[ticket].used = true; }
  // Back to the pool; `ticket` becomes kNone. Idempotent.
  void give_back(Ticket& ticket);

  // For --metrics and tests, from any thread.
  std::size_t lent() const { return lent_.load(std::memory_order_relaxed); }
  std::size_t held() const { return held_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::unique_ptr<char[]> buffer;  // kept while free, until a sweep finds it unused
    void* borrower = nullptr;        // null: free
    WantedBack wanted_back = nullptr;
    bool used = false;  // read into since the last sweep (or lent since)
  };
  void arm();
  void sweep();

  std::size_t max_buffers_;
  std::chrono::milliseconds quiet_;
  std::vector<Slot> slots_;
  std::vector<Ticket> free_;  // slots not lent, the most recently given back last
  std::unique_ptr<asio::steady_timer> timer_;
  bool armed_ = false;
  std::atomic<std::size_t> lent_{0}, held_{0};
};

}  // namespace enchufe::net
