#include "net/runtime.hpp"

#include "net/limits.hpp"
#include "net/log.hpp"

#include "net/asio.hpp"

#include <boost/asio/post.hpp>

#include <pthread.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <system_error>

namespace enchufe::net {

namespace {
thread_local Loop* t_current_loop = nullptr;
}

void ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }

namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks the shutdown signals in this thread (threads started later inherit
// the mask) and returns a descriptor that reads them.
int open_signal_descriptor() {
  const sigset_t set = shutdown_signals();
  if (const int e = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); e != 0) {
    throw std::system_error(e, std::generic_category(), "pthread_sigmask");
  }
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  return fd;
}

// "loop-N" (as `top -H`, `ps -L` and gdb show it): tells an operator which
// threads serve connections, and lets tests count the loops --threads made.
void name_this_thread(std::size_t index) {
  const std::string name = "loop-" + std::to_string(index);
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());  // the kernel keeps 15 bytes
}

}  // namespace

std::size_t raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<std::size_t>(limit.rlim_cur);
}

// ---- MemberList -----------------------------------------------------------

void MemberList::add(LoopMember& m) {
  m.prev_ = nullptr;
  m.next_ = head_;
  if (head_) head_->prev_ = &m;
  head_ = &m;
  ++size_;
}

void MemberList::remove(LoopMember& m) {
  if (m.prev_) {
    m.prev_->next_ = m.next_;
  } else if (head_ == &m) {
    head_ = m.next_;
  } else {
    return;  // not linked
  }
  if (m.next_) m.next_->prev_ = m.prev_;
  m.prev_ = m.next_ = nullptr;
  --size_;
}

void MemberList::close_all_for_shutdown() {
  for (LoopMember* m = head_; m != nullptr;) {
    LoopMember* next = m->next_;
    m->close_for_shutdown();
    m = next;
  }
}

// ---- Loop -----------------------------------------------------------------

Loop::Loop(std::size_t index)
    : index_(index),
      read_buffer_(limits::kReadChunkBytes),
      // Hint 1: exactly one thread runs this context, which lets Asio skip
      // waking other threads; posting from other threads stays safe.
      context_(1),
      work_(context_.get_executor()) {
  read_pool_.start(context_.get_executor());
}

// The pool's sweep timer goes while the context it belongs to is still here.
Loop::~Loop() { read_pool_.stop(); }

Loop* Loop::current() { return t_current_loop; }

void Loop::run() {
  t_current_loop = this;
  context_.run();
  t_current_loop = nullptr;
}

void Loop::begin_shutdown() {
  stopping_ = true;
  members_.close_all_for_shutdown();
  // With no more work guard the loop returns from run() once the last
  // connection has finished its goodbye.
  work_.reset();
}

// ---- Runtime --------------------------------------------------------------

Runtime::Runtime(std::size_t threads) : signals_(control_, open_signal_descriptor()) {
  ignore_sigpipe();
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>(i));
}

Runtime::~Runtime() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // SIGINT and SIGTERM stay blocked (see runtime.hpp): one that comes now,
  // with the process on its way out, stays pending and harmless.
  error_code ignored;
  signals_.close(ignored);
}

Loop& Runtime::next_loop() { return *loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]; }

void Runtime::on_stop(std::function<void()> fn) { stop_actions_.push_back(std::move(fn)); }

void Runtime::on_reload(std::function<void()> fn) {
  if (reload_actions_.empty()) {
    // From now on SIGHUP, too, is read from the signal descriptor.
    sigset_t set = shutdown_signals();
    sigaddset(&set, SIGHUP);
    if (const int e = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); e != 0) {
      throw std::system_error(e, std::generic_category(), "pthread_sigmask");
    }
    if (::signalfd(signals_.native_handle(), &set, SFD_NONBLOCK | SFD_CLOEXEC) < 0) {
      throw std::system_error(errno, std::generic_category(), "signalfd");
    }
  }
  reload_actions_.push_back(std::move(fn));
}

void Runtime::run() {
  wait_for_signal();
  for (auto& loop : loops_) {
    threads_.emplace_back([this, l = loop.get()] {
      name_this_thread(l->index());
      l->run();
      asio::post(control_, [this] { loop_finished(); });
    });
  }
  control_.run();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Runtime::request_stop() {
  asio::post(control_, [this] { begin_stop(); });
}

// The first signal starts the graceful shutdown; a second one means "now".
void Runtime::wait_for_signal() {
  signals_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const error_code& ec) {
    if (ec) return;
    signalfd_siginfo info{};
    if (::read(signals_.native_handle(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) {
      wait_for_signal();  // woken without a whole record: wait again
      return;
    }
    if (info.ssi_signo == SIGHUP) {
      log::info("received SIGHUP: reloading");
      for (auto& action : reload_actions_) action();
      wait_for_signal();
      return;
    }
    if (stopping_) {
      log::warn("second signal: stopping without waiting for owed replies");
      force_stop();
      return;
    }
    log::info("received {}: shutting down", info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
    begin_stop();
    wait_for_signal();
  });
}

void Runtime::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& action : stop_actions_) action();
  for (auto& loop : loops_) {
    asio::post(loop->context(), [l = loop.get()] { l->begin_shutdown(); });
  }
  deadline_.expires_after(limits::kShutdownDeadline);
  deadline_.async_wait([this](const error_code& ec) {
    if (ec) return;
    log::warn("shutdown deadline reached: closing the connections still open");
    force_stop();
  });
}

void Runtime::loop_finished() {
  if (++finished_loops_ < loops_.size()) return;
  // Everything drained in time: nothing left for the control thread.
  deadline_.cancel();
  signals_.cancel();
}

void Runtime::force_stop() {
  for (auto& loop : loops_) loop->context().stop();
  deadline_.cancel();
  signals_.cancel();
}

}  // namespace enchufe::net
