// enchufe_fault_client: the misbehaving programs the fault suite runs as
// child processes (see fault_support.hpp), so that a test can kill one with
// SIGKILL, or give one resource limits of its own, without touching the test
// process.
//
//   enchufe_fault_client nofile N -- PROGRAM ARGS...
//       Sets RLIMIT_NOFILE to N (soft and hard), then execs PROGRAM. A
//       server started this way cannot raise its soft limit past N.
//   enchufe_fault_client flood HOST PORT LINE_BYTES MAX_BYTES
//       Connects, then sends lines of LINE_BYTES (newline included) and never
//       reads, until MAX_BYTES are sent or the socket has stayed full for
//       300 ms. Prints "flooding LOCAL_PORT SENT" and waits to be killed.
//   enchufe_fault_client idle HOST PORT
//       Connects, prints "connected LOCAL_PORT" and waits to be killed,
//       without reading or sending.
//
// Every mode that waits gives up after 60 s (alarm), so a forgotten child
// never outlives the test run by much.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: enchufe_fault_client nofile N -- PROGRAM ARGS...\n"
               "       enchufe_fault_client flood HOST PORT LINE_BYTES MAX_BYTES\n"
               "       enchufe_fault_client idle HOST PORT\n");
  return 2;
}

int connect_to(const char* host, const char* port_text) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(std::atoi(port_text)));
  if (::inet_pton(AF_INET, host, &address.sin_addr) != 1) {
    std::fprintf(stderr, "enchufe_fault_client: not an IPv4 address: %s\n", host);
    std::exit(2);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    std::fprintf(stderr, "enchufe_fault_client: connect %s:%s: %s\n", host, port_text, std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

unsigned local_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

[[noreturn]] void wait_to_be_killed() {
  ::alarm(60);
  for (;;) ::pause();
}

int run_nofile(int argc, char** argv) {
  // nofile N -- PROGRAM ARGS...
  if (argc < 5 || std::strcmp(argv[3], "--") != 0) return usage();
  const rlim_t n = std::strtoul(argv[2], nullptr, 10);
  const rlimit limit{n, n};
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    std::fprintf(stderr, "enchufe_fault_client: setrlimit(RLIMIT_NOFILE, %lu): %s\n", static_cast<unsigned long>(n),
                 std::strerror(errno));
    return 1;
  }
  ::execv(argv[4], argv + 4);
  std::fprintf(stderr, "enchufe_fault_client: cannot run %s: %s\n", argv[4], std::strerror(errno));
  return 127;
}

int run_flood(int argc, char** argv) {
  if (argc != 6) return usage();
  const int fd = connect_to(argv[2], argv[3]);
  const std::size_t line_bytes = std::max<std::size_t>(2, std::strtoul(argv[4], nullptr, 10));
  const std::size_t max_bytes = std::strtoull(argv[5], nullptr, 10);
  std::string block;
  while (block.size() < 64 * 1024) block += std::string(line_bytes - 1, 'f') + "\n";
  std::size_t sent = 0;
  while (sent < max_bytes) {
    const std::size_t want = std::min(block.size(), max_bytes - sent);
    const ssize_t n = ::send(fd, block.data(), want, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 300) == 0) break;  // full for 300 ms: the server stopped reading us
  }
  std::printf("flooding %u %zu\n", local_port(fd), sent);
  std::fflush(stdout);
  wait_to_be_killed();
}

int run_idle(int argc, char** argv) {
  if (argc != 4) return usage();
  const int fd = connect_to(argv[2], argv[3]);
  std::printf("connected %u\n", local_port(fd));
  std::fflush(stdout);
  wait_to_be_killed();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  if (mode == "nofile") return run_nofile(argc, argv);
  if (mode == "flood") return run_flood(argc, argv);
  if (mode == "idle") return run_idle(argc, argv);
  return usage();
}
