#include "support/enchufe.hpp"

#include "support/net.hpp"
#include "support/threads.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#ifndef ENCHUFE_BINARY
#define ENCHUFE_BINARY "enchufe"
#endif

namespace enchufe::test {

std::string enchufe_binary() {
  if (const char* path = std::getenv("ENCHUFE_BINARY"); path != nullptr && *path != '\0') return path;
  return ENCHUFE_BINARY;
}

std::optional<Listening> parse_listening_line(std::string_view line) {
  constexpr std::string_view kPrefix = "listening: ";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  Listening l;
  l.service = line.substr(0, sp1);
  l.proto = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto address = line.substr(sp2 + 1);
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  l.host = host;
  const auto port_text = address.substr(colon + 1);
  unsigned port = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  l.port = static_cast<std::uint16_t>(port);
  return l;
}

std::vector<std::string> services_of(std::string_view service, const std::vector<std::string>& args) {
  std::vector<std::string> out;
  if (service == "all") {
    out = {"greet", "echo", "udp-echo", "chat"};
  } else {
    out = {std::string(service)};
  }
  const auto has = [&](std::string_view flag) { return std::find(args.begin(), args.end(), flag) != args.end(); };
  if (has("--no-web")) return out;
  if (service == "all" || service == "chat") out.push_back("chat http");
  // Echo's WebSocket: always in "all", on demand (--web-port) for echo and greet.
  if (service == "all" || ((service == "echo" || service == "greet") && has("--web-port"))) {
    out.push_back(std::string(service == "all" ? "echo" : service) + " ws");
  }
  return out;
}

std::unique_ptr<TempDir> private_state_home(const std::vector<std::string>& args, std::vector<std::string>& env) {
  const auto names_state = [](std::string_view e) { return e == "XDG_STATE_HOME" || e.starts_with("XDG_STATE_HOME="); };
  // "--history-db PATH" or "--history-db=PATH".
  const auto names_db = [](std::string_view a) { return a.starts_with("--history-db"); };
  if (args.empty() || args.front() != "serve" || std::any_of(args.begin(), args.end(), names_db) ||
      std::any_of(env.begin(), env.end(), names_state)) {
    return nullptr;
  }
  auto dir = std::make_unique<TempDir>();
  env.push_back("XDG_STATE_HOME=" + dir->path.string());
  return dir;
}

namespace {

// N of "--threads N" in `args`; 0 when absent (the server picks).
std::size_t threads_flag(const std::vector<std::string>& args) {
  const auto it = std::find(args.begin(), args.end(), "--threads");
  if (it == args.end() || it + 1 == args.end()) return 0;
  std::size_t n = 0;
  std::from_chars(it[1].data(), it[1].data() + it[1].size(), n);
  return n;
}

}  // namespace

Server Server::start(const std::string& service, const std::vector<std::string>& extra, ServerOptions options) {
  std::vector<std::string> args{"serve", service};
  if (!options.host.empty()) args.insert(args.end(), {"--host", options.host});
  if (options.port_zero) args.insert(args.end(), {"--port", "0"});
  args.insert(args.end(), extra.begin(), extra.end());
  return start_args(args, services_of(service, extra), options.startup_timeout, std::move(options.spawn));
}

Server Server::start_args(const std::vector<std::string>& args, const std::vector<std::string>& services,
                          Duration startup_timeout, SpawnOptions spawn) {
  Server server;
  server.state_home_ = private_state_home(args, spawn.env);
  server.process_ = std::make_unique<Process>(enchufe_binary(), args, std::move(spawn));
  auto& p = *server.process_;
  const auto deadline = Clock::now() + startup_timeout;
  auto missing = [&] {
    return std::any_of(services.begin(), services.end(), [&](const std::string& s) {
      return std::none_of(server.listening_.begin(), server.listening_.end(),
                          [&](const Listening& l) { return l.service == s || l.service + " " + l.proto == s; });
    });
  };
  auto read_line = [&](Duration timeout) -> bool {
    auto line = p.read_stdout_line(timeout);
    if (!line) return false;
    if (auto l = parse_listening_line(*line)) server.listening_.push_back(*l);
    return true;
  };
  while (missing()) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration(0) || !read_line(left)) {
      p.wait_exit(200ms);
      throw std::runtime_error("enchufe did not print its listening lines in time: " + p.diagnostics());
    }
  }
  // One service may listen on several addresses, printed together: take
  // every line already there.
  while (read_line(0ms)) {
  }
  // `--threads N` must mean N event loops: tests that pass it to spread
  // members over threads would otherwise quietly test one thread.
  if (const auto n = threads_flag(args); n > 0) {
    if (const auto problem = wait_for_loops(p.pid(), n, startup_timeout); !problem.empty()) {
      throw std::runtime_error("--threads " + std::to_string(n) + ": " + problem + "\n" + p.diagnostics());
    }
  }
  return server;
}

const Listening& Server::socket(std::string_view service, std::string_view proto) const {
  for (const auto& l : listening_) {
    // Without a protocol, the service's own (not its TLS port or web doors).
    if (l.service == service && (proto.empty() ? l.proto == "tcp" || l.proto == "udp" : l.proto == proto)) return l;
  }
  throw std::out_of_range("the server has no socket for " + std::string(service) + " " + std::string(proto));
}

std::string end_server(Process& process, Duration timeout) {
  if (const auto status = process.poll_exit()) {
    // Exiting by itself with a code may be what the test wanted; dying of a
    // signal nobody sent (SIGABRT, SIGSEGV) never is.
    if (status->signaled() && !process.was_signalled()) {
      return "the server crashed during the test (" + status->describe() + "): " + process.diagnostics();
    }
    return "";
  }
  process.send_signal(SIGCONT);
  process.send_signal(SIGTERM);
  const auto status = process.wait_exit(timeout);
  if (!status) {
    const auto seconds = std::to_string(timeout.count() / 1000.0);
    process.kill();
    return "the server was still running " + seconds.substr(0, seconds.find('.') + 2) +
           " s after SIGTERM at the end of the test (killed): " + process.diagnostics();
  }
  if (!status->is_exit_code(0)) {
    return "the server ended with " + status->describe() + " on SIGTERM at the end of the test: " +
           process.diagnostics();
  }
  return "";
}

Server::~Server() {
  if (!process_) return;  // moved from
  if (const auto problem = end_server(*process_); !problem.empty()) ADD_FAILURE() << problem;
}

std::optional<ExitStatus> Server::stop(Duration timeout) {
  process_->send_signal(SIGTERM);
  auto status = process_->wait_exit(timeout);
  if (!status) process_->kill();
  return status;
}

// ---- one-shot runs ----------------------------------------------------------

std::string RunResult::describe() const {
  std::ostringstream s;
  s << "`" << command << "`: "
    << (timed_out ? std::string("TIMED OUT (killed)") : status ? status->describe() : std::string("?")) << " after "
    << elapsed.count() << " ms\n  stdout: \"" << escape(out, 2000) << "\"\n  stderr: \"" << escape(err, 2000)
    << "\"";
  return s.str();
}

std::ostream& operator<<(std::ostream& os, const RunResult& r) { return os << r.describe(); }

RunResult run_enchufe(const std::vector<std::string>& args, RunOptions options) {
  const auto state_home = private_state_home(args, options.env);
  return run_program(enchufe_binary(), args, std::move(options));
}

RunResult run_program(const std::string& program, const std::vector<std::string>& args, RunOptions options) {
  RunResult r;
  const auto start = Clock::now();
  Process p(program, args, {.env = std::move(options.env)});
  r.command = p.command_line();
  if (!options.input.empty()) p.write_stdin(options.input, options.timeout);
  if (options.close_stdin) p.close_stdin();
  const auto left = std::chrono::duration_cast<Duration>(start + options.timeout - Clock::now());
  r.status = p.wait_exit(std::max(left, Duration(0)));
  if (!r.status) {
    r.timed_out = true;
    p.kill();
  }
  r.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.emplace_back(text);
      break;
    }
    lines.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace enchufe::test
