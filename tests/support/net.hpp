#pragma once
// Blocking loopback sockets for tests, where every wait has a deadline.
//
// Hosts are numeric literals ("127.0.0.1", "::1"); no resolver is involved.
// Every socket is created with SOCK_CLOEXEC so that a child started while it
// is open (see process.hpp) cannot keep a connection alive by accident.
// Sends use MSG_NOSIGNAL: writing to a closed peer fails, it does not kill
// the test.

#include "support/process.hpp"  // Clock, Duration

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace enchufe::test {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A numeric address and port as a sockaddr. Throws std::invalid_argument for
// anything that is not an IPv4 or IPv6 literal (brackets are accepted).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};
SocketAddress make_address(std::string_view host, std::uint16_t port);
std::uint16_t local_port(int fd);

// True if a socket can be bound to [::1] (IPv6 loopback configured).
bool ipv6_loopback_available();

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
std::size_t raise_fd_limit();

// ---- results of reads ------------------------------------------------------

enum class ReadEnd {
  complete,  // what was asked for arrived (for recv_until_eof: EOF)
  eof,       // the peer closed first
  timeout,   // the deadline passed first
  error,     // e.g. ECONNRESET; see `error`
};

struct ReadResult {
  std::string data;  // everything received, also when incomplete
  ReadEnd end = ReadEnd::timeout;
  int error = 0;  // errno when end == error

  bool complete() const { return end == ReadEnd::complete; }
  std::string describe() const;  // for failure messages: end, errno, escaped data
};
std::ostream& operator<<(std::ostream& os, const ReadResult& r);
std::ostream& operator<<(std::ostream& os, ReadEnd end);

// Bytes shown with \n, \r, \xNN escapes, cut after `max` bytes.
std::string escape(std::string_view bytes, std::size_t max = 300);

// ---- TCP -------------------------------------------------------------------

class TcpClient {
 public:
  // Connects within `timeout`, from the local address `from` if given (any
  // 127.x.y.z works on Linux: a second host for per-address limits); throws
  // std::runtime_error naming the address and the error on failure.
  static TcpClient connect(std::string_view host, std::uint16_t port, Duration timeout = 5000ms,
                           std::string_view from = {});
  // The same, but returns nullopt and sets *error (errno) on failure.
  static std::optional<TcpClient> try_connect(std::string_view host, std::uint16_t port, Duration timeout,
                                              int* error = nullptr, std::string_view from = {});

  TcpClient() = default;
  explicit TcpClient(Fd fd);

  int fd() const { return fd_.get(); }
  bool is_open() const { return static_cast<bool>(fd_); }
  std::uint16_t local_port() const;

  // Sends every byte within `timeout`; false on error (see last_error()).
  bool send_all(std::string_view bytes, Duration timeout = 5000ms);
  int last_error() const { return last_error_; }

  // Reads below return what was asked for (complete()), keeping any bytes
  // after it buffered for the next read. When they fail (eof, timeout,
  // error), `data` holds everything received and the buffer is emptied.

  // Everything up to and including the first `delimiter`.
  ReadResult recv_until(std::string_view delimiter, Duration timeout);
  // Exactly n bytes.
  ReadResult recv_exact(std::size_t n, Duration timeout);
  // Everything until the peer closes: complete() means EOF was seen.
  ReadResult recv_until_eof(Duration timeout);
  // Whatever arrives first (complete() with at least one byte).
  ReadResult recv_some(Duration timeout);
  // Everything that arrives during `window`. end is timeout if the
  // connection stayed open and silent at the end, eof/error otherwise; use it
  // to check that nothing (more) is sent.
  ReadResult recv_for(Duration window);

  // shutdown(SHUT_WR): a half-close, the peer reads EOF.
  void shutdown_write();
  // An orderly close.
  void close();
  // close() with SO_LINGER 0: the peer gets a reset instead of a FIN.
  void reset();

 private:
  // Reads into buffer_ until stop(buffer_) or EOF/error/deadline.
  template <typename Stop>
  ReadEnd fill(Clock::time_point deadline, Stop stop, int& error);

  Fd fd_;
  std::string buffer_;  // received, not yet returned
  bool eof_ = false;
  int last_error_ = 0;
};

// ---- UDP -------------------------------------------------------------------

class UdpSocket {
 public:
  // A socket bound to `host` (a loopback literal by default) on a free port.
  explicit UdpSocket(std::string_view host = "127.0.0.1", std::uint16_t port = 0);

  int fd() const { return fd_.get(); }
  std::uint16_t local_port() const;

  // One datagram; false on error (see last_error()).
  bool send_to(std::string_view host, std::uint16_t port, std::string_view datagram);
  int last_error() const { return last_error_; }
  // The next datagram (up to 64 KiB), or nullopt if none arrives in time
  // (or an ICMP error is pending: see last_error()).
  std::optional<std::string> recv(Duration timeout);

 private:
  Fd fd_;
  int last_error_ = 0;
};

// ---- ports held by the test -------------------------------------------------

// A socket that occupies a port, e.g. to make a server's bind fail
// (listening TCP, bound UDP) or to get a port where connections are refused
// (TCP bound but not listening).
struct HeldPort {
  Fd fd;
  std::uint16_t port = 0;
};
HeldPort hold_tcp_port(std::string_view host = "127.0.0.1", bool listen = true);
HeldPort hold_udp_port(std::string_view host = "127.0.0.1");

}  // namespace enchufe::test
