#include "fault_support.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>

#ifndef ENCHUFE_FAULT_CLIENT
#define ENCHUFE_FAULT_CLIENT "enchufe_fault_client"
#endif

namespace enchufe::test::faults {

// ---- /proc -----------------------------------------------------------------------

std::optional<ProcMemory> read_memory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  ProcMemory m;
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&line] { return std::strtol(line.c_str() + line.find(':') + 1, nullptr, 10); };
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = value();
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = value();
    if (line.rfind("Threads:", 0) == 0) m.threads = static_cast<int>(value());
  }
  if (m.rss_kb < 0) return std::nullopt;  // a zombie has no memory lines
  return m;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return -1;
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields from 3 (state) on; utime is 14 and stime 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int open_fds(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

std::optional<SocketQueues> tcp_queues(std::uint16_t local_port, std::uint16_t remote_port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // "  sl  local_address rem_address   st tx_queue:rx_queue ..."
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues;
    if (!(fields >> sl >> local >> remote >> state >> queues)) continue;
    const auto port_of = [](const std::string& address) {
      return static_cast<std::uint16_t>(std::stoul(address.substr(address.find(':') + 1), nullptr, 16));
    };
    if (port_of(local) != local_port || port_of(remote) != remote_port) continue;
    SocketQueues q;
    q.tx = std::stoul(queues.substr(0, queues.find(':')), nullptr, 16);
    q.rx = std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16);
    return q;
  }
  return std::nullopt;
}

// ---- the server under test ---------------------------------------------------------

std::string fault_client_binary() {
  if (const char* path = std::getenv("ENCHUFE_FAULT_CLIENT"); path != nullptr && *path != '\0') return path;
  return ENCHUFE_FAULT_CLIENT;
}

FaultServer FaultServer::start(const std::string& service, const std::vector<std::string>& extra,
                               FaultServerOptions options) {
  std::vector<std::string> args{"serve", service, "--host", "127.0.0.1", "--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  FaultServer server;
  server.service_ = service;
  SpawnOptions spawn;
  server.state_home_ = private_state_home(args, spawn.env);
  if (options.nofile) {
    std::vector<std::string> wrapped{"nofile", std::to_string(*options.nofile), "--", enchufe_binary()};
    wrapped.insert(wrapped.end(), args.begin(), args.end());
    server.process_ = std::make_unique<Process>(fault_client_binary(), wrapped, std::move(spawn));
  } else {
    server.process_ = std::make_unique<Process>(enchufe_binary(), args, std::move(spawn));
  }
  auto& p = *server.process_;
  const auto deadline = Clock::now() + options.startup_timeout;
  // With --web-port, the service's WebSocket door too ("listening: echo ws ...").
  const bool ws = std::find(extra.begin(), extra.end(), "--web-port") != extra.end();
  // With a certificate, its TLS port too ("listening: echo tls ...").
  const bool tls = std::any_of(extra.begin(), extra.end(),
                               [](const std::string& a) { return a == "--tls-self-signed" || a == "--tls-cert"; });
  while (server.port_ == 0 || (ws && server.ws_port_ == 0) || (tls && server.tls_port_ == 0)) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    auto line = left > Duration(0) ? p.read_stdout_line(left) : std::nullopt;
    if (!line) {
      p.wait_exit(200ms);
      throw std::runtime_error("enchufe did not print its listening line in time: " + p.diagnostics());
    }
    const auto l = parse_listening_line(*line);
    if (!l || l->service != service) continue;
    if (l->proto == "ws") {
      if (server.ws_port_ == 0) server.ws_port_ = l->port;
    } else if (l->proto == "tls") {
      if (server.tls_port_ == 0) server.tls_port_ = l->port;
    } else if (l->proto != "http" && server.port_ == 0) {
      server.port_ = l->port;
    }
  }
  // "serving with N threads" comes once the listeners have started.
  p.wait_stderr_contains("serving with", options.startup_timeout);
  return server;
}

FaultServer::~FaultServer() {
  if (!process_) return;  // moved from
  if (const auto problem = end_server(*process_); !problem.empty()) ADD_FAILURE() << problem;
}

long FaultServer::rss_kb() const {
  const auto m = read_memory(pid());
  return m ? m->rss_kb : -1;
}

namespace {
std::size_t count_lines_with(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  std::size_t from = 0;
  while (from < text.size()) {
    auto nl = text.find('\n', from);
    if (nl == std::string::npos) nl = text.size();
    if (std::string_view(text).substr(from, nl - from).find(needle) != std::string_view::npos) ++n;
    from = nl + 1;
  }
  return n;
}
}  // namespace

std::size_t FaultServer::stderr_count(std::string_view needle) const {
  return count_lines_with(process_->stderr_text(), needle);
}

bool FaultServer::wait_stderr_count(std::string_view needle, std::size_t n, Duration timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (stderr_count(needle) >= n) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::optional<std::string> FaultServer::wait_stderr_line(const std::vector<std::string>& needles,
                                                         Duration timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const std::string text = process_->stderr_text();
    std::size_t from = 0;
    while (from < text.size()) {
      auto nl = text.find('\n', from);
      if (nl == std::string::npos) break;  // only whole lines
      const std::string_view line(text.data() + from, nl - from);
      if (std::all_of(needles.begin(), needles.end(),
                      [line](const std::string& n) { return line.find(n) != std::string_view::npos; })) {
        return std::string(line);
      }
      from = nl + 1;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

std::optional<std::string> FaultServer::wait_closed_line(std::uint16_t client_port, Duration timeout) const {
  return wait_stderr_line({": closed 127.0.0.1:" + std::to_string(client_port) + ": "}, timeout);
}

std::string FaultServer::CloseTally::describe() const {
  std::string s = std::to_string(matched) + " of " + std::to_string(expected) + " closes logged as expected";
  if (anonymous) s += " (" + std::to_string(anonymous) + " of them without the client's address: 0.0.0.0:0)";
  for (const auto& p : problems) s += "\n  " + p;
  return s;
}

FaultServer::CloseTally FaultServer::tally_closes(const std::vector<std::uint16_t>& client_ports,
                                                  std::string_view reason, Duration timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    CloseTally t;
    t.expected = client_ports.size();
    const std::string text = process_->stderr_text();
    std::size_t unnamed = 0;
    for (auto at = text.find(": closed 0.0.0.0:0: "); at != std::string::npos;
         at = text.find(": closed 0.0.0.0:0: ", at + 1)) {
      const auto end = text.find('\n', at);
      if (std::string_view(text).substr(at, end - at).find(reason) != std::string_view::npos) ++unnamed;
    }
    std::size_t not_found = 0;
    for (const auto port : client_ports) {
      const std::string needle = ": closed 127.0.0.1:" + std::to_string(port) + ": ";
      // The last such line: a port may be reused by a later client.
      const auto at = text.rfind(needle);
      if (at == std::string::npos) {
        if (++not_found > unnamed && t.problems.size() < 5) {
          t.problems.push_back("port " + std::to_string(port) + ": no close logged");
        }
        continue;
      }
      const auto begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
      const auto line = text.substr(begin, text.find('\n', at) - begin);
      if (line.find(reason) != std::string::npos) {
        ++t.matched;
      } else if (t.problems.size() < 5) {
        t.problems.push_back("port " + std::to_string(port) + ": " + line);
      }
    }
    t.anonymous = std::min(unnamed, not_found);
    t.matched += t.anonymous;
    if (t.all() || Clock::now() >= deadline) return t;
    std::this_thread::sleep_for(20ms);
  }
}

// ---- memory --------------------------------------------------------------------

void report_figure(const std::string& name, const std::string& value) {
  std::cout << "[ figure   ] " << name << ": " << value << std::endl;
  ::testing::Test::RecordProperty(name, value);
}

MemoryWatch::MemoryWatch(FaultServer& server) : server_(server) { baseline_kb_ = server.rss_kb(); }

long MemoryWatch::check(long allowance_kb) {
  const auto m = read_memory(server_.pid());
  if (!m) {
    ADD_FAILURE() << "cannot read /proc/" << server_.pid() << "/status (server gone?)\n" << server_.diagnostics();
    return -1;
  }
  const long growth = m->hwm_kb - baseline_kb_;
  std::ostringstream s;
  s << "baseline VmRSS " << baseline_kb_ << " KiB, peak VmHWM " << m->hwm_kb << " KiB (+" << growth
    << "), now VmRSS " << m->rss_kb << " KiB, allowed +" << allowance_kb << " KiB";
  report_figure("rss", s.str());
#ifdef ENCHUFE_SANITIZED
  // ASan keeps freed memory in quarantine (up to 256 MiB) and shadows the
  // rest: the bound is asserted in the normal build, only reported here.
  return growth;
#endif
  EXPECT_LE(growth, allowance_kb) << "the server's peak memory grew by " << growth << " KiB over its baseline of "
                                  << baseline_kb_ << " KiB";
  return growth;
}

// ---- well-behaved clients ------------------------------------------------------------

std::string SteadyReport::describe() const {
  std::ostringstream s;
  s << name << ": " << rounds << " rounds, " << failures << " failures, max latency " << max_latency.count()
    << " ms";
  if (retries) s << ", " << retries << " datagrams sent again";
  for (const auto& e : errors) s << "\n  " << e;
  return s.str();
}

Steady::Steady(std::string name, Duration interval, Round round, Idle idle)
    : name_(std::move(name)), interval_(interval), round_(std::move(round)), idle_(std::move(idle)) {
  report_.name = name_;
  thread_ = std::thread([this] { run(); });
}

Steady::~Steady() { stop(); }

void Steady::run() {
  while (!stop_.load()) {
    const auto began = Clock::now();
    std::string error;
    std::size_t retries = 0;
    const bool ok = round_(error, retries);
    const auto took = std::chrono::duration_cast<Duration>(Clock::now() - began);
    {
      std::lock_guard lock(mutex_);
      report_.max_latency = std::max(report_.max_latency, took);
      report_.retries += retries;
      if (!ok) {
        ++report_.failures;
        report_.errors.push_back("round " + std::to_string(report_.rounds + 1) + ": " + error);
        break;  // the connection's state is unknown now
      }
      ++report_.rounds;
    }
    rounds_.fetch_add(1);
    // Sleep in small steps so stop() is prompt.
    const auto next = began + interval_;
    while (!stop_.load() && Clock::now() < next) {
      if (idle_ && !idle_(error)) {
        std::lock_guard lock(mutex_);
        ++report_.failures;
        report_.errors.push_back("between rounds " + std::to_string(report_.rounds) + " and " +
                                 std::to_string(report_.rounds + 1) + ": " + error);
        return;
      }
      std::this_thread::sleep_for(std::min<Clock::duration>(5ms, next - Clock::now()));
    }
  }
}

bool Steady::wait_rounds(std::size_t n, Duration timeout) {
  const std::size_t target = rounds_.load() + n;
  const auto deadline = Clock::now() + timeout;
  // Why not, for the failure message: a failed round's error, or the timeout.
  auto fail = [&](const char* why) {
    std::lock_guard lock(mutex_);
    report_figure("steady", std::string(why) + "; " + report_.describe());
    return false;
  };
  while (rounds_.load() < target) {
    bool failed = false;
    {
      std::lock_guard lock(mutex_);
      failed = report_.failures > 0;
    }
    if (failed) return fail("a round failed");
    if (Clock::now() >= deadline) return fail("too few rounds in time");
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

SteadyReport Steady::stop() {
  if (!stopped_) {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    stopped_ = true;
  }
  std::lock_guard lock(mutex_);
  return report_;
}

namespace {

std::unique_ptr<Steady> steady_echo(std::uint16_t port) {
  auto client = std::make_shared<TcpClient>(TcpClient::connect("127.0.0.1", port));
  auto n = std::make_shared<std::size_t>(0);
  return std::make_unique<Steady>("steady echo client", 10ms, [client, n](std::string& error, std::size_t&) {
    const std::string line = "steady " + std::to_string(++*n) + "\n";
    if (!client->send_all(line, kIo)) {
      error = "send failed: " + std::string(std::strerror(client->last_error()));
      return false;
    }
    const auto r = client->recv_until("\n", kIo);
    if (!r.complete() || r.data != "Eco: " + line) {
      error = "expected \"Eco: " + escape(line) + "\", got " + r.describe();
      return false;
    }
    return true;
  });
}

std::unique_ptr<Steady> steady_greet(std::uint16_t port) {
  return std::make_unique<Steady>("steady greet client", 20ms, [port](std::string& error, std::size_t&) {
    int e = 0;
    auto client = TcpClient::try_connect("127.0.0.1", port, kIo, &e);
    if (!client) {
      error = "connect failed: " + std::string(std::strerror(e));
      return false;
    }
    const auto r = client->recv_until_eof(kIo);
    if (!r.complete() || r.data != kGreeting) {
      error = "expected the greeting and EOF, got " + r.describe();
      return false;
    }
    return true;
  });
}

struct ChatPair {
  TcpClient a, b;
  std::size_t n = 0;
  std::string a_buffer, b_buffer;
};

// Checks every complete line of `text` (leaves a partial last line in place).
bool check_clean_lines(std::string& text, const std::string& who, std::string& error,
                       const std::function<void(std::string_view)>& on_line = {}) {
  std::size_t from = 0;
  for (;;) {
    const auto nl = text.find('\n', from);
    if (nl == std::string::npos) break;
    const std::string_view line(text.data() + from, nl - from);
    if (!is_clean_text(line)) {
      error = who + " received a line that is not clean text: \"" + escape(line) + "\"";
      return false;
    }
    if (on_line) on_line(line);
    from = nl + 1;
  }
  text.erase(0, from);
  return true;
}

std::unique_ptr<Steady> steady_chat(std::uint16_t port) {
  auto pair = std::make_shared<ChatPair>();
  pair->b = chat_join(port, "steadyB");
  pair->a = chat_join(port, "steadyA");
  // B hears A arrive and take its name; from here on B's stream is live.
  const auto joined = pair->b.recv_until("is now known as steadyA\n", kIo);
  if (!joined.complete()) throw std::runtime_error("steadyB did not hear steadyA arrive: " + joined.describe());
  // Between rounds both read what the room says, as real members do all
  // the time: one that stops reading for 150 ms under a flood can owe the
  // server more than --max-output, and be cut for it.
  auto between_rounds = [pair](std::string& error) {
    auto& p = *pair;
    p.a_buffer += p.a.recv_for(0ms).data;
    p.b_buffer += p.b.recv_for(0ms).data;
    return check_clean_lines(p.a_buffer, "steadyA", error) && check_clean_lines(p.b_buffer, "steadyB", error);
  };
  return std::make_unique<Steady>("steady chat pair", 150ms, [pair](std::string& error, std::size_t&) {
    auto& p = *pair;
    // A drains what it is sent (others' chatter), checking it is clean. It
    // does so all through the round, as a real member reads all the time:
    // the server stops reading a member that owes it more than 256 KiB of
    // unread lines, so a flood to the room would otherwise hold A's line.
    auto drain_a = [&] {
      p.a_buffer += p.a.recv_for(0ms).data;
      return check_clean_lines(p.a_buffer, "steadyA", error);
    };
    if (!drain_a()) return false;
    // B sends a blank line (which the room never sees) so that an
    // --idle-timeout does not take it.
    if (!p.b.send_all("\n", kIo)) {
      error = "steadyB cannot send: " + std::string(std::strerror(p.b.last_error()));
      return false;
    }
    const std::string text = "steady " + std::to_string(++p.n);
    if (!p.a.send_all(text + "\n", kIo)) {
      error = "steadyA cannot send: " + std::string(std::strerror(p.a.last_error()));
      return false;
    }
    const std::string wanted = "<steadyA> " + text;
    const auto deadline = Clock::now() + kIo;
    bool heard = false;
    while (!heard) {
      const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
      if (left <= Duration(0)) {
        error = "steadyB did not hear \"" + wanted + "\" in time; pending: \"" + escape(p.b_buffer) + "\"";
        return false;
      }
      if (!drain_a()) return false;
      const auto r = p.b.recv_some(std::min<Duration>(left, 20ms));
      if (r.end == ReadEnd::timeout) continue;
      if (!r.complete()) {
        error = "steadyB did not hear \"" + wanted + "\": " + r.describe();
        return false;
      }
      p.b_buffer += r.data;
      std::string unexpected;
      if (!check_clean_lines(p.b_buffer, "steadyB", error, [&](std::string_view line) {
            // "[HH:MM:SS] <steadyA> steady N"
            const auto at = line.find("<steadyA> ");
            if (at == std::string_view::npos) return;  // someone else, or a notice
            if (line.substr(at) == wanted) {
              heard = true;
            } else if (unexpected.empty()) {
              unexpected = std::string(line);
            }
          })) {
        return false;
      }
      if (!unexpected.empty()) {
        error = "steadyB heard \"" + escape(unexpected) + "\" while waiting for \"" + wanted + "\"";
        return false;
      }
    }
    return true;
  }, between_rounds);
}

std::unique_ptr<Steady> steady_udp(std::uint16_t port) {
  auto socket = std::make_shared<UdpSocket>();
  auto n = std::make_shared<std::size_t>(0);
  return std::make_unique<Steady>("steady UDP client", 10ms,
                                  [socket, n, port](std::string& error, std::size_t& retries) {
                                    const std::string text = "steady " + std::to_string(++*n);
                                    const std::string wanted = "Eco UDP: " + text;
                                    for (int attempt = 0; attempt < 10; ++attempt) {
                                      if (attempt > 0) ++retries;
                                      if (!socket->send_to("127.0.0.1", port, text)) {
                                        error = "sendto failed: " + std::string(std::strerror(socket->last_error()));
                                        return false;
                                      }
                                      const auto deadline = Clock::now() + 300ms;
                                      while (Clock::now() < deadline) {
                                        const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
                                        auto reply = socket->recv(std::max(left, Duration(1)));
                                        if (!reply) break;
                                        if (*reply == wanted) return true;
                                        // A late reply to an earlier round's lost-then-resent datagram is
                                        // fine; anything else is not.
                                        if (reply->rfind("Eco UDP: steady ", 0) != 0) {
                                          error = "unexpected datagram \"" + escape(*reply) + "\"";
                                          return false;
                                        }
                                      }
                                    }
                                    error = "no reply to \"" + text + "\" after 10 attempts, 300 ms apart";
                                    return false;
                                  });
}

}  // namespace

std::unique_ptr<Steady> Steady::start(FaultServer& server) {
  const auto& s = server.service();
  if (s == "echo") return steady_echo(server.port());
  if (s == "greet") return steady_greet(server.port());
  if (s == "chat") return steady_chat(server.port());
  if (s == "udp-echo") return steady_udp(server.port());
  throw std::invalid_argument("no steady client for " + s);
}

void expect_server_healthy(FaultServer& server, Steady* steady, MemoryWatch& memory, long rss_allowance_kb) {
  EXPECT_TRUE(server.alive()) << "the server died\n" << server.diagnostics();
  if (steady != nullptr) {
    const auto report = steady->stop();
    report_figure("steady", report.describe());
    EXPECT_EQ(report.failures, 0u) << report.describe() << "\n" << server.diagnostics();
    EXPECT_GT(report.rounds, 0u) << report.describe();
    EXPECT_LE(report.max_latency, kSteadyLatencyBound) << report.describe();
  }
  memory.check(rss_allowance_kb);
}

// ---- misbehaving clients --------------------------------------------------------------

std::string PumpResult::describe() const {
  std::ostringstream s;
  s << "sent " << sent << " bytes" << (send_error ? " (stopped: " + std::string(std::strerror(send_error)) + ")" : "")
    << ", then ";
  switch (end) {
    case ReadEnd::complete: s << "EOF"; break;
    case ReadEnd::eof: s << "EOF"; break;
    case ReadEnd::timeout: s << "timed out"; break;
    case ReadEnd::error: s << "error " << std::strerror(error); break;
  }
  s << "; received " << received.size() << " bytes: \"" << escape(received, 600) << "\"";
  return s.str();
}

PumpResult pump(TcpClient& client, std::string_view bytes, PumpOptions options) {
  PumpResult r;
  const int fd = client.fd();
  const auto deadline = Clock::now() + options.timeout;
  bool sending = true, shut = false, eof = false;
  char buffer[64 * 1024];
  while (Clock::now() < deadline) {
    if (sending && r.sent == bytes.size()) {
      sending = false;
      if (options.shutdown_write_after) {
        ::shutdown(fd, SHUT_WR);
        shut = true;
      }
      if (!options.until_eof) break;
    }
    (void)shut;
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now()).count();
    const int ready = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 1, 100)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) {
        r.received.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0) {
        eof = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        r.end = ReadEnd::error;
        r.error = errno;
        return r;
      }
    }
    if (eof) {
      r.end = ReadEnd::complete;
      return r;
    }
    if (sending && (p.revents & POLLOUT)) {
      const ssize_t n = ::send(fd, bytes.data() + r.sent, bytes.size() - r.sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        r.sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        r.send_error = errno;
        sending = false;  // keep reading: what was sent may still be answered
      }
    }
  }
  r.end = ReadEnd::timeout;
  return r;
}

std::vector<TcpClient> open_connections(std::uint16_t port, std::size_t n) {
  std::vector<TcpClient> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(TcpClient::connect("127.0.0.1", port));
  return out;
}

std::vector<std::string> crowd_flags(const std::string& service) {
  if (service == "chat") return {"--trust-loopback"};
  return {};
}

// ---- chat ------------------------------------------------------------------------

TcpClient chat_join(std::uint16_t port, const std::string& nick) {
  auto client = TcpClient::connect("127.0.0.1", port);
  const auto welcome = client.recv_until("* you are in general now", kIo);
  if (!welcome.complete()) throw std::runtime_error("no chat welcome: " + welcome.describe());
  client.recv_until("\n", kIo);
  if (!nick.empty()) {
    client.send_all(nick + "\n");
    const auto r = client.recv_until("* you are " + nick + " now\n", kIo);
    if (!r.complete()) throw std::runtime_error("cannot take the nickname " + nick + ": " + r.describe());
  }
  return client;
}

bool is_clean_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp >= 0x80 && cp <= 0x9F) return false;  // C1 controls
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return false;  // bidi overrides
    i += len;
  }
  return true;
}

std::string service_param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

std::string http_status_of(std::uint16_t port, const std::string& request) {
  auto c = TcpClient::connect("127.0.0.1", port);
  c.send_all(request);
  const auto r = c.recv_until_eof(kIo);
  if (!r.complete()) return "<" + r.describe() + ">";
  return r.data.substr(0, r.data.find("\r\n"));
}

std::string websocket_upgrade_request(std::string_view extra_headers) {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         std::string(extra_headers) + "\r\n";
}

TcpClient websocket_upgraded(std::uint16_t port, std::string_view extra_headers, std::string* response) {
  auto c = TcpClient::connect("127.0.0.1", port);
  EXPECT_TRUE(c.send_all(websocket_upgrade_request(extra_headers)));
  const auto answer = c.recv_until("\r\n\r\n", kIo);
  EXPECT_EQ(answer.data.rfind("HTTP/1.1 101", 0), 0u) << answer;
  if (response) *response = answer.data;
  return c;
}

std::string ws_frame(std::uint8_t first, std::string_view payload, bool masked, std::optional<std::uint64_t> declared) {
  static constexpr unsigned char kKey[4] = {0x37, 0xfa, 0x21, 0x3d};
  const std::uint64_t n = declared.value_or(payload.size());
  std::string out(1, static_cast<char>(first));
  const char mask_bit = masked ? '\x80' : '\0';
  if (n < 126) {
    out += static_cast<char>(mask_bit | static_cast<char>(n));
  } else if (n <= 0xffff) {
    out += static_cast<char>(mask_bit | 126);
    for (int shift = 8; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  }
  if (!masked) return out + std::string(payload);
  out.append(reinterpret_cast<const char*>(kKey), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ kKey[i % 4]);
  return out;
}

std::string ws_close_payload(int code, std::string_view reason) {
  std::string out{static_cast<char>((code >> 8) & 0xff), static_cast<char>(code & 0xff)};
  return out + std::string(reason);
}

std::string WsFrame::describe() const {
  static constexpr std::string_view kNames[16] = {"continuation", "text", "binary", "op3", "op4", "op5", "op6", "op7",
                                                  "close", "ping", "pong", "opB", "opC", "opD", "opE", "opF"};
  std::ostringstream s;
  s << kNames[opcode()] << (fin() ? " FIN" : "") << ((first & 0x70) != 0 ? " RSV" : "") << " " << payload.size()
    << " bytes \"" << escape(payload, 60) << "\"";
  return s.str();
}

int read_close_code(TcpClient& client, Duration timeout, std::vector<WsFrame>* before) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration(0)) return -1;
    auto frame = read_ws_frame(client, left);
    if (!frame) return -1;
    if (frame->opcode() == 0x8) {
      if (frame->payload.size() < 2) return 0;
      return static_cast<std::uint8_t>(frame->payload[0]) << 8 | static_cast<std::uint8_t>(frame->payload[1]);
    }
    if (before) before->push_back(std::move(*frame));
  }
}

void expect_quick_clean_exit(Server& server, Duration within) {
  const auto signalled = Clock::now();
  ASSERT_TRUE(server.process().send_signal(SIGTERM));
  const auto status = server.process().wait_exit(2 * within);
  ASSERT_TRUE(status) << "still running " << (2 * within).count() << " ms after SIGTERM\n"
                      << server.process().diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << server.process().diagnostics();
  EXPECT_LT(Clock::now() - signalled, within) << "the shutdown was held up";
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    const auto v = rng();
    for (std::size_t k = 0; k < 8 && i + k < n; ++k) out[i + k] = static_cast<char>(v >> (8 * k));
  }
  return out;
}

}  // namespace enchufe::test::faults
