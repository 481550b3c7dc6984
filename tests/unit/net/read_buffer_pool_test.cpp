// The read buffers a loop lends to busy connections (issue 14): lending up
// to the limit, giving back, the sweep that asks quiet borrowers for their
// buffers and frees those unused for a spell, and a timer that stops once
// nothing is lent or held. A real io_context with short spells; every run
// is bounded by run_for.
#include "net/read_buffer_pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <vector>

namespace enchufe::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ticket = ReadBufferPool::Ticket;

constexpr auto kQuiet = 20ms;
// No test comes near it: a bound on every run, not a timing expectation.
constexpr auto kBound = 3000ms;

// Someone holding a ticket; the pool's WantedBack records who it asked,
// when, and (if `gives_back` is set) gives the buffer back on a later turn,
// as a connection does once its read has ended.
struct Borrower {
  ReadBufferPool* pool = nullptr;
  asio::io_context* context = nullptr;
  Ticket ticket = ReadBufferPool::kNone;
  bool gives_back = false;
  std::vector<Clock::time_point> asked;
  // Every WantedBack call of the test, in order, by borrower.
  std::vector<void*>* log = nullptr;
  std::function<void(Borrower&)> on_asked;

  static void wanted_back(void* self) {
    auto& b = *static_cast<Borrower*>(self);
    b.asked.push_back(Clock::now());
    if (b.log != nullptr) b.log->push_back(self);
    if (b.on_asked) b.on_asked(b);
    if (b.gives_back) asio::post(*b.context, [&b] { b.pool->give_back(b.ticket); });
  }
  Ticket borrow() {
    ticket = pool->lend(this, &Borrower::wanted_back);
    return ticket;
  }
};

// Runs `context` until it runs out of work or `bound` passes; how long it ran.
Clock::duration run_bounded(asio::io_context& context, Clock::duration bound = kBound) {
  const auto started = Clock::now();
  context.run_for(bound);
  return Clock::now() - started;
}

TEST(ReadBufferPool, LendsUpToTheLimitThenNone) {
  ReadBufferPool pool(3, kQuiet);
  std::vector<Borrower> borrowers(4);
  std::set<Ticket> tickets;
  for (int i = 0; i < 3; ++i) {
    borrowers[i].pool = &pool;
    const Ticket t = borrowers[i].borrow();
    ASSERT_NE(t, ReadBufferPool::kNone) << "lend " << i << " of 3";
    tickets.insert(t);
  }
  EXPECT_EQ(tickets.size(), 3u) << "three borrowers, three tickets";
  EXPECT_EQ(pool.lent(), 3u);
  EXPECT_EQ(pool.held(), 3u);
  borrowers[3].pool = &pool;
  EXPECT_EQ(borrowers[3].borrow(), ReadBufferPool::kNone) << "a fourth past --read-buffers 3";
  EXPECT_EQ(pool.lent(), 3u);
  EXPECT_EQ(pool.held(), 3u);
}

TEST(ReadBufferPool, BuffersAreLentBufferBytesLongAndSeparate) {
  ReadBufferPool pool(2, kQuiet);
  Borrower a{&pool}, b{&pool};
  ASSERT_NE(a.borrow(), ReadBufferPool::kNone);
  ASSERT_NE(b.borrow(), ReadBufferPool::kNone);
  const auto x = pool.buffer(a.ticket);
  const auto y = pool.buffer(b.ticket);
  EXPECT_EQ(x.size(), kLentBufferBytes);
  EXPECT_EQ(y.size(), kLentBufferBytes);
  ASSERT_NE(x.data(), nullptr);
  ASSERT_NE(y.data(), nullptr);
  EXPECT_TRUE(x.data() + x.size() <= y.data() || y.data() + y.size() <= x.data()) << "the buffers overlap";
  // Whole buffers are writable (ASan sees an overrun), and one borrower's
  // bytes are not another's.
  std::memset(x.data(), 'x', x.size());
  std::memset(y.data(), 'y', y.size());
  EXPECT_EQ(x[0], 'x');
  EXPECT_EQ(x[kLentBufferBytes - 1], 'x');
  EXPECT_EQ(y[0], 'y');
}

TEST(ReadBufferPool, AGivenBackTicketIsLentAgainAndGiveBackIsIdempotent) {
  ReadBufferPool pool(1, kQuiet);
  Borrower a{&pool}, b{&pool};
  const Ticket first = a.borrow();
  ASSERT_NE(first, ReadBufferPool::kNone);
  char* const memory = pool.buffer(first).data();
  EXPECT_EQ(b.borrow(), ReadBufferPool::kNone) << "the only buffer is lent";

  pool.give_back(a.ticket);
  EXPECT_EQ(a.ticket, ReadBufferPool::kNone) << "give_back sets the ticket to kNone";
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.held(), 1u) << "a buffer given back is kept for a while";
  pool.give_back(a.ticket);  // again: nothing happens
  EXPECT_EQ(a.ticket, ReadBufferPool::kNone);
  EXPECT_EQ(pool.lent(), 0u) << "a second give_back must not count twice";

  ASSERT_EQ(b.borrow(), first) << "the ticket given back is lent again";
  EXPECT_EQ(pool.buffer(b.ticket).data(), memory) << "its memory, kept while free, is reused";
  EXPECT_EQ(pool.lent(), 1u);
  EXPECT_EQ(pool.held(), 1u);
  EXPECT_EQ(a.borrow(), ReadBufferPool::kNone) << "and it is the only one again";
  pool.give_back(b.ticket);
  pool.give_back(b.ticket);
  EXPECT_EQ(pool.lent(), 0u);
}

TEST(ReadBufferPool, LimitZeroLendsNothing) {
  asio::io_context context;
  ReadBufferPool pool(4, kQuiet);
  pool.set_limits(0, kQuiet);
  pool.start(context.get_executor());
  Borrower a{&pool, &context};
  EXPECT_EQ(a.borrow(), ReadBufferPool::kNone);
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.held(), 0u);
  const auto ran = run_bounded(context);
  EXPECT_TRUE(context.stopped());
  EXPECT_LT(ran, 500ms) << "nothing lent: no sweep timer";
  pool.stop();
}

TEST(ReadBufferPool, SetLimitsBeforeStartSetsTheLimit) {
  ReadBufferPool pool;  // the defaults: kMaxLentBuffers
  pool.set_limits(2, kQuiet);
  Borrower a{&pool}, b{&pool}, c{&pool};
  EXPECT_NE(a.borrow(), ReadBufferPool::kNone);
  EXPECT_NE(b.borrow(), ReadBufferPool::kNone);
  EXPECT_EQ(c.borrow(), ReadBufferPool::kNone);
}

// A busy borrower (used() between every two sweeps) keeps its buffer; a
// quiet one is asked for it at the second sweep after it was lent (one to
// two spells), then at every sweep while it keeps it, once each. Sweeps
// are counted by a "clock" borrower that is never used and never gives
// back, so it is asked at every sweep from its second on.
TEST(ReadBufferPool, QuietBorrowersAreAskedOncePerSweepBusyOnesNever) {
  asio::io_context context;
  ReadBufferPool pool(8, kQuiet);
  pool.start(context.get_executor());
  std::vector<void*> log;
  Borrower clock{&pool, &context}, busy{&pool, &context}, quiet{&pool, &context};
  clock.log = busy.log = quiet.log = &log;

  // busy: used() every quarter spell, on the same loop. Timers run in the
  // order they expire, so a stalled machine still runs at least one of
  // these between two sweeps.
  asio::steady_timer ticker(context);
  std::function<void()> tick = [&] {
    if (busy.ticket != ReadBufferPool::kNone) pool.used(busy.ticket);
    ticker.expires_after(kQuiet / 4);
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  };

  Clock::time_point quiet_lent{};
  std::size_t sweeps_before_quiet = 0;
  clock.on_asked = [&](Borrower& c) {
    if (c.asked.size() == 1) {
      // A sweep runs now: lend the quiet one after it, on a later turn
      // (lending from inside the sweep is no borrower's business).
      asio::post(context, [&] {
        quiet_lent = Clock::now();
        sweeps_before_quiet = clock.asked.size();
        ASSERT_NE(quiet.borrow(), ReadBufferPool::kNone);
      });
    }
    if (c.asked.size() == 8) context.stop();
  };

  ASSERT_NE(clock.borrow(), ReadBufferPool::kNone);
  ASSERT_NE(busy.borrow(), ReadBufferPool::kNone);
  tick();
  const auto ran = run_bounded(context);
  ASSERT_EQ(clock.asked.size(), 8u) << "9 sweeps (180 ms) did not happen within " << kBound.count() << " ms";
  EXPECT_LT(ran, kBound);

  EXPECT_TRUE(busy.asked.empty()) << "a borrower that reads between sweeps was asked for its buffer "
                                  << busy.asked.size() << " times";
  for (void* who : log) EXPECT_NE(who, static_cast<void*>(&busy)) << "WantedBack called for the busy borrower";

  // The clock is asked from sweep 2 on (its ask k at sweep k + 1). The
  // quiet one was lent after sweep 2 (the clock's first ask): sweep 3 finds
  // it used since lent, sweep 4 asks; then sweeps 5..9 ask again.
  ASSERT_EQ(sweeps_before_quiet, 1u);
  ASSERT_FALSE(quiet.asked.empty()) << "a borrower quiet for six spells was never asked";
  EXPECT_EQ(quiet.asked.size(), 6u) << "asked at every sweep from the second after it was lent (4..9), once each";
  EXPECT_GE(quiet.asked.front() - quiet_lent, kQuiet) << "asked less than a spell after it was lent";

  // Who was asked, in order: sweep by sweep, each quiet borrower once, with
  // its own pointer.
  std::vector<void*> expected;
  for (int sweep = 2; sweep <= 9; ++sweep) {
    expected.push_back(&clock);
    if (sweep >= 4) expected.push_back(&quiet);
  }
  EXPECT_EQ(log, expected);
  for (std::size_t i = 1; i < quiet.asked.size(); ++i) {
    EXPECT_GE(quiet.asked[i] - quiet.asked[i - 1], kQuiet) << "asked twice within a spell (asks " << i - 1
                                                           << " and " << i << ")";
  }
  EXPECT_EQ(pool.lent(), 3u) << "nobody gave anything back";
  ticker.cancel();
  pool.stop();
}

// A borrower that stops reading is asked one to two spells after its last
// read, not counted from when it was lent.
TEST(ReadBufferPool, ABorrowerIsAskedOneToTwoSpellsAfterItsLastRead) {
  asio::io_context context;
  ReadBufferPool pool(2, kQuiet);
  pool.start(context.get_executor());
  Borrower reader{&pool, &context};
  reader.gives_back = true;
  ASSERT_NE(reader.borrow(), ReadBufferPool::kNone);

  // Reads every quarter spell for six spells, then stops.
  asio::steady_timer ticker(context);
  const auto lent_at = Clock::now();
  Clock::time_point last_read = lent_at;
  std::function<void()> tick = [&] {
    if (Clock::now() - lent_at >= 6 * kQuiet) return;
    if (reader.ticket != ReadBufferPool::kNone) {
      pool.used(reader.ticket);
      last_read = Clock::now();
    }
    ticker.expires_after(kQuiet / 4);
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  };
  tick();
  const auto ran = run_bounded(context);
  EXPECT_TRUE(context.stopped());
  EXPECT_LT(ran, kBound) << "the sweep timer kept the loop running";
  ASSERT_EQ(reader.asked.size(), 1u) << "asked once (it gave the buffer back at once)";
  EXPECT_GE(reader.asked[0] - last_read, kQuiet) << "asked within a spell of its last read";
  // Two spells at most, and a generous allowance for a loaded machine (the
  // sweep-by-sweep count is checked exactly in QuietBorrowers...).
  EXPECT_LT(reader.asked[0] - last_read, 2 * kQuiet + 200ms) << "asked long after two spells";
  EXPECT_GE(reader.asked[0] - lent_at, 6 * kQuiet) << "asked while it was still reading";
  EXPECT_EQ(reader.ticket, ReadBufferPool::kNone);
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.held(), 0u);
  pool.stop();
}

// Buffers given back are kept a whole spell (a connection back at once
// finds its memory), then freed; the timer then stops by itself.
TEST(ReadBufferPool, GivenBackBuffersAreFreedAfterAWholeSpellUnused) {
  asio::io_context context;
  ReadBufferPool pool(4, kQuiet);
  pool.start(context.get_executor());
  std::vector<Borrower> borrowers(3, Borrower{&pool, &context});
  for (auto& b : borrowers) ASSERT_NE(b.borrow(), ReadBufferPool::kNone);
  EXPECT_EQ(pool.lent(), 3u);
  EXPECT_EQ(pool.held(), 3u);
  for (auto& b : borrowers) pool.give_back(b.ticket);
  const auto given_back = Clock::now();
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.held(), 3u) << "freed at once";

  // Still held half a spell later.
  std::size_t held_half_a_spell_later = 99;
  asio::steady_timer look(context);
  look.expires_after(kQuiet / 2);
  look.async_wait([&](const boost::system::error_code&) { held_half_a_spell_later = pool.held(); });

  const auto ran = run_bounded(context);
  const auto freed_after = Clock::now() - given_back;
  EXPECT_EQ(held_half_a_spell_later, 3u);
  EXPECT_EQ(pool.held(), 0u) << "buffers nobody borrowed for spells are still held";
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_TRUE(context.stopped()) << "the sweep timer is still armed with nothing held";
  EXPECT_LT(ran, 1000ms) << "run() should return by itself after two spells";
  EXPECT_GE(freed_after, kQuiet) << "freed before a whole spell went by";
  EXPECT_TRUE(borrowers[0].asked.empty()) << "a borrower that gave back was asked again";
  pool.stop();
}

// A buffer given back when asked (on the turn after the sweep, as a
// connection does) is kept for the whole next spell, though it had been
// unused for one already: freed at the second sweep after it came back.
// Sweep by sweep, through a clock borrower in the first slot, which is
// asked before the sweep looks at the others.
TEST(ReadBufferPool, AGivenBackBufferIsKeptAWholeSpellFromWhenItCameBack) {
  asio::io_context context;
  ReadBufferPool pool(2, kQuiet);
  pool.start(context.get_executor());
  Borrower clock{&pool, &context}, leaver{&pool, &context};
  leaver.gives_back = true;
  std::vector<std::size_t> held_at_sweep;  // from sweep 2 on
  clock.on_asked = [&](Borrower& c) {
    held_at_sweep.push_back(pool.held());
    if (c.asked.size() == 5) context.stop();
  };
  ASSERT_NE(clock.borrow(), ReadBufferPool::kNone);
  ASSERT_NE(leaver.borrow(), ReadBufferPool::kNone);
  run_bounded(context);
  // Sweep 2 asks the leaver, which gives back on the next turn; sweep 3
  // finds its buffer used since then, sweep 4 frees it.
  EXPECT_EQ(held_at_sweep, (std::vector<std::size_t>{2, 2, 2, 1, 1}));
  EXPECT_EQ(leaver.asked.size(), 1u);
  EXPECT_EQ(leaver.ticket, ReadBufferPool::kNone);
  EXPECT_EQ(pool.lent(), 1u);
  pool.give_back(clock.ticket);
  pool.stop();
}

// A buffer lent again before the sweep that would free it is not freed
// under its borrower.
TEST(ReadBufferPool, ABufferLentAgainBeforeItIsFreedIsKept) {
  asio::io_context context;
  ReadBufferPool pool(1, kQuiet);
  pool.start(context.get_executor());
  Borrower a{&pool, &context}, b{&pool, &context};
  ASSERT_NE(a.borrow(), ReadBufferPool::kNone);
  pool.give_back(a.ticket);
  // Lend it again after one sweep (the buffer was found unused once).
  asio::steady_timer later(context);
  later.expires_after(kQuiet + kQuiet / 2);
  char* memory = nullptr;
  std::size_t held_then = 0;
  later.async_wait([&](const boost::system::error_code&) {
    held_then = pool.held();
    ASSERT_NE(b.borrow(), ReadBufferPool::kNone);
    memory = pool.buffer(b.ticket).data();
    std::memset(memory, 'b', kLentBufferBytes);
  });
  context.run_for(5 * kQuiet);
  EXPECT_EQ(held_then, 1u) << "freed after one sweep";
  ASSERT_NE(b.ticket, ReadBufferPool::kNone);
  EXPECT_EQ(pool.held(), 1u) << "a lent buffer was freed";
  EXPECT_EQ(pool.buffer(b.ticket).data(), memory);
  EXPECT_EQ(pool.buffer(b.ticket)[kLentBufferBytes - 1], 'b');
  EXPECT_FALSE(b.asked.empty()) << "quiet for spells, yet never asked";
  pool.give_back(b.ticket);
  pool.stop();
}

// No sweep timer keeps the loop alive: with nothing lent or held, run()
// returns at once; after a lend, it returns by itself once the borrower
// was asked, gave back, and the buffer was freed.
TEST(ReadBufferPool, TheLoopRunsOutOfWorkOnceEverythingIsGivenBackAndFreed) {
  asio::io_context context;
  ReadBufferPool pool(4, kQuiet);
  pool.start(context.get_executor());
  auto ran = run_bounded(context);
  EXPECT_TRUE(context.stopped());
  EXPECT_LT(ran, 100ms) << "started, nothing lent: no timer";

  context.restart();
  std::vector<Borrower> borrowers(3, Borrower{&pool, &context});
  for (auto& b : borrowers) {
    b.gives_back = true;
    ASSERT_NE(b.borrow(), ReadBufferPool::kNone);
  }
  ran = run_bounded(context);
  EXPECT_TRUE(context.stopped()) << "still running after " << kBound.count() << " ms";
  EXPECT_LT(ran, 1000ms) << "about four spells: asked at the second sweep, freed at the fourth";
  EXPECT_GE(ran, 3 * kQuiet);
  for (const auto& b : borrowers) {
    EXPECT_EQ(b.asked.size(), 1u);
    EXPECT_EQ(b.ticket, ReadBufferPool::kNone);
  }
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.held(), 0u);

  // And it starts again with the next lend.
  context.restart();
  Borrower again{&pool, &context};
  again.gives_back = true;
  ASSERT_NE(again.borrow(), ReadBufferPool::kNone);
  EXPECT_EQ(pool.held(), 1u);
  ran = run_bounded(context);
  EXPECT_TRUE(context.stopped());
  EXPECT_LT(ran, 1000ms);
  EXPECT_EQ(again.asked.size(), 1u) << "the sweep did not start again with a new lend";
  EXPECT_EQ(pool.held(), 0u);
  pool.stop();
}

// The loop's teardown: stop() with a sweep pending, then the context goes
// (its handlers destroyed without running) or runs (the cancelled sweep
// does nothing). Either way nothing is swept after stop().
TEST(ReadBufferPool, StopWithASweepPendingThenTheContextGoes) {
  auto context = std::make_unique<asio::io_context>();
  ReadBufferPool pool(2, kQuiet);
  pool.start(context->get_executor());
  Borrower a{&pool, context.get()};
  ASSERT_NE(a.borrow(), ReadBufferPool::kNone);  // arms the sweep
  pool.stop();
  context.reset();  // the cancelled wait is destroyed, never run
  EXPECT_TRUE(a.asked.empty());
  pool.give_back(a.ticket);
  EXPECT_EQ(pool.lent(), 0u);
}

TEST(ReadBufferPool, StopWithASweepPendingThenTheContextRuns) {
  asio::io_context context;
  ReadBufferPool pool(2, kQuiet);
  pool.start(context.get_executor());
  Borrower a{&pool, &context};
  ASSERT_NE(a.borrow(), ReadBufferPool::kNone);
  pool.stop();
  const auto ran = run_bounded(context);
  EXPECT_TRUE(context.stopped());
  EXPECT_LT(ran, 100ms) << "a stopped pool kept the loop running";
  EXPECT_TRUE(a.asked.empty()) << "swept after stop()";
  // Lending after stop() is allowed (connections destroyed with the
  // context give back); it arms nothing.
  Borrower b{&pool, &context};
  ASSERT_NE(b.borrow(), ReadBufferPool::kNone);
  context.restart();
  EXPECT_LT(run_bounded(context), 100ms);
  pool.give_back(a.ticket);
  pool.give_back(b.ticket);
  EXPECT_EQ(pool.lent(), 0u);
}

// The pool itself may go before a context that still holds its cancelled
// wait: the handler must not touch it (on the heap, so that ASan builds see
// a handler that does).
TEST(ReadBufferPool, ThePoolMayGoBeforeItsCancelledWaitRuns) {
  asio::io_context context;
  {
    auto pool = std::make_unique<ReadBufferPool>(2, kQuiet);
    pool->start(context.get_executor());
    Borrower a{pool.get(), &context};
    ASSERT_NE(a.borrow(), ReadBufferPool::kNone);
    pool->stop();
    pool->give_back(a.ticket);
  }
  EXPECT_LT(run_bounded(context), 100ms);
  EXPECT_TRUE(context.stopped());
}

}  // namespace
}  // namespace enchufe::net
