#pragma once
// The server runtime: one event loop (io_context) per thread, each owning the
// connections it runs, plus a control thread that handles signals and the
// graceful shutdown.
//
// SIGINT and SIGTERM are blocked in the constructing thread (and so in every
// loop thread started after it) and read from a signalfd on the control
// thread: no code runs in signal context, and a signal cannot land in a
// thread that is busy and be held there (ThreadSanitizer defers handlers
// that way, which once lost a SIGTERM in CI). Construct the Runtime before
// starting any other thread. The signals stay blocked after the Runtime is
// gone: the process is on its way out, and a late Ctrl-C must not turn exit
// 0 into death by SIGINT. A program that embeds the runtime and then lives on
// unblocks them itself.
//
// As in muduo, a connection belongs to exactly one loop for its whole life;
// other threads reach it only by posting to that loop, so per-connection state
// needs no locks.

#include "net/asio.hpp"
#include "net/read_buffer_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <csignal>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

namespace enchufe::net {

// Anything a loop must wind down when shutdown begins: a line connection, an
// HTTP session. Members are linked through themselves (no allocation per
// connection) and touched only from their loop's thread.
class LoopMember {
 public:
  // Shutdown began: answer what the client already sent, then close.
  virtual void close_for_shutdown() = 0;

 protected:
  LoopMember() = default;
  ~LoopMember() = default;
  LoopMember(const LoopMember&) = delete;
  LoopMember& operator=(const LoopMember&) = delete;

 private:
  friend class MemberList;
  LoopMember* prev_ = nullptr;
  LoopMember* next_ = nullptr;
};

class MemberList {
 public:
  void add(LoopMember& m);
  void remove(LoopMember& m);
  std::size_t size() const { return size_; }
  // Calls close_for_shutdown() on each; a member may unlink itself meanwhile.
  void close_all_for_shutdown();

 private:
  LoopMember* head_ = nullptr;
  std::size_t size_ = 0;
};

class Loop {
 public:
  explicit Loop(std::size_t index);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  ~Loop();

  // Position in the runtime (0..threads-1): lets services keep per-loop state
  // in a plain vector.
  std::size_t index() const { return index_; }
  asio::io_context& context() { return context_; }
  asio::io_context::executor_type executor() { return context_.get_executor(); }

  // Scratch space shared by every connection of this loop: a connection reads
  // into it and consumes the bytes before yielding, so none holds a buffer
  // of its own while idle.
  std::span<char> read_buffer() { return read_buffer_; }
  // Buffers lent to busy connections, which read without waiting for
  // readiness first (read_buffer_pool.hpp).
  ReadBufferPool& read_pool() { return read_pool_; }

  MemberList& members() { return members_; }
  bool stopping() const { return stopping_; }

  // The loop of the calling thread (null outside loop threads).
  static Loop* current();

 private:
  friend class Runtime;
  void run();
  void begin_shutdown();

  // Declared before context_ so it outlives it: destroying the context
  // destroys suspended connections, which unlink themselves from this list.
  MemberList members_;
  std::size_t index_;
  std::vector<char> read_buffer_;
  // Before context_ too: connections destroyed with it give buffers back.
  ReadBufferPool read_pool_;
  bool stopping_ = false;
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
};

class Runtime {
 public:
  // threads == 0 means one per core.
  explicit Runtime(std::size_t threads = 0);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  std::size_t size() const { return loops_.size(); }
  Loop& loop(std::size_t i) { return *loops_[i]; }
  // The loop for the next new connection: round-robin, callable from any thread.
  Loop& next_loop();

  // Registers something to do, on the control thread, when shutdown begins
  // (servers close their listening sockets here).
  void on_stop(std::function<void()> fn);

  // Registers something to do, on the control thread, on SIGHUP (TLS
  // certificates are read again). Without any, SIGHUP keeps its default
  // (a closed terminal ends the server). Call before run(), from the thread
  // that constructed the Runtime, before any other thread starts.
  void on_reload(std::function<void()> fn);

  // Runs every loop until SIGINT/SIGTERM or request_stop(); then stops
  // accepting, lets owed replies drain for up to limits::kShutdownDeadline,
  // and returns. A second signal stops at once.
  void run();

  // Thread-safe: begins the graceful shutdown as if SIGTERM had arrived.
  void request_stop();

 private:
  void wait_for_signal();
  void begin_stop();
  void loop_finished();
  void force_stop();

  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<std::size_t> next_{0};
  std::vector<std::function<void()>> stop_actions_;
  std::vector<std::function<void()>> reload_actions_;

  asio::io_context control_{1};
  asio::posix::stream_descriptor signals_;
  asio::steady_timer deadline_{control_};
  bool stopping_ = false;
  std::size_t finished_loops_ = 0;
  std::vector<std::thread> threads_;
};

// Raises the soft limit on open descriptors to the hard limit (as Redis does
// for maxclients) and returns the limit now in force.
std::size_t raise_open_files_limit();

// Makes a write to a closed socket an EPIPE error instead of a fatal signal.
void ignore_sigpipe();

}  // namespace enchufe::net
