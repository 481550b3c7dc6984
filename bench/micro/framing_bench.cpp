// Line framing: the echo server's per-read work before any reply.
#include "net/line_framer.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

std::string lines(std::size_t count, std::size_t length) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) out.append(length, 'x').append("\n");
  return out;
}

// One read holding many short lines (a pipelining client).
void BM_FramePipelinedLines(benchmark::State& state) {
  const std::string input = lines(static_cast<std::size_t>(state.range(0)), 16);
  enchufe::net::LineFramer framer(64 * 1024);
  std::size_t seen = 0;
  for (auto _ : state) {
    framer.feed(
        input,
        [&](std::string_view line, std::string_view) {
          seen += line.size();
          return true;
        },
        [] { return true; });
  }
  benchmark::DoNotOptimize(seen);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FramePipelinedLines)->Arg(1)->Arg(16)->Arg(256);

// A long line split across small reads (assembled in the framer's buffer).
void BM_FrameLineAcrossReads(benchmark::State& state) {
  const std::string input = lines(1, 8192);
  const auto chunk = static_cast<std::size_t>(state.range(0));
  enchufe::net::LineFramer framer(64 * 1024);
  for (auto _ : state) {
    for (std::size_t at = 0; at < input.size(); at += chunk) {
      framer.feed(
          std::string_view(input).substr(at, chunk), [](std::string_view, std::string_view) { return true; },
          [] { return true; });
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_FrameLineAcrossReads)->Arg(512)->Arg(4096);

}  // namespace
