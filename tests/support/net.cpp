#include "support/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace enchufe::test {

namespace {

int poll_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<long long>(left + 1, 60'000));  // +1: never wake just before it
}

// Waits for `events` on fd until the deadline; returns revents, 0 on timeout.
short wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, poll_ms(deadline));
    if (r > 0) return p.revents;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return POLLERR;
    if (Clock::now() >= deadline) return 0;
  }
}

std::string errno_text(int e) { return std::string(std::strerror(e)) + " (errno " + std::to_string(e) + ")"; }

}  // namespace

// ---- Fd ----------------------------------------------------------------------

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int Fd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

// ---- addresses ---------------------------------------------------------------

SocketAddress make_address(std::string_view host, std::uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string h(host);
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.length = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("not a numeric IP address: '" + h + "'");
  }
  return a;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage s{};
  socklen_t len = sizeof s;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &len) != 0) return 0;
  if (s.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&s)->sin_port);
  if (s.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&s)->sin6_port);
  return 0;
}

bool ipv6_loopback_available() {
  Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  const auto a = make_address("::1", 0);
  return ::bind(fd.get(), a.get(), a.length) == 0;
}

std::size_t raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<std::size_t>(limit.rlim_cur);
}

// ---- ReadResult ----------------------------------------------------------------

std::string escape(std::string_view bytes, std::size_t max) {
  std::string out;
  for (unsigned char c : bytes.substr(0, max)) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (bytes.size() > max) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

std::ostream& operator<<(std::ostream& os, ReadEnd end) {
  switch (end) {
    case ReadEnd::complete: return os << "complete";
    case ReadEnd::eof: return os << "eof";
    case ReadEnd::timeout: return os << "timeout";
    case ReadEnd::error: return os << "error";
  }
  return os << "?";
}

std::string ReadResult::describe() const {
  std::string s;
  switch (end) {
    case ReadEnd::complete: s = "complete"; break;
    case ReadEnd::eof: s = "EOF before complete"; break;
    case ReadEnd::timeout: s = "timed out"; break;
    case ReadEnd::error: s = "error: " + errno_text(error); break;
  }
  return s + " after " + std::to_string(data.size()) + " bytes: \"" + escape(data) + "\"";
}

std::ostream& operator<<(std::ostream& os, const ReadResult& r) { return os << r.describe(); }

// ---- TcpClient -----------------------------------------------------------------

std::optional<TcpClient> TcpClient::try_connect(std::string_view host, std::uint16_t port, Duration timeout,
                                                int* error, std::string_view from) {
  auto fail = [error](int e) -> std::optional<TcpClient> {
    if (error) *error = e;
    return std::nullopt;
  };
  const auto address = make_address(host, port);
  Fd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail(errno);
  if (!from.empty()) {
    const auto local = make_address(from, 0);
    if (::bind(fd.get(), local.get(), local.length) != 0) return fail(errno);
  }
  const auto deadline = Clock::now() + timeout;
  if (::connect(fd.get(), address.get(), address.length) != 0) {
    if (errno != EINPROGRESS) return fail(errno);
    if (wait_for(fd.get(), POLLOUT, deadline) == 0) return fail(ETIMEDOUT);
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) return fail(so_error);
  }
  // Blocking from here on; every wait goes through poll() with a deadline.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (error) *error = 0;
  return TcpClient(std::move(fd));
}

TcpClient TcpClient::connect(std::string_view host, std::uint16_t port, Duration timeout, std::string_view from) {
  int error = 0;
  auto client = try_connect(host, port, timeout, &error, from);
  if (!client) {
    throw std::runtime_error("cannot connect to " + std::string(host) + " port " + std::to_string(port) +
                             (from.empty() ? "" : " from " + std::string(from)) + ": " + errno_text(error));
  }
  return std::move(*client);
}

TcpClient::TcpClient(Fd fd) : fd_(std::move(fd)) {}

std::uint16_t TcpClient::local_port() const { return test::local_port(fd_.get()); }

bool TcpClient::send_all(std::string_view bytes, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      last_error_ = errno;
      return false;
    }
    if (Clock::now() >= deadline || wait_for(fd_.get(), POLLOUT, deadline) == 0) {
      last_error_ = ETIMEDOUT;
      return false;
    }
  }
  return true;
}

template <typename Stop>
ReadEnd TcpClient::fill(Clock::time_point deadline, Stop stop, int& error) {
  char chunk[64 * 1024];
  while (!stop(buffer_)) {
    if (eof_) return ReadEnd::eof;
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      eof_ = true;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = errno;
      return ReadEnd::error;
    }
    if (Clock::now() >= deadline) return ReadEnd::timeout;
    if (wait_for(fd_.get(), POLLIN, deadline) == 0) return ReadEnd::timeout;
  }
  return ReadEnd::complete;
}

ReadResult TcpClient::recv_until(std::string_view delimiter, Duration timeout) {
  ReadResult r;
  r.end = fill(
      Clock::now() + timeout, [&](const std::string& b) { return b.find(delimiter) != std::string::npos; }, r.error);
  if (r.end == ReadEnd::complete) {
    const std::size_t end = buffer_.find(delimiter) + delimiter.size();
    r.data = buffer_.substr(0, end);
    buffer_.erase(0, end);
  } else {
    r.data = std::move(buffer_);
    buffer_.clear();
  }
  return r;
}

ReadResult TcpClient::recv_exact(std::size_t n, Duration timeout) {
  ReadResult r;
  r.end = fill(Clock::now() + timeout, [n](const std::string& b) { return b.size() >= n; }, r.error);
  const std::size_t take = std::min(n, buffer_.size());
  r.data = buffer_.substr(0, take);
  buffer_.erase(0, take);
  return r;
}

ReadResult TcpClient::recv_until_eof(Duration timeout) {
  ReadResult r;
  r.end = fill(Clock::now() + timeout, [](const std::string&) { return false; }, r.error);
  if (r.end == ReadEnd::eof) r.end = ReadEnd::complete;
  r.data = std::move(buffer_);
  buffer_.clear();
  return r;
}

ReadResult TcpClient::recv_some(Duration timeout) {
  ReadResult r;
  r.end = fill(Clock::now() + timeout, [](const std::string& b) { return !b.empty(); }, r.error);
  r.data = std::move(buffer_);
  buffer_.clear();
  return r;
}

ReadResult TcpClient::recv_for(Duration window) {
  ReadResult r;
  r.end = fill(Clock::now() + window, [](const std::string&) { return false; }, r.error);
  r.data = std::move(buffer_);
  buffer_.clear();
  return r;
}

void TcpClient::shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

void TcpClient::close() { fd_.reset(); }

void TcpClient::reset() {
  if (!fd_) return;
  const linger hard{1, 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  fd_.reset();
}

// ---- UdpSocket -----------------------------------------------------------------

UdpSocket::UdpSocket(std::string_view host, std::uint16_t port) {
  const auto address = make_address(host, port);
  fd_.reset(::socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw std::runtime_error("socket(UDP): " + errno_text(errno));
  if (::bind(fd_.get(), address.get(), address.length) != 0) {
    throw std::runtime_error("bind(UDP " + std::string(host) + "): " + errno_text(errno));
  }
  const int size = 1 << 20;  // room for a few 64 KiB datagrams
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

std::uint16_t UdpSocket::local_port() const { return test::local_port(fd_.get()); }

bool UdpSocket::send_to(std::string_view host, std::uint16_t port, std::string_view datagram) {
  const auto address = make_address(host, port);
  const ssize_t n = ::sendto(fd_.get(), datagram.data(), datagram.size(), MSG_NOSIGNAL, address.get(), address.length);
  if (n < 0) {
    last_error_ = errno;
    return false;
  }
  return static_cast<std::size_t>(n) == datagram.size();
}

std::optional<std::string> UdpSocket::recv(Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string datagram(64 * 1024, '\0');
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), datagram.data(), datagram.size(), MSG_DONTWAIT);
    if (n >= 0) {
      datagram.resize(static_cast<std::size_t>(n));
      return datagram;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      last_error_ = errno;
      return std::nullopt;
    }
    if (Clock::now() >= deadline || wait_for(fd_.get(), POLLIN, deadline) == 0) {
      last_error_ = ETIMEDOUT;
      return std::nullopt;
    }
  }
}

// ---- held ports ------------------------------------------------------------------

HeldPort hold_tcp_port(std::string_view host, bool listen) {
  const auto address = make_address(host, 0);
  HeldPort held;
  held.fd.reset(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!held.fd || ::bind(held.fd.get(), address.get(), address.length) != 0 ||
      (listen && ::listen(held.fd.get(), 16) != 0)) {
    throw std::runtime_error("cannot hold a TCP port on " + std::string(host) + ": " + errno_text(errno));
  }
  held.port = local_port(held.fd.get());
  return held;
}

HeldPort hold_udp_port(std::string_view host) {
  const auto address = make_address(host, 0);
  HeldPort held;
  held.fd.reset(::socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!held.fd || ::bind(held.fd.get(), address.get(), address.length) != 0) {
    throw std::runtime_error("cannot hold a UDP port on " + std::string(host) + ": " + errno_text(errno));
  }
  held.port = local_port(held.fd.get());
  return held;
}

}  // namespace enchufe::test
