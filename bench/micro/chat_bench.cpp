// The chat's per-message work: sanitising user text and encoding the line
// once for every recipient, and queueing it in many outboxes (fan-out).
#include "net/outbox.hpp"
#include "services/chat/lines.hpp"
#include "services/chat/sanitize.hpp"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

const std::string kAscii = "hola a todos, ¿qué tal el día? esto es un mensaje de chat normal";
const std::string kHostile = std::string("\x1b[31mred\x07 \xff\xfe bad \xe2\x80\xae") + kAscii;

void BM_Sanitize(benchmark::State& state) {
  const std::string& text = state.range(0) == 0 ? kAscii : kHostile;
  std::string out;
  for (auto _ : state) {
    out.clear();
    enchufe::services::chat::append_sanitized(out, text);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Sanitize)->Arg(0)->Arg(1);

namespace chat = enchufe::services::chat;

// A message line as a room's home makes it: built and sanitised, then
// encoded once for terminals (text) and once for the web (JSON).
chat::SharedLine message_line() {
  auto line = chat::said_line(chat::LineKind::message, "general", "ana", kAscii);
  line->id = 42;
  chat::encode(*line, {});
  return line;
}

// Building and encoding the line every recipient will reference.
void BM_EncodeMessageLine(benchmark::State& state) {
  for (auto _ : state) {
    auto line = message_line();
    benchmark::DoNotOptimize(line);
  }
}
BENCHMARK(BM_EncodeMessageLine);

// Fan-out on one loop: one encoded line queued in N outboxes, then written
// (gathered) and consumed; the cost per recipient is a reference, not a copy.
void BM_FanOutToOutboxes(benchmark::State& state) {
  const auto recipients = static_cast<std::size_t>(state.range(0));
  std::vector<enchufe::net::Outbox> outboxes(recipients);
  std::array<asio::const_buffer, 64> buffers;
  for (auto _ : state) {
    const auto line = message_line();
    for (auto& o : outboxes) o.append(chat::text_of(line));
    for (auto& o : outboxes) {
      benchmark::DoNotOptimize(o.gather(buffers));
      o.consume(o.size());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * recipients));
}
BENCHMARK(BM_FanOutToOutboxes)->Arg(10)->Arg(200)->Arg(1000);

}  // namespace
