#include "support/threads.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <string_view>

namespace enchufe::test {

namespace {

long voluntary_switches(const std::filesystem::path& task) {
  std::ifstream status(task / "status");
  for (std::string line; std::getline(status, line);) {
    constexpr std::string_view kKey = "voluntary_ctxt_switches:";
    if (line.starts_with(kKey)) return std::stol(line.substr(kKey.size()));
  }
  return 0;
}

}  // namespace

std::vector<ThreadInfo> threads_of(pid_t pid) {
  std::vector<ThreadInfo> threads;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    ThreadInfo info;
    std::ifstream comm(task.path() / "comm");
    if (!std::getline(comm, info.name)) continue;  // the thread ended meanwhile
    info.voluntary_switches = voluntary_switches(task.path());
    threads.push_back(std::move(info));
  }
  return threads;
}

std::vector<ThreadInfo> loop_threads(pid_t pid) {
  auto threads = threads_of(pid);
  std::erase_if(threads, [](const ThreadInfo& t) { return !t.name.starts_with("loop-"); });
  // "loop-10" after "loop-9": by number, not by text.
  std::sort(threads.begin(), threads.end(), [](const ThreadInfo& a, const ThreadInfo& b) {
    return std::stoi(a.name.substr(5)) < std::stoi(b.name.substr(5));
  });
  return threads;
}

std::string wait_for_loops(pid_t pid, std::size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ThreadInfo> loops;
  for (;;) {
    loops = loop_threads(pid);
    bool as_expected = loops.size() == n;
    for (std::size_t i = 0; as_expected && i < n; ++i) as_expected = loops[i].name == "loop-" + std::to_string(i);
    if (as_expected) return "";
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string names;
  for (const auto& loop : loops) names += (names.empty() ? "" : ", ") + loop.name;
  return "expected " + std::to_string(n) + " loop threads (loop-0 ... loop-" + std::to_string(n - 1) + "), found " +
         std::to_string(loops.size()) + ": [" + names + "]";
}

}  // namespace enchufe::test
