#pragma once
// Console for pipes and files: blocking reads on a thread of its own (they
// work for terminals, pipes and plain files alike) and the peer's bytes
// printed exactly as they came.

#include "client/console.hpp"

#include <memory>
#include <mutex>
#include <semaphore>

namespace enchufe::client {

class PlainConsole final : public Console {
 public:
  explicit PlainConsole(asio::io_context& context);
  ~PlainConsole() override;

  bool interactive() const override { return false; }
  void start(LineHandler on_line) override;
  void line_done() override { reader_->in_flight.release(); }
  void print_incoming(std::string_view bytes) override;
  void notice(std::string_view text) override;

 private:
  // What the reader thread uses. The thread may still be blocked in read(2)
  // when the console goes away (it is detached, not joined: nothing can
  // interrupt a read on a terminal), so this is shared, and `closed` stops
  // it from posting to an io_context that no longer exists.
  struct Reader {
    static constexpr std::ptrdiff_t kLinesInFlight = 64;
    asio::io_context& context;
    LineHandler on_line;
    // Lines read but not yet handled: the reader waits beyond this many, so
    // a large piped file is not slurped into memory ahead of a slow server.
    std::counting_semaphore<kLinesInFlight> in_flight{kLinesInFlight};
    std::mutex mutex;
    bool closed = false;
    void post(std::optional<std::string> line);
    void run();
  };

  std::shared_ptr<Reader> reader_;
  bool stdout_is_terminal_;
  std::mutex output_mutex_;
  bool line_open_ = false;  // on a terminal: the last byte printed was not a newline
};

}  // namespace enchufe::client
