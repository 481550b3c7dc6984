#pragma once
// One thread that runs the chat's slow jobs in order, off the event loops:
// hashing a password (tens of milliseconds and 64 MiB, on purpose) and
// writing accounts, bans and the audit to the store. One thread bounds what
// a storm of logins costs: one hash at a time, kMaxWaitingJobs waiting.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace enchufe::services::chat::moderation {

// Jobs waiting before more are refused (the caller says "try again").
inline constexpr std::size_t kMaxWaitingJobs = 64;

class Worker {
 public:
  Worker() : thread_([this] { run(); }) {}
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // False if too many jobs wait (or the worker has stopped): not queued.
  // `must` queues it whatever the count: a store write that keeps a ban or
  // an audit line is not dropped because logins are busy.
  bool post(std::function<void()> job, bool must = false) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || (!must && jobs_.size() >= kMaxWaitingJobs)) return false;
      jobs_.push_back(std::move(job));
    }
    changed_.notify_one();
    return true;
  }

  // Runs what is queued, then ends the thread. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace enchufe::services::chat::moderation
