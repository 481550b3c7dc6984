#pragma once
// What the fault suite shares: the server under test (optionally with a low
// open-files limit), readings from /proc (memory, CPU time, descriptors,
// socket queues), well-behaved clients that keep doing round trips in the
// background while a fault is injected, a misbehaving child process, and a
// "pump" that sends and reads at once.
//
// Every case follows one shape:
//   auto server = FaultServer::start("echo", {...});
//   auto steady = Steady::start(server);      // well-behaved, in a thread
//   MemoryWatch memory(server);               // baseline VmRSS
//   ... inject the fault, check what the faulty client sees ...
//   expect_server_healthy(server, steady, memory, budget);  // alive, every
//       // steady reply right and in time, VmHWM within the budget
//   plus a check that stderr names the reason.
//
// Everything waits with a deadline; every loop is bounded.

#include "support/enchufe.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace enchufe::test::faults {

inline constexpr auto kIo = 5000ms;
// The slowest a well-behaved client's round trip may be while a fault is
// injected. Generous: the suite runs two tests at once on two cores.
inline constexpr auto kSteadyLatencyBound = 1500ms;
inline constexpr std::string_view kGreeting = "Hola, cliente. Bienvenido al servidor enchufe!";

// ---- /proc ---------------------------------------------------------------------

struct ProcMemory {
  long rss_kb = -1;  // VmRSS
  long hwm_kb = -1;  // VmHWM: the peak VmRSS over the process's life
  int threads = 0;
};
std::optional<ProcMemory> read_memory(pid_t pid);
// utime + stime of the whole process, in seconds; negative if unreadable.
double cpu_seconds(pid_t pid);
// Entries in /proc/PID/fd; -1 if unreadable.
int open_fds(pid_t pid);

// Queues of one TCP socket from /proc/net/tcp (IPv4 loopback sockets).
struct SocketQueues {
  std::size_t tx = 0;  // bytes in the send queue, not yet acknowledged (held back by a full peer)
  std::size_t rx = 0;  // bytes received, not yet read by the application
};
std::optional<SocketQueues> tcp_queues(std::uint16_t local_port, std::uint16_t remote_port);

// ---- the server under test ---------------------------------------------------------

struct FaultServerOptions {
  // Runs the server with RLIMIT_NOFILE soft = hard = this (through
  // enchufe_fault_client nofile), so it cannot raise it.
  std::optional<unsigned> nofile;
  Duration startup_timeout = 10'000ms;
};

// Destroying it ends the server with end_server() (support/enchufe.hpp): a
// server that does not exit cleanly on SIGTERM fails the test.
class FaultServer {
 public:
  ~FaultServer();
  FaultServer(FaultServer&&) noexcept = default;
  FaultServer& operator=(FaultServer&&) noexcept = default;
  // `enchufe serve SERVICE --host 127.0.0.1 --port 0 EXTRA...` (with a
  // private_state_home(), support/enchufe.hpp); waits for its
  // listening line (and, with --web-port in EXTRA, its "ws" one; with
  // --tls-self-signed or --tls-cert, its "tls" one). Throws
  // std::runtime_error with the diagnostics if it does not come.
  static FaultServer start(const std::string& service, const std::vector<std::string>& extra = {},
                           FaultServerOptions options = {});

  Process& process() { return *process_; }
  pid_t pid() const { return process_->pid(); }
  const std::string& service() const { return service_; }
  std::uint16_t port() const { return port_; }
  // The WebSocket door (started with --web-port); 0 without one.
  std::uint16_t ws_port() const { return ws_port_; }
  // The TLS port (started with a certificate); 0 without one.
  std::uint16_t tls_port() const { return tls_port_; }
  bool alive() { return process_->running(); }

  long rss_kb() const;
  double cpu_seconds() const { return faults::cpu_seconds(pid()); }
  int open_fds() const { return faults::open_fds(pid()); }

  // Lines of stderr containing `needle`, and waiting for at least n of them.
  std::size_t stderr_count(std::string_view needle) const;
  // The first line of stderr containing every one of `needles`, waiting for
  // it up to `timeout`.
  std::optional<std::string> wait_stderr_line(const std::vector<std::string>& needles, Duration timeout) const;
  // The line logging the close of the client whose local port is `port`
  // ("echo #3: closed 127.0.0.1:PORT: REASON..."), waiting up to `timeout`.
  std::optional<std::string> wait_closed_line(std::uint16_t client_port, Duration timeout) const;
  bool wait_stderr_count(std::string_view needle, std::size_t n, Duration timeout) const;
  std::string diagnostics() const { return process_->diagnostics(); }

  // How the closes of the clients on `client_ports` were logged: waits (one
  // deadline for all) until each has a "closed" line containing `reason`.
  // A client that reset before the server looked at its address is logged
  // as "0.0.0.0:0" (see AnonymousResets in reset_test.cpp): such lines with
  // the reason count for clients whose port was not found, and are counted
  // in `anonymous`.
  struct CloseTally {
    std::size_t expected = 0, matched = 0, anonymous = 0;
    std::vector<std::string> problems;  // "port P: ..." for the others, first few
    bool all() const { return matched == expected; }
    std::string describe() const;
  };
  CloseTally tally_closes(const std::vector<std::uint16_t>& client_ports, std::string_view reason,
                          Duration timeout) const;

 private:
  FaultServer() = default;
  // Its private_state_home(), removed after the process ended (declared first).
  std::unique_ptr<TempDir> state_home_;
  std::unique_ptr<Process> process_;
  std::string service_;
  std::uint16_t port_ = 0;
  std::uint16_t ws_port_ = 0;
  std::uint16_t tls_port_ = 0;
};

// The helper binary (bad_client.cpp).
std::string fault_client_binary();

// ---- memory --------------------------------------------------------------------

// Takes the server's VmRSS now as the baseline; check() compares the peak
// (VmHWM, which the kernel keeps, so no sample is missed) with it, prints
// the figures on stdout and records them as test properties.
class MemoryWatch {
 public:
  explicit MemoryWatch(FaultServer& server);
  long baseline_kb() const { return baseline_kb_; }
  // EXPECTs peak <= baseline + allowance; returns the peak growth in KiB.
  long check(long allowance_kb);

 private:
  FaultServer& server_;
  long baseline_kb_ = 0;
};

// ---- well-behaved clients ------------------------------------------------------------

struct SteadyReport {
  std::string name;
  std::size_t rounds = 0;    // round trips done and checked
  std::size_t retries = 0;   // UDP only: datagrams sent again after a loss
  std::size_t failures = 0;  // wrong, missing or late replies
  Duration max_latency{0};
  std::vector<std::string> errors;  // the first few
  std::string describe() const;
};

// A well-behaved client of one service doing round trips in a background
// thread until stop(), each checked byte for byte and timed:
//   greet:    connect, read the whole greeting and the EOF (a new connection each round);
//   echo:     one connection, "steady N\n" -> "Eco: steady N\n";
//   chat:     two members of general: A says "steady N", B must hear
//             "<steadyA> steady N" in order; every line either receives must be
//             clean text (valid UTF-8, no control bytes): what other (faulty)
//             clients say reaches them sanitized;
//   udp-echo: "steady N" -> "Eco UDP: steady N", sent again (up to 10 times,
//             300 ms apart) if lost: UDP may drop under a flood.
// A round whose reply does not come in kIo is a failure and ends the thread.
class Steady {
 public:
  static std::unique_ptr<Steady> start(FaultServer& server);
  ~Steady();

  // Waits until `n` more rounds are done (a sign of life right now).
  bool wait_rounds(std::size_t n, Duration timeout);
  std::size_t rounds() const { return rounds_.load(); }
  // Stops the thread (a round in progress finishes) and returns the report.
  SteadyReport stop();

  // One round trip: true if it went right; else `error` says what went
  // wrong. `retries` counts datagrams sent again (UDP).
  using Round = std::function<bool(std::string& error, std::size_t& retries)>;
  // Between rounds, every few milliseconds (e.g. a chat member reading what
  // the room says, as a real one does all the time); false with `error` is
  // a failure, as for a round.
  using Idle = std::function<bool(std::string& error)>;
  Steady(std::string name, Duration interval, Round round, Idle idle = {});

 private:
  void run();

  std::string name_;
  Duration interval_;
  Round round_;
  Idle idle_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> rounds_{0};
  std::mutex mutex_;
  SteadyReport report_;
  std::thread thread_;
  bool stopped_ = false;
};

// The checks every case ends with: the server still runs, the steady client
// had no failure and no round slower than kSteadyLatencyBound, and the
// server's peak memory stayed within `rss_allowance_kb` of the baseline.
void expect_server_healthy(FaultServer& server, Steady* steady, MemoryWatch& memory, long rss_allowance_kb);

// ---- misbehaving clients --------------------------------------------------------------

// A connection the test drives by hand, plus what it received.
struct PumpResult {
  std::string received;
  std::size_t sent = 0;
  ReadEnd end = ReadEnd::timeout;  // complete: EOF; error: see `error`
  int error = 0;
  int send_error = 0;  // why sending stopped early (EPIPE, ECONNRESET), 0 if all went
  std::string describe() const;
};
struct PumpOptions {
  bool shutdown_write_after = false;  // half-close once everything is sent
  bool until_eof = true;              // after sending, read until EOF (else return at once)
  Duration timeout = 10'000ms;        // for the whole exchange
};
// Sends `bytes` while reading whatever arrives (so a server that answers as
// it reads can never deadlock the test), then optionally half-closes and
// reads until EOF. Sending stops at the first error.
PumpResult pump(TcpClient& client, std::string_view bytes, PumpOptions options = {});

// Opens `n` connections (connect only). Throws if one cannot connect.
std::vector<TcpClient> open_connections(std::uint16_t port, std::size_t n);

// The flags `service` needs to take a crowd from 127.0.0.1, which stands for
// as many hosts: the chat limits clients per address (--max-per-address,
// --connect-rate) unless loopback is trusted; the others need none.
std::vector<std::string> crowd_flags(const std::string& service);

// ---- chat ------------------------------------------------------------------------

// A chat member that has read its welcome (up to "you are in general now"):
// the server has certainly accepted and registered it.
TcpClient chat_join(std::uint16_t port, const std::string& nick = {});
// True if `line` (one line, without its '\n') is valid UTF-8 with no control
// bytes: what a chat client may safely print on a terminal.
bool is_clean_text(std::string_view line);

// Deterministic pseudo-random bytes.
std::string random_bytes(std::size_t n, std::uint64_t seed);

// The status line an HTTP request gets on a fresh connection, or what ended
// the connection instead ("<...>").
std::string http_status_of(std::uint16_t port, const std::string& request);

// ---- WebSocket by hand -----------------------------------------------------------
// For frames no library sends: the client side of RFC 6455 written out.

// "GET /ws" with a valid upgrade (plus `extra_headers`, each ending in
// "\r\n"), its answer read up to the blank line; EXPECTs a 101. The answer
// goes to *response if given.
TcpClient websocket_upgraded(std::uint16_t port, std::string_view extra_headers = {},
                             std::string* response = nullptr);

// One frame as a client sends it: `first` is the first byte as given (FIN,
// RSV1-3, opcode), the payload is masked (unless `masked` is false) with a
// fixed nonzero key, the length in its shortest form, or `declared` instead
// of the payload's (a header that lies; the payload is still appended).
std::string ws_frame(std::uint8_t first, std::string_view payload, bool masked = true,
                     std::optional<std::uint64_t> declared = std::nullopt);
// A close frame's payload: the code (big-endian), then the reason.
std::string ws_close_payload(int code, std::string_view reason = {});

// One frame the server sent (a server never masks).
struct WsFrame {
  std::uint8_t first = 0;
  std::string payload;
  int opcode() const { return first & 0x0f; }
  bool fin() const { return (first & 0x80) != 0; }
  std::string describe() const;  // "text FIN 9 bytes \"Eco: hola\""
};
// The next frame; nullopt on timeout, EOF or a header that makes no sense
// from a server (masked, or longer than 64 MiB). `client`: anything with
// recv_exact(n, timeout), a TcpClient or (over TLS) a TlsClient.
template <typename Client>
std::optional<WsFrame> read_ws_frame(Client& client, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  const auto left = [&] { return std::max(Duration(0), std::chrono::duration_cast<Duration>(deadline - Clock::now())); };
  const auto head = client.recv_exact(2, left());
  if (!head.complete()) return std::nullopt;
  WsFrame frame;
  frame.first = static_cast<std::uint8_t>(head.data[0]);
  const auto second = static_cast<std::uint8_t>(head.data[1]);
  if (second & 0x80) return std::nullopt;  // a masked frame from a server
  std::uint64_t n = second & 0x7f;
  if (n >= 126) {
    const auto extended = client.recv_exact(n == 126 ? 2 : 8, left());
    if (!extended.complete()) return std::nullopt;
    n = 0;
    for (const char c : extended.data) n = n << 8 | static_cast<std::uint8_t>(c);
  }
  if (n > (64u << 20)) return std::nullopt;
  const auto payload = client.recv_exact(static_cast<std::size_t>(n), left());
  if (!payload.complete()) return std::nullopt;
  frame.payload = payload.data;
  return frame;
}
// A browser's upgrade request for the chat's /ws (version 13, a fixed key),
// with `extra_headers` ("Name: value\r\n" each) before the blank line.
std::string websocket_upgrade_request(std::string_view extra_headers = {});
// Reads frames until a close frame and returns its code (0: it had none);
// -1 if the connection ended or `timeout` passed first. The frames before
// it go to *before.
int read_close_code(TcpClient& client, Duration timeout, std::vector<WsFrame>* before = nullptr);

// SIGTERM, then the server must exit 0 within `within` (tricklers and
// half-sent requests must not hold the shutdown up).
void expect_quick_clean_exit(Server& server, Duration within = 1000ms);

// Names parameterized tests by their service ("udp-echo" -> "udp_echo").
std::string service_param_name(const ::testing::TestParamInfo<std::string>& info);

// Prints "[ figure ] NAME: VALUE" on stdout and records it as a test property.
void report_figure(const std::string& name, const std::string& value);

}  // namespace enchufe::test::faults
