#include "net/gathering_socket.hpp"

#include <boost/asio/write.hpp>

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
  explicit State(TcpSocket s) : socket(std::move(s)) {}

  TcpSocket socket;
  std::string pending;    // taken, not yet handed to the socket
  std::string in_flight;  // handed to the async write under way
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
    const std::size_t n = socket.write_some(asio::buffer(pending), ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return fail(ec);
    if (n == pending.size()) {
      pending.clear();
      return drained();
    }
    in_flight.assign(pending, n);
    pending.clear();
    writing = true;
    asio::async_write(socket, asio::buffer(in_flight), [self = shared_from_this()](error_code ec, std::size_t) {
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

GatheringSocket::GatheringSocket(TcpSocket socket) : state_(std::make_shared<State>(std::move(socket))) {
  // flush() tries the socket first and must never block there.
  error_code ignored;
  state_->socket.non_blocking(true, ignored);
}

GatheringSocket::~GatheringSocket() {
  state_->on_drained = nullptr;  // the session it would call is going
  close();
}

void GatheringSocket::close() {
  error_code ignored;
  state_->socket.close(ignored);
  if (!state_->error) state_->fail(asio::error::operation_aborted);
}

TcpSocket& GatheringSocket::socket() const { return state_->socket; }

error_code GatheringSocket::failure() const { return state_->error; }

void GatheringSocket::take(const char* data, std::size_t size) {
  state_->pending.append(data, size);
  if (!state_->reader_busy) state_->schedule_flush();
}

void GatheringSocket::reader_waits() {
  state_->reader_busy = false;
  state_->flush();
}

void GatheringSocket::reader_works(State& state, bool busy) { state.reader_busy = busy; }

TcpSocket& GatheringSocket::socket_of(State& state) { return state.socket; }

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
