#include "net/gathering_socket.hpp"

#include <array>

namespace enchufe::net {

namespace {
// A burst to a slow client can leave a large buffer behind; an idle
// connection should not keep it (as Outbox does).
constexpr std::size_t kKeepCapacity = 16 * 1024;

void release_if_large(std::string& buffer) {
  if (buffer.capacity() > kKeepCapacity) std::string().swap(buffer);
}
}  // namespace

struct GatheringSocket::State : std::enable_shared_from_this<State> {
  State(TcpSocket s, std::unique_ptr<Transport> t)
      : socket(std::move(s)),
        owned_transport(std::move(t)),
        transport(owned_transport ? *owned_transport : plain_transport()) {}

  TcpSocket socket;
  std::unique_ptr<Transport> owned_transport;  // none: plain TCP
  Transport& transport;
  std::string pending;    // taken, not yet handed to the socket
  std::string in_flight;  // what the kernel did not take at once; written as it becomes writable
  // The transport may hold input the socket will not signal again: at the
  // start (TLS reads ahead during its handshake), or after a read that
  // filled the buffer. Then the next read tries before it waits.
  bool may_hold_input = true;
  bool read_cancelled = false;
  bool flush_posted = false;
  bool writing = false;
  bool reader_busy = false;  // handling what a read brought: its replies wait for the next read
  error_code error;  // the socket failed: nothing more is sent
  std::function<void()> on_drained;
  std::function<void()> after_flush;

  std::size_t owed() const { return pending.size() + in_flight.size(); }

  void schedule_flush() {
    if (flush_posted || writing) return;
    flush_posted = true;
    asio::post(socket.get_executor(), [self = shared_from_this()] {
      self->flush_posted = false;
      self->flush();
    });
  }

  // One write of everything pending: straight away when the kernel takes it
  // all (the usual case: no operation, no allocation), else the rest in an
  // async write, with what gathers meanwhile in the next.
  void flush() {
    if (writing || error) return;
    if (pending.empty()) return drained();
    error_code ec;
    const std::size_t n = write_now(pending, ec);
    if (ec) return fail(ec);
    if (n == pending.size()) {
      pending.clear();
      return drained();
    }
    in_flight.assign(pending, n);
    pending.clear();
    writing = true;
    write_in_flight(0);
  }

  // Bytes of `data` the transport took; would_block is no error.
  std::size_t write_now(std::string_view data, error_code& ec) {
    const std::array buffers{asio::const_buffer(data.data(), data.size())};
    const std::size_t n = transport.write_some(socket, buffers, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
    return n;
  }

  // The rest of in_flight from `offset`, as the socket takes it. (TLS must
  // be offered the same bytes again after "not now": they are in_flight's.)
  void write_in_flight(std::size_t offset) {
    socket.async_wait(transport.write_wait(), [self = shared_from_this(), offset](error_code ec) mutable {
      if (!ec) offset += self->write_now(std::string_view(self->in_flight).substr(offset), ec);
      if (!ec && offset < self->in_flight.size()) return self->write_in_flight(offset);
      self->writing = false;
      self->in_flight.clear();
      if (ec) return self->fail(ec);
      self->flush();
    });
  }

  void fail(const error_code& ec) {
    error = ec;
    pending.clear();
    drained();
  }

  void drained() {
    release_if_large(pending);
    if (!writing) release_if_large(in_flight);  // a write under way still points into it
    if (on_drained) on_drained();
    if (after_flush) std::exchange(after_flush, {})();
  }
};

GatheringSocket::GatheringSocket(TcpSocket socket, std::unique_ptr<Transport> transport)
    : state_(std::make_shared<State>(std::move(socket), std::move(transport))) {
  // Reads and writes try the socket first and must never block there.
  error_code ignored;
  state_->socket.non_blocking(true, ignored);
}

GatheringSocket::~GatheringSocket() {
  if (!state_) return;  // moved from
  state_->on_drained = nullptr;  // the session it would call is going
  close();
}

void GatheringSocket::close() {
  if (!state_) return;  // moved from (a deadline that fired as the session handed it over)
  error_code ignored;
  state_->socket.close(ignored);
  if (!state_->error) state_->fail(asio::error::operation_aborted);
}

void GatheringSocket::cancel_read() {
  state_->read_cancelled = true;  // for a read that is not waiting on the socket
  error_code ignored;
  state_->socket.cancel(ignored);
}

void GatheringSocket::shutdown_send(error_code& ec) { state_->transport.shutdown_send(state_->socket, ec); }

Transport& GatheringSocket::transport() const { return state_->transport; }

TcpSocket& GatheringSocket::socket() const { return state_->socket; }

error_code GatheringSocket::failure() const { return state_->error; }

void GatheringSocket::take(const char* data, std::size_t size) {
  state_->pending.append(data, size);
  if (!state_->reader_busy) state_->schedule_flush();
}

void GatheringSocket::reader_waits() {
  state_->reader_busy = false;
  state_->read_cancelled = false;  // a cancel is for the read under way, not the next
  state_->flush();
}

void GatheringSocket::reader_works(State& state, bool busy) { state.reader_busy = busy; }

TcpSocket& GatheringSocket::socket_of(State& state) { return state.socket; }

bool GatheringSocket::must_wait(const State& state) {
  return !state.may_hold_input && !state.transport.more_to_read();
}

TcpSocket::wait_type GatheringSocket::read_wait(const State& state) { return state.transport.read_wait(); }

std::size_t GatheringSocket::read_now(State& state, asio::mutable_buffer buffer, error_code& ec) {
  const std::size_t n = state.transport.read_some(state.socket, buffer, ec);
  state.may_hold_input = !ec && n == buffer.size();
  return n;
}

bool GatheringSocket::take_cancel(State& state) { return std::exchange(state.read_cancelled, false); }

std::size_t GatheringSocket::owed() const { return state_->owed(); }

void GatheringSocket::flush_now() { state_->flush(); }

void GatheringSocket::on_drained(std::function<void()> callback) { state_->on_drained = std::move(callback); }

void GatheringSocket::when_flushed(std::function<void()> then) {
  if (state_->owed() == 0 || state_->error) {
    then();
    return;
  }
  state_->after_flush = std::move(then);
  state_->flush();  // what a busy reader deferred, if that is what is owed
}

}  // namespace enchufe::net
