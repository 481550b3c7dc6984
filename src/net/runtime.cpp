#include "net/runtime.hpp"

#include "net/connection.hpp"
#include "net/limits.hpp"
#include "net/log.hpp"

#include <asio/post.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstdint>

namespace enchufe::net {

namespace {
thread_local Loop* t_current_loop = nullptr;
}

void ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }

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

// ---- ConnectionList -------------------------------------------------------

void ConnectionList::add(Connection& c) {
  c.hook_.prev = nullptr;
  c.hook_.next = head_;
  if (head_) head_->hook_.prev = &c;
  head_ = &c;
  ++size_;
}

void ConnectionList::remove(Connection& c) {
  if (c.hook_.prev) {
    c.hook_.prev->hook_.next = c.hook_.next;
  } else if (head_ == &c) {
    head_ = c.hook_.next;
  } else {
    return;  // not linked
  }
  if (c.hook_.next) c.hook_.next->hook_.prev = c.hook_.prev;
  c.hook_ = {};
  --size_;
}

void ConnectionList::for_each(const std::function<void(Connection&)>& f) {
  for (Connection* c = head_; c != nullptr;) {
    Connection* next = c->hook_.next;
    f(*c);
    c = next;
  }
}

// ---- Loop -----------------------------------------------------------------

Loop::Loop(std::size_t index)
    : index_(index),
      read_buffer_(limits::kReadChunkBytes),
      // Hint 1: exactly one thread runs this context, which lets Asio skip
      // waking other threads; posting from other threads stays safe.
      context_(1),
      work_(context_.get_executor()) {}

Loop::~Loop() = default;

Loop* Loop::current() { return t_current_loop; }

void Loop::run() {
  t_current_loop = this;
  context_.run();
  t_current_loop = nullptr;
}

void Loop::begin_shutdown() {
  stopping_ = true;
  connections_.for_each([](Connection& c) { c.close_when_idle(CloseReason::server_shutdown); });
  // With no more work guard the loop returns from run() once the last
  // connection has finished its goodbye.
  work_.reset();
}

// ---- Runtime --------------------------------------------------------------

Runtime::Runtime(std::size_t threads) {
  ignore_sigpipe();
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>(i));
}

Runtime::~Runtime() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Loop& Runtime::next_loop() { return *loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]; }

void Runtime::on_stop(std::function<void()> fn) { stop_actions_.push_back(std::move(fn)); }

void Runtime::run() {
  signals_.async_wait([this](const asio::error_code& ec, int signo) {
    if (ec) return;
    log::info("received {}: shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
    begin_stop();
  });
  for (auto& loop : loops_) {
    threads_.emplace_back([this, l = loop.get()] {
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

void Runtime::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  // A second signal means "now".
  signals_.async_wait([this](const asio::error_code& ec, int) {
    if (ec) return;
    log::warn("second signal: stopping without waiting for owed replies");
    force_stop();
  });
  for (auto& action : stop_actions_) action();
  for (auto& loop : loops_) {
    asio::post(loop->context(), [l = loop.get()] { l->begin_shutdown(); });
  }
  deadline_.expires_after(limits::kShutdownDeadline);
  deadline_.async_wait([this](const asio::error_code& ec) {
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
