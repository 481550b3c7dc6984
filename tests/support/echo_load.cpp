#include "support/echo_load.hpp"

#include "support/net.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace enchufe::test {

std::string echo_load_line(std::size_t client, std::size_t round) {
  std::string line = "c" + std::to_string(client) + " r" + std::to_string(round) + " ";
  const std::size_t filler = (client * 7 + round * 13) % 48;
  for (std::size_t i = 0; i < filler; ++i) line += static_cast<char>('a' + (client + round + i) % 26);
  line += (round % 10 == 3) ? "\r\n" : "\n";
  return line;
}

std::string EchoLoadResult::summary() const {
  std::ostringstream s;
  s << clients_connected << " connected, " << clients_finished << " finished, " << clients_failed << " failed, "
    << round_trips_ok << " round trips ok" << (timed_out ? ", TIMED OUT" : "") << ", " << elapsed.count() << " ms";
  for (const auto& e : errors) s << "\n  " << e;
  return s.str();
}

namespace {

enum class Phase { idle, connecting, running, quitting, done };

struct Client {
  std::size_t id = 0;
  int fd = -1;
  Phase phase = Phase::idle;
  std::size_t round = 0;
  std::string out;       // bytes still to send
  std::string expected;  // the reply of this round
  std::string got;       // received so far this round
  bool want_write = false;
};

class Driver {
 public:
  explicit Driver(const EchoLoadOptions& o) : o_(o), clients_(o.clients) {
    for (std::size_t i = 0; i < clients_.size(); ++i) clients_[i].id = i;
  }

  EchoLoadResult run() {
    const auto start = Clock::now();
    const auto deadline = start + o_.timeout;
    raise_fd_limit();
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) {
      error(nullptr, std::string("epoll_create1: ") + std::strerror(errno));
      r_.clients_failed = clients_.size();
      return r_;
    }
    std::vector<epoll_event> events(1024);
    while (finished_ < clients_.size()) {
      start_more();
      if (Clock::now() >= deadline) {
        r_.timed_out = true;
        break;
      }
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
      if (n < 0 && errno != EINTR) {
        error(nullptr, std::string("epoll_wait: ") + std::strerror(errno));
        break;
      }
      for (int i = 0; i < n; ++i) handle(clients_[events[i].data.u64], events[i].events);
    }
    std::size_t waiting = 0;
    for (auto& c : clients_) {
      if (c.phase != Phase::done) {
        if (++waiting <= 3) error(&c, "unfinished (" + describe_phase(c) + ")");
        fail_quietly(c);
      }
    }
    if (waiting > 3) error(nullptr, std::to_string(waiting) + " clients unfinished in all");
    ::close(epoll_);
    r_.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
    return r_;
  }

 private:
  static std::string describe_phase(const Client& c) {
    switch (c.phase) {
      case Phase::idle: return "never connected";
      case Phase::connecting: return "connecting";
      case Phase::running:
        return "waiting for reply " + std::to_string(c.round) + ", have \"" + escape(c.got, 80) + "\"";
      case Phase::quitting: return "waiting for EOF after the quit word";
      case Phase::done: return "done";
    }
    return "?";
  }

  void error(const Client* c, const std::string& what) {
    if (r_.errors.size() >= o_.max_errors_kept) return;
    r_.errors.push_back(c ? "client " + std::to_string(c->id) + ": " + what : what);
  }

  void start_more() {
    while (connecting_ < o_.max_connecting && next_ < clients_.size()) start(clients_[next_++]);
  }

  void start(Client& c) {
    const auto address = make_address(o_.host, o_.port);
    c.fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return fail(c, std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.phase = Phase::connecting;
    ++connecting_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = c.id;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev) != 0) return fail(c, std::string("epoll_ctl: ") + std::strerror(errno));
    c.want_write = true;
    if (::connect(c.fd, address.get(), address.length) == 0) return connected(c);
    if (errno != EINPROGRESS) return fail(c, std::string("connect: ") + std::strerror(errno));
  }

  void connected(Client& c) {
    --connecting_;
    ++r_.clients_connected;
    c.phase = Phase::running;
    begin_round(c);
  }

  void begin_round(Client& c) {
    c.out = echo_load_line(c.id, c.round);
    c.expected = o_.prefix + c.out;
    c.got.clear();
    flush(c);
  }

  void set_write_interest(Client& c, bool want) {
    if (c.want_write == want) return;
    c.want_write = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = c.id;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void flush(Client& c) {
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return fail(c, "send in round " + std::to_string(c.round) + ": " + std::strerror(errno));
    }
    set_write_interest(c, !c.out.empty());
  }

  void handle(Client& c, std::uint32_t events) {
    if (c.phase == Phase::done) return;
    if (c.phase == Phase::connecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0) return fail(c, std::string("connect: ") + std::strerror(so_error));
      connected(c);
      if (c.phase == Phase::done) return;
    }
    if (events & EPOLLOUT) flush(c);
    if (c.phase == Phase::done) return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) receive(c);
  }

  void receive(Client& c) {
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        if (!on_bytes(c, std::string_view(buffer, static_cast<std::size_t>(n)))) return;
        continue;
      }
      if (n == 0) {
        if (c.phase == Phase::quitting) return finish(c);
        return fail(c, "EOF while " + describe_phase(c));
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return fail(c, std::string("recv: ") + std::strerror(errno) + " while " + describe_phase(c));
    }
  }

  // False once the client is done or failed.
  bool on_bytes(Client& c, std::string_view bytes) {
    if (c.phase == Phase::quitting) {
      fail(c, "got \"" + escape(bytes, 80) + "\" after the quit word");
      return false;
    }
    c.got.append(bytes);
    const std::size_t common = std::min(c.got.size(), c.expected.size());
    if (c.got.compare(0, common, c.expected, 0, common) != 0) {
      fail(c, "round " + std::to_string(c.round) + ": expected \"" + escape(c.expected, 120) + "\", got \"" +
                  escape(c.got, 120) + "\"");
      return false;
    }
    if (c.got.size() < c.expected.size()) return true;
    if (c.got.size() > c.expected.size() || !c.out.empty()) {
      fail(c, "round " + std::to_string(c.round) + ": unexpected bytes \"" + escape(c.got, 160) + "\"");
      return false;
    }
    ++r_.round_trips_ok;
    if (++c.round < o_.round_trips) {
      begin_round(c);
      return c.phase != Phase::done;
    }
    if (o_.quit_word.empty()) {
      finish(c);
      return false;
    }
    c.phase = Phase::quitting;
    c.out = o_.quit_word + "\n";
    flush(c);
    return c.phase != Phase::done;
  }

  void close_fd(Client& c) {
    if (c.phase == Phase::connecting) --connecting_;
    if (c.fd >= 0) ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    c.phase = Phase::done;
    ++finished_;
  }

  void finish(Client& c) {
    ++r_.clients_finished;
    close_fd(c);
  }

  void fail(Client& c, const std::string& why) {
    error(&c, why);
    fail_quietly(c);
  }

  void fail_quietly(Client& c) {
    if (c.phase == Phase::done) return;
    ++r_.clients_failed;
    close_fd(c);
  }

  const EchoLoadOptions& o_;
  std::vector<Client> clients_;
  EchoLoadResult r_;
  int epoll_ = -1;
  std::size_t next_ = 0, connecting_ = 0, finished_ = 0;
};

}  // namespace

EchoLoadResult run_echo_load(const EchoLoadOptions& options) { return Driver(options).run(); }

}  // namespace enchufe::test
