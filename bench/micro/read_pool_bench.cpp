// The loop's pool of read buffers (net/read_buffer_pool.hpp): what a busy
// connection pays to borrow and give back, and what a sweep costs a loop.
#include "net/read_buffer_pool.hpp"

#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <vector>

namespace {

using enchufe::net::ReadBufferPool;
using namespace std::chrono_literals;

void nothing(void*) {}

// One borrower, lend then give back, again and again (a connection that
// goes quiet and busy). The pool is started, so the sweep timer is armed
// (never run): lend() pays only the "already armed" check, as it does in a
// busy loop.
void BM_LendGiveBackOneBorrower(benchmark::State& state) {
  boost::asio::io_context context;
  ReadBufferPool pool(1024, 1000ms);
  pool.start(context.get_executor());
  int borrower = 0;
  for (auto _ : state) {
    auto ticket = pool.lend(&borrower, &nothing);
    benchmark::DoNotOptimize(pool.buffer(ticket).data());
    pool.give_back(ticket);
  }
  pool.stop();
}
BENCHMARK(BM_LendGiveBackOneBorrower);

// Many borrowers through a pool of 1024: `range(0)` of them hold a buffer,
// and each turn the one that has held it longest gives it back and another
// borrows (with 1024, every lend takes the buffer just given back from a
// full pool).
void BM_LendGiveBackManyBorrowers(benchmark::State& state) {
  boost::asio::io_context context;
  ReadBufferPool pool(1024, 1000ms);
  pool.start(context.get_executor());
  const auto holders = static_cast<std::size_t>(state.range(0));
  std::vector<int> borrowers(holders * 2);
  std::vector<ReadBufferPool::Ticket> held(holders, ReadBufferPool::kNone);
  for (std::size_t i = 0; i < holders; ++i) held[i] = pool.lend(&borrowers[i], &nothing);
  std::size_t oldest = 0, next = holders;
  for (auto _ : state) {
    pool.give_back(held[oldest]);
    held[oldest] = pool.lend(&borrowers[next], &nothing);
    benchmark::DoNotOptimize(pool.buffer(held[oldest]).data());
    oldest = oldest + 1 == holders ? 0 : oldest + 1;
    next = next + 1 == borrowers.size() ? 0 : next + 1;
  }
  for (auto& ticket : held) pool.give_back(ticket);
  pool.stop();
}
BENCHMARK(BM_LendGiveBackManyBorrowers)->Arg(64)->Arg(1024);

// One sweep over 4,096 lent slots: all read since the last sweep (each is
// only marked quiet), or none did (each borrower is asked, through a no-op
// WantedBack, and keeps its buffer). The spell is 0 so the timer is due at
// once: each iteration is one run_one() of the loop, the sweep and its
// timer's round trip through the reactor (the 1-slot case shows that part).
// Arguments: slots, all used (1) or all quiet (0).
void BM_Sweep(benchmark::State& state) {
  const auto slots = static_cast<std::size_t>(state.range(0));
  const bool all_used = state.range(1) != 0;
  boost::asio::io_context context;
  ReadBufferPool pool(slots, 0ms);
  pool.start(context.get_executor());
  std::vector<int> borrowers(slots);
  std::vector<ReadBufferPool::Ticket> tickets(slots);
  for (std::size_t i = 0; i < slots; ++i) tickets[i] = pool.lend(&borrowers[i], &nothing);
  std::size_t swept = 0;
  for (auto _ : state) {
    if (all_used) {
      state.PauseTiming();
      for (const auto ticket : tickets) pool.used(ticket);
      state.ResumeTiming();
    }
    swept += context.run_one();
  }
  if (swept != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a run_one() ran no sweep");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * slots));
  state.SetLabel(all_used ? "all used" : "all quiet");
  for (auto& ticket : tickets) pool.give_back(ticket);
  pool.stop();
}
BENCHMARK(BM_Sweep)->Args({4096, 1})->Args({4096, 0})->Args({1, 1})->Args({1, 0})->Unit(benchmark::kMicrosecond);

}  // namespace
