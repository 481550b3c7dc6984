#pragma once
// Driving the real `enchufe` binary: servers started on free ports (their
// ports read from the "listening: SERVICE PROTO ADDR:PORT" lines on stdout)
// and one-shot runs (CLI checks, `enchufe connect`).

#include "support/files.hpp"
#include "support/process.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::test {

// The binary under test: $ENCHUFE_BINARY if set, else the path CMake compiled
// in (ENCHUFE_BINARY, the enchufe target's file).
std::string enchufe_binary();

// One "listening: echo tcp 127.0.0.1:41234" line.
struct Listening {
  std::string service;  // greet, echo, udp-echo, chat
  std::string proto;    // tcp, udp; http (the chat's web door), ws (a service's WebSocket door)
  std::string host;     // "127.0.0.1", "::1" (no brackets)
  std::uint16_t port = 0;
};
std::optional<Listening> parse_listening_line(std::string_view line);

// `serve chat|all` keeps the chat's history in $XDG_STATE_HOME/enchufe/chat.db
// by default, and only one server may use that file (flock). So every server a
// test starts gets a state folder of its own: servers of tests that run at
// once never share the file, no history leaks from one test into another,
// and no test writes to the home of whoever runs it.
// Returns a fresh folder for `enchufe ARGS` and names it in `env` (the
// child's SpawnOptions::env) as XDG_STATE_HOME; the caller keeps it until the
// child ended (destroying it removes the folder). nullptr when the run needs
// none: it is no `serve`, it gives --history-db, or `env` already sets (or
// removes) XDG_STATE_HOME: the test chose.
std::unique_ptr<TempDir> private_state_home(const std::vector<std::string>& args, std::vector<std::string>& env);

struct ServerOptions {
  // Added as --host unless empty. An explicit numeric host keeps the
  // addresses the tests connect to independent of what "localhost" means.
  std::string host = "127.0.0.1";
  // Added as --port 0 (every port free) unless false.
  bool port_zero = true;
  // How long to wait for the listening lines.
  Duration startup_timeout = 10'000ms;
  SpawnOptions spawn;
};

// Ends a server a test is done with as an operator would: SIGCONT (in case
// the test stopped it), SIGTERM, and a wait for its exit. Returns what went
// wrong ("" if nothing): it was still running after `timeout` (then it is
// killed), or it exited with another status than 0. A server that had
// already exited is left alone (the test looked at it, or meant it), unless
// it died of a signal the test did not send: a crash.
// Ending servers this way, not with SIGKILL, also lets the sanitizer builds
// see their leaks and races at exit.
std::string end_server(Process& process, Duration timeout = 5000ms);

// A running `enchufe serve ...`. Destroying it ends the process with
// end_server(), and a server that does not exit cleanly fails the test.
class Server {
 public:
  ~Server();
  Server(Server&&) noexcept = default;
  Server& operator=(Server&&) noexcept = default;

  // `enchufe serve SERVICE [--host H] [--port 0] EXTRA...`, then waits for the
  // listening lines of every service it runs ("all": greet, echo, udp-echo,
  // chat) and of their web doors (services_of).
  // Throws std::runtime_error (with the server's stderr) if they do not come.
  static Server start(const std::string& service, const std::vector<std::string>& extra = {},
                      ServerOptions options = {});
  // `enchufe ARGS...` exactly as given (with a private_state_home()); waits
  // for the listening lines of `services`.
  static Server start_args(const std::vector<std::string>& args, const std::vector<std::string>& services,
                           Duration startup_timeout = 10'000ms, SpawnOptions spawn = {});

  Process& process() { return *process_; }
  const std::vector<Listening>& listening() const { return listening_; }
  // The first socket of `service` (e.g. "echo") and `proto` (by default
  // the service's own, tcp or udp, not its TLS port or a web door: "tls",
  // "http", "https", "ws", "wss"); throws if there is none.
  const Listening& socket(std::string_view service, std::string_view proto = {}) const;
  std::uint16_t port(std::string_view service) const { return socket(service).port; }
  std::string host(std::string_view service) const { return socket(service).host; }
  // The chat's web front door.
  std::uint16_t web_port() const { return socket("chat", "http").port; }
  // The WebSocket door of greet or echo ("listening: echo ws ...").
  std::uint16_t ws_port(std::string_view service) const { return socket(service, "ws").port; }

  // SIGTERM, then wait for the exit; SIGKILL if it does not come in time.
  std::optional<ExitStatus> stop(Duration timeout = 5000ms);

 private:
  Server() = default;
  // Declared before process_, so it is removed after the process ended.
  std::unique_ptr<TempDir> state_home_;
  std::unique_ptr<Process> process_;
  std::vector<Listening> listening_;
};

// The listening lines `enchufe serve SERVICE EXTRA...` prints: services
// ("echo"), or a service and protocol for the web doors: "chat http" (chat,
// all), "echo ws" (all; echo with --web-port), "greet ws" (greet with
// --web-port); --no-web turns them all off.
std::vector<std::string> services_of(std::string_view service, const std::vector<std::string>& extra = {});

// ---- one-shot runs --------------------------------------------------------

struct RunOptions {
  std::string input;          // written to stdin
  bool close_stdin = true;    // then stdin is closed (EOF); false: left open
  Duration timeout = 10'000ms;  // killed (and timed_out set) past this
  std::vector<std::string> env;  // as SpawnOptions::env
};

struct RunResult {
  std::optional<ExitStatus> status;  // nullopt if it had to be killed
  bool timed_out = false;
  std::string out, err;
  Duration elapsed{0};
  std::string command;

  bool exited_with(int code) const { return status && status->is_exit_code(code); }
  std::string describe() const;  // command, status, time, escaped stdout and stderr
};
std::ostream& operator<<(std::ostream& os, const RunResult& r);

// Runs `PROGRAM ARGS...` to completion (or the timeout): the real peers
// (openssl, ...) the way run_enchufe() runs our binary.
RunResult run_program(const std::string& program, const std::vector<std::string>& args, RunOptions options = {});

// Runs `enchufe ARGS...` to completion (or the timeout), a `serve` with a
// private_state_home().
RunResult run_enchufe(const std::vector<std::string>& args, RunOptions options = {});

// Lines of `text` (split on '\n'; a last line without '\n' counts).
std::vector<std::string> split_lines(std::string_view text);

}  // namespace enchufe::test
