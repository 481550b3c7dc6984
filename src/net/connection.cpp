#include "net/connection.hpp"

#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/log.hpp"
#include "net/text.hpp"
#include "net/tls_describe.hpp"
#include "net/trace.hpp"

#include "net/asio.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>

#include <array>
#include <span>

namespace enchufe::net {

namespace {

CloseReason classify(const error_code& ec) {
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted) {
    return CloseReason::reset;
  }
  return CloseReason::io_error;
}

bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

template <typename... Args>
void Connection::note(log::Level level, std::string_view event, fmt::format_string<Args...> format,
                      Args&&... args) const {
  if (!log::enabled(level)) return;
  const std::string peer = to_string(peer_);
  log::at(level, {server_->name, id_, peer, event}, format, std::forward<Args>(args)...);
}

template <typename... Args>
void Connection::trace_step(std::string_view step, fmt::format_string<Args...> format, Args&&... args) const {
  const std::string peer = to_string(peer_);
  trace::step({server_->name, id_, peer, {}}, step, format, std::forward<Args>(args)...);
}

std::uint64_t next_client_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::string_view describe(CloseReason reason) {
  switch (reason) {
    case CloseReason::peer_closed: return "client closed the connection";
    case CloseReason::quit: return "client quit";
    case CloseReason::done: return "done";
    case CloseReason::line_too_long: return "line too long";
    case CloseReason::idle_timeout: return "idle timeout";
    case CloseReason::reset: return "connection reset by client";
    case CloseReason::io_error: return "socket error";
    case CloseReason::server_shutdown: return "server shutting down";
    case CloseReason::too_slow: return "too slow (did not read what it was sent)";
    case CloseReason::flooding: return "flooding";
    case CloseReason::bad_input: return "bad input";
  }
  return "unknown";
}

Connection::Connection(Loop& loop, TcpSocket socket, asio::ip::tcp::endpoint peer,
                       std::shared_ptr<ServerContext> server, ClientSlot slot, std::unique_ptr<Transport> transport)
    : loop_(loop),
      socket_(std::move(socket)),
      own_transport_(std::move(transport)),
      transport_(own_transport_ ? *own_transport_ : plain_transport()),
      server_(std::move(server)),
      slot_(std::move(slot)),
      protocol_(server_->make_protocol()),
      id_(next_client_id()),
      peer_(peer),
      framer_(server_->options.max_line),
      counters_(server_->metrics->loop(loop.index())),
      last_input_(Clock::now()) {
  error_code ignored;
  socket_.non_blocking(true, ignored);
  // Replies are gathered by us, one write per read; Nagle would only delay them.
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  if (server_->options.keepalive) socket_.set_option(asio::socket_base::keep_alive(true), ignored);
  loop_.members().add(*this);
}

Connection::~Connection() {
  loop_.read_pool().give_back(read_ticket_);  // a frame destroyed mid-read (the loop going away)
  loop_.members().remove(*this);
}

void Connection::start() {
  spawn(loop_.executor(), [self = shared_from_this()] { return self->run(); });
}

std::string logged_preview(const ConnectionOptions& options, std::string_view bytes) {
  if (options.secret != nullptr && options.secret(bytes)) return "(hidden: it carries a password)";
  return preview(bytes);
}

void start_connection(Loop& loop, TcpSocket socket, const asio::ip::tcp::endpoint& peer,
                      const std::shared_ptr<ServerContext>& context, ClientSlot slot,
                      std::unique_ptr<Transport> transport) {
  auto connection =
      std::make_shared<Connection>(loop, std::move(socket), peer, context, std::move(slot), std::move(transport));
  connection->start();
  // Accepted just as shutdown began: it still gets its greeting, if any.
  if (loop.stopping()) connection->close_when_idle(CloseReason::server_shutdown);
}

// ---- lifecycle ------------------------------------------------------------

// Before the first read: the greeting, if any, and the idle deadline.
void Connection::opened() {
  note(connection_log_level(), "connected", "connected {}", to_string(peer_));
  in_callback_ = true;
  protocol_->on_open(*this);
  in_callback_ = false;
  flush();
  if (server_->options.idle_timeout.count() > 0) arm_watchdog();
}

// After the last read: what is owed goes out, then the socket closes.
asio::awaitable<void> Connection::close_down() {
  co_await drain_before_close();
  // Closing first (quit, greet, shutdown)? Then linger; if the client closed
  // first it has nothing more to send.
  if (state_ == State::closing && !peer_eof_) co_await lingering_close();

  error_code ignored;
  socket_.close(ignored);
  if (trace::on()) {
    trace_step("6 close", "socket closed{}",
               peer_eof_                  ? "; the client closed first, so TIME_WAIT is on its side"
               : state_ == State::broken ? ""
                                                   : "; we closed first, so this side keeps the connection in "
                                                     "TIME_WAIT for about a minute");
  }
  if (watchdog_timer_) watchdog_timer_->cancel();
  protocol_->on_close(*this, reason_);
  count_close(counters_, reason_);
  log_closed();
}

void Connection::close_after_flush(CloseReason reason) {
  if (state_ != State::open) return;
  protocol_->on_closing(*this, reason);
  if (state_ != State::open) return;  // the goodbye itself overflowed --max-output
  state_ = State::closing;
  reason_ = reason;
  read_cancel_.emit(asio::cancellation_type::all);
  wake_reader();  // a reader paused on back-pressure re-checks its state
}

void Connection::close_when_idle(CloseReason reason) {
  if (state_ != State::open || close_when_idle_) return;
  close_when_idle_ = reason;
  read_cancel_.emit(asio::cancellation_type::all);  // the reader re-reads, then closes
  wake_reader();
}

void Connection::close_now(CloseReason reason) {
  if (state_ == State::broken) return;
  if (state_ == State::open) reason_ = reason;
  state_ = State::broken;
  outbox_.clear();
  read_cancel_.emit(asio::cancellation_type::all);
  wake_reader();
  error_code ignored;
  // Ends a writer blocked on a full socket; run() finishes the close.
  socket_.cancel(ignored);
}

void Connection::fail(const error_code& ec) {
  if (state_ == State::broken) return;
  if (state_ == State::open) reason_ = classify(ec);
  error_ = ec;
  state_ = State::broken;
  read_cancel_.emit(asio::cancellation_type::all);
  wake_reader();
}

void count_close(LoopCounters& counters, CloseReason reason) {
  counters.add(Counter::closed);
  switch (reason) {
    case CloseReason::reset: counters.add(Counter::errors_reset); break;
    case CloseReason::idle_timeout: counters.add(Counter::errors_timeout); break;
    case CloseReason::line_too_long: break;  // counted when the line was refused
    case CloseReason::flooding: counters.add(Counter::errors_flood); break;
    case CloseReason::too_slow: counters.add(Counter::errors_slow_consumer); break;
    case CloseReason::io_error:
    case CloseReason::bad_input: counters.add(Counter::errors_other); break;
    default: break;
  }
}

void Connection::log_closed() const {
  if (!log::enabled(connection_log_level())) return;
  const std::string error = error_ ? fmt::format(" ({})", error_.message()) : std::string();
  note(connection_log_level(), "closed", "closed {}: {}{}; {} messages in, {} out, {} bytes in, {} out", to_string(peer_),
       describe(reason_), error, stats_.messages_in, stats_.messages_out, stats_.bytes_in, stats_.bytes_out);
}

// ---- reading --------------------------------------------------------------

// The reader, from the greeting to the close: one coroutine, so that an
// idle connection's suspended chain is one frame (and the readiness wait).
asio::awaitable<void> Connection::run() {
  opened();
  const auto shared = loop_.read_buffer();
  // The last read emptied the socket: the next waits for new bytes, through
  // the reactor with a lent buffer (busy) or for readiness (idle).
  bool socket_empty = false;
  while (state_ == State::open) {
    if (outbox_.size() > limits::kOutputHighWater) {
      // The client is not reading its replies: read no more of its requests
      // until they drain (TCP back-pressure instead of unbounded memory).
      // The pause is ours, not the client's: a line cut by it is no
      // newline-less message, so the partial-message deadline waits too.
      // A paused reader reads nothing: its lent buffer goes back now.
      give_back_read_buffer();
      reading_paused_ = true;
      co_await wait_timer_until(Clock::time_point::max());
      reading_paused_ = false;
      if (framer_.has_pending()) {
        last_input_ = Clock::now();  // the client's pause starts when we read again
        arm_watchdog();              // the deadline it skipped while paused
      }
      continue;
    }
    if (close_when_idle_) {
      give_back_read_buffer();
      socket_empty = false;  // read what came meanwhile, then close at the first EAGAIN
    }
    if (buffer_wanted_back_) give_back_read_buffer();
    std::span<char> buffer = shared;
    error_code ec;
    std::size_t n = 0;
    if (!socket_empty) {
      n = transport_.read_some(socket_, asio::buffer(buffer.data(), buffer.size()), ec);
      if (would_block(ec)) {
        if (close_when_idle_) {
          // Everything the client had sent is answered: now close.
          deliver_pending();
          flush();
          close_after_flush(*close_when_idle_);
          break;
        }
        socket_empty = true;
        continue;
      }
    } else if (read_ticket_ != ReadBufferPool::kNone) {
      buffer = loop_.read_pool().buffer(read_ticket_);
      std::tie(ec, n) = co_await read_lent(buffer);
      // Ended before any byte came: the buffer is wanted back, or the
      // connection is closing; the top of the loop sees which.
      if (ec == asio::error::operation_aborted) continue;
      loop_.read_pool().used(read_ticket_);
    } else {
      co_await wait_readable(transport_.read_wait());
      socket_empty = false;
      continue;
    }
    if (ec == asio::error::eof) {
      peer_eof_ = true;
      if (trace::on()) {
        trace_step("5 recv", "0 bytes: the client closed its side (FIN){}; the replies it is owed still go out",
                   transport_.end_of_stream_note());
      }
      // A half-close still gets every reply it is owed, including one for
      // bytes sent without a newline (the tutorial's client: "salir", close).
      deliver_pending();
      flush();
      if (state_ == State::open) {
        state_ = State::closing;
        reason_ = CloseReason::peer_closed;
      }
      break;
    }
    if (ec) {
      if (trace::on()) {
        trace_step("5 recv", "failed: {}{}", ec.message(),
                   classify(ec) == CloseReason::reset
                       ? " (a reset, RST: the client is gone, with whatever was still in flight)"
                       : "");
      }
      fail(ec);
      break;
    }
    if (trace::on()) trace_step("5 recv", "{} bytes: {}", n, logged_preview(server_->options, {buffer.data(), n}));
    if (stats_.bytes_in == 0 && tls::looks_like_client_hello({buffer.data(), n})) {
      // A TLS client on the plaintext port: any answer would be garbage to
      // it, so it gets none and fails at once, and the operator hears why.
      note(log::Level::info, "tls_on_plaintext", "{} sent a TLS handshake to a plaintext port; closing",
           to_string(peer_));
      close_now(CloseReason::bad_input);
      break;
    }
    last_input_ = Clock::now();
    stats_.bytes_in += n;
    counters_.add(Counter::bytes_in, n);
    dispatch({buffer.data(), n});
    flush();
    socket_empty = false;
    if (n == buffer.size()) {
      // A lent buffer filled: read on into the shared one, at once. The
      // shared one filled: a client that fills whole buffers could
      // monopolise the loop, so the other connections of this thread have
      // a turn first.
      if (buffer.data() == shared.data()) co_await asio::post(loop_.executor(), asio::use_awaitable);
    } else if (transport_.more_to_read()) {
      continue;  // the socket is empty, but the transport has an end to report
    } else if (!close_when_idle_ && state_ == State::open) {
      // A short read emptied the socket: skip the read that would only say
      // EAGAIN and wait at once (one system call less per request). Bytes
      // arriving from now on raise a new readiness edge, which the loop's
      // next epoll_wait reports; no wait can run before ours is queued.
      socket_empty = true;
      borrow_read_buffer();
    }
  }
  give_back_read_buffer();
  co_await close_down();
}

// A coroutine of its own: its frame exists only while a busy connection
// reads, so an idle connection's suspended chain stays small.
asio::awaitable<std::tuple<error_code, std::size_t>> Connection::read_lent(std::span<char> buffer) {
  // Asio tries a read at once before it queues one, which right after an
  // answer mostly says EAGAIN: a system call wasted per request. The loop's
  // other ready work goes first instead, and by then the client's next
  // request has usually come, so the read takes it.
  co_await asio::post(loop_.executor(), asio::use_awaitable);
  // Closing, or the buffer wanted back, meanwhile: their cancel found no
  // read to end, so this one ends at once.
  if (state_ != State::open || buffer_wanted_back_ || close_when_idle_) {
    co_return std::tuple(error_code(asio::error::operation_aborted), std::size_t{0});
  }
  co_return co_await socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                             asio::bind_cancellation_slot(read_cancel_.slot(), use_tuple));
}

void Connection::borrow_read_buffer() {
  if (read_ticket_ != ReadBufferPool::kNone || !transport_.reads_are_the_sockets()) return;
  read_ticket_ = loop_.read_pool().lend(this, [](void* self) {
    auto& c = *static_cast<Connection*>(self);
    c.buffer_wanted_back_ = true;
    c.read_cancel_.emit(asio::cancellation_type::all);
  });
}

void Connection::give_back_read_buffer() {
  loop_.read_pool().give_back(read_ticket_);
  buffer_wanted_back_ = false;
}

asio::awaitable<std::tuple<error_code>> Connection::wait_readable(TcpSocket::wait_type what) {
  // Readiness, not a read: the loop's shared buffer is only borrowed once
  // bytes are there. Errors show up in the next read_some; a cancel from
  // close_after_flush()/fail() shows up as a changed state.
  return socket_.async_wait(what, asio::bind_cancellation_slot(read_cancel_.slot(), use_tuple));
}

Timer& Connection::wait_timer() {
  if (!wait_timer_) wait_timer_ = std::make_unique<Timer>(loop_.executor());
  return *wait_timer_;
}

void Connection::wake_reader() {
  if (wait_timer_) wait_timer_->cancel();
}

asio::awaitable<void> Connection::wait_timer_until(Clock::time_point deadline) {
  wait_timer().expires_at(deadline);
  co_await wait_timer().async_wait(use_tuple);
}

void Protocol::on_line_too_long(Connection& c) {
  c.send({fmt::format("error: line too long (over {} bytes); closing\n", c.options().max_line)});
  c.close_after_flush(CloseReason::line_too_long);
}

void Connection::dispatch(std::string_view bytes) {
  in_callback_ = true;
  framer_.feed(
      bytes,
      [this](std::string_view line, std::string_view terminator) {
        deliver(line, terminator);
        return state_ == State::open;  // after "salir", the rest is ignored
      },
      [this] {
        counters_.add(Counter::errors_too_long);
        protocol_->on_line_too_long(*this);
        return state_ == State::open;
      });
  if (state_ == State::open && framer_.has_pending() && !server_->options.whole_lines_only) {
    if (server_->options.partial_delay.count() == 0) {
      deliver_pending();
    } else {
      arm_watchdog();
    }
  }
  in_callback_ = false;
}

void Connection::deliver(std::string_view text, std::string_view terminator) {
  ++stats_.messages_in;
  counters_.add(Counter::messages_in);
  if (log::enabled(log::Level::debug)) {
    note(log::Level::debug, "received", "{} says {}", to_string(peer_), logged_preview(server_->options, text));
  }
  protocol_->on_message(*this, text, terminator);
}

void Connection::deliver_pending() {
  if (!framer_.has_pending() || state_ != State::open) return;
  const bool outer = in_callback_;
  in_callback_ = true;
  deliver(framer_.pending(), "");
  framer_.clear_pending();
  in_callback_ = outer;
}

// ---- deadlines --------------------------------------------------------------

Clock::time_point Connection::partial_deadline() const {
  const auto& options = server_->options;
  if (!framer_.has_pending() || options.whole_lines_only || options.partial_delay.count() == 0 || reading_paused_) {
    return Clock::time_point::max();
  }
  return last_input_ + options.partial_delay;
}

Clock::time_point Connection::next_deadline() const {
  const auto& options = server_->options;
  auto deadline = partial_deadline();
  if (options.idle_timeout.count() > 0) deadline = std::min(deadline, last_input_ + options.idle_timeout);
  return deadline;
}

void Connection::arm_watchdog() {
  if (watchdog_running_) {
    // Input moves deadlines later, which the watchdog notices when it wakes;
    // only an earlier one (new partial input) needs it woken now.
    if (next_deadline() < watchdog_timer_->expiry()) watchdog_timer_->cancel();
    return;
  }
  if (!watchdog_timer_) watchdog_timer_ = std::make_unique<Timer>(loop_.executor());
  watchdog_running_ = true;
  spawn(loop_.executor(), [self = shared_from_this()] { return self->watchdog(); });
}

asio::awaitable<void> Connection::watchdog() {
  // One timer for both deadlines, re-armed lazily: reads only record the time
  // of the last input instead of re-arming a timer each.
  while (state_ == State::open) {
    const auto deadline = next_deadline();
    if (deadline == Clock::time_point::max()) break;
    const auto now = Clock::now();
    if (now < deadline) {
      watchdog_timer_->expires_at(deadline);
      co_await watchdog_timer_->async_wait(use_tuple);
      continue;  // re-check: the state or the deadlines may have changed
    }
    if (now >= partial_deadline()) {
      deliver_pending();
      flush();
      continue;
    }
    note(log::Level::info, "idle_timeout", "{} idle for {} s", to_string(peer_),
         std::chrono::duration_cast<std::chrono::seconds>(server_->options.idle_timeout).count());
    close_after_flush(CloseReason::idle_timeout);
  }
  watchdog_running_ = false;
}

// ---- writing --------------------------------------------------------------

void Connection::send(std::initializer_list<std::string_view> pieces) {
  if (state_ == State::broken) return;
  outbox_.append(pieces);
  after_send();
}

void Connection::send(SharedText text) {
  if (state_ == State::broken) return;
  outbox_.append(std::move(text));
  after_send();
}

void Connection::after_send() {
  ++stats_.messages_out;
  counters_.add(Counter::messages_out);
  // A reply to what was just read: time it until it is written.
  if (in_callback_ && !reply_owed_since_) reply_owed_since_ = last_input_;
  const std::size_t max_output = server_->options.max_output;
  // Over the limit? First let the socket take what it can: a burst is only
  // too much if the client is not reading it.
  if (max_output > 0 && outbox_.size() > max_output && !writer_running_) flush();
  if (max_output > 0 && outbox_.size() > max_output) {
    note(log::Level::info, "too_slow", "{} owes {} bytes, over --max-output; disconnecting", to_string(peer_),
         outbox_.size());
    close_now(CloseReason::too_slow);
    return;
  }
  if (!in_callback_) schedule_flush();
}

void Connection::schedule_flush() {
  if (flush_scheduled_ || writer_running_) return;
  flush_scheduled_ = true;
  asio::post(loop_.executor(), [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->flush();
  });
}

bool Connection::write_pending() {
  // Enough buffers for a burst of chat lines in one writev(2); the rest goes
  // in the next round.
  std::array<asio::const_buffer, 64> buffers;
  while (!outbox_.empty() && state_ != State::broken) {
    error_code ec;
    const std::size_t count = outbox_.gather(buffers);
    const std::size_t n =
        transport_.write_some(socket_, std::span<const asio::const_buffer>(buffers.data(), count), ec);
    if (would_block(ec)) {
      if (trace::on()) {
        trace_step("5 send", "the socket's send buffer is full ({} bytes owed): the client is not reading; "
                   "waiting until it is writable",
                   outbox_.size());
      }
      return false;
    }
    if (ec) {
      if (trace::on()) trace_step("5 send", "failed: {}", ec.message());
      fail(ec);
      break;
    }
    if (trace::on()) {
      trace_step("5 send", "{} bytes: {}", n,
                 preview({static_cast<const char*>(buffers[0].data()), std::min(n, buffers[0].size())}));
    }
    stats_.bytes_out += n;
    counters_.add(Counter::bytes_out, n);
    outbox_.consume(n);
  }
  if (outbox_.empty() && reply_owed_since_) {
    counters_.observe_latency(Clock::now() - *reply_owed_since_);
    reply_owed_since_.reset();
  }
  return true;
}

void Connection::flush() {
  if (writer_running_ || outbox_.empty() || state_ == State::broken) return;
  if (write_pending()) return;
  // The socket is full: the writer takes over until the client catches up.
  writer_running_ = true;
  spawn(loop_.executor(), [self = shared_from_this()] { return self->writer(); });
}

asio::awaitable<void> Connection::writer() {
  while (state_ != State::broken && !outbox_.empty()) {
    auto [ec] = co_await socket_.async_wait(transport_.write_wait(), use_tuple);
    if (ec) {
      fail(ec);
      break;
    }
    write_pending();
  }
  writer_running_ = false;
  wake_reader();  // if it waits for the drain
}

// ---- closing ----------------------------------------------------------------

asio::awaitable<void> Connection::drain_before_close() {
  flush();
  const auto deadline = Clock::now() + limits::kCloseDrainTimeout;
  while (writer_running_) {
    if (Clock::now() >= deadline) {
      note(log::Level::info, "drain_timeout", "{} did not take its last {} bytes in time", to_string(peer_),
           outbox_.size());
      fail(asio::error::timed_out);
      error_code ignored;
      socket_.close(ignored);  // ends the writer's wait
      co_return;
    }
    co_await wait_timer_until(deadline);
  }
}

asio::awaitable<void> Connection::lingering_close() {
  // Whatever the client sent since is discarded; if its FIN is among it, it
  // closed first (the tutorial's client: "salir", then close).
  const auto buffer = loop_.read_buffer();
  error_code ec;
  do {
    socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  } while (!ec);
  if (ec == asio::error::eof) peer_eof_ = true;
  if (!would_block(ec) && !peer_eof_) co_return;  // reset: nothing left to be polite to

  transport_.shutdown_send(socket_, ec);
  if (ec) co_return;
  if (trace::on()) {
    trace_step("6 shutdown", "our side is done sending ({}){}", transport_.goodbye(),
               peer_eof_ ? "; the client had closed its side already"
                         : "; reading what the client still sends until it closes");
  }
  if (peer_eof_) co_return;
  // Read and discard until the client closes too, for a bounded time, so
  // input we never read cannot turn our close into a reset that destroys
  // the last reply before the client has read it.
  const auto deadline = Clock::now() + limits::kLingeringClose;
  wait_timer().expires_at(deadline);
  wait_timer().async_wait([self = shared_from_this()](const error_code& e) {
    if (!e) self->read_cancel_.emit(asio::cancellation_type::all);
  });
  for (;;) {
    socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    if (!would_block(ec)) {
      if (ec) break;  // EOF (the client closed after us) or an error
      continue;
    }
    if (Clock::now() >= deadline) break;
    co_await wait_readable();
  }
  wait_timer().cancel();
}

}  // namespace enchufe::net
