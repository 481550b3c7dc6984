// `enchufe connect [--udp] HOST PORT`: the tutorial's clients (Examples 2-4);
// `enchufe connect --tls HOST PORT`: the TCP one over TLS;
// `enchufe connect ws://HOST:PORT/PATH`: the same over WebSocket (wss://:
// over TLS).

#include "cli/commands.hpp"
#include "client/options.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "net/log.hpp"
#include "net/tls_describe.hpp"

#include <boost/url/parse.hpp>

#include <memory>
#include <optional>

namespace enchufe::cli {

namespace {

// ws://HOST[:PORT][/PATH[?QUERY]] into the client's host, port and target,
// and wss:// also turns TLS on; nullopt when `target` is not a WebSocket URL
// at all.
std::optional<net::HostPort> websocket_target(std::string_view target, client::ClientOptions& options) {
  if (!target.starts_with("ws://") && !target.starts_with("wss://")) return std::nullopt;
  const auto url = boost::urls::parse_uri(target);
  if (!url) throw UsageError(fmt::format("connect: '{}' is not a valid URL ({})", target, url.error().message()));
  if (url->host().empty()) throw UsageError(fmt::format("connect: '{}' names no host", target));
  const bool secure = url->scheme() == "wss";
  if (options.tls.enabled && !secure) throw UsageError("connect: --tls and a ws:// URL: for TLS write wss://");
  options.tls.enabled = secure;
  const std::string port = url->has_port() ? std::string(url->port()) : secure ? "443" : "80";
  options.path = url->encoded_target().empty() ? "/" : std::string(url->encoded_target());
  // An IPv6 literal comes bracketed ("[::1]"); the resolver wants it bare.
  return net::HostPort{std::string(url->host_address()), net::parse_port(port)};
}

}  // namespace

void add_connect_command(CLI::App& app, Action& action) {
  struct Args {
    std::string target, port;
    bool udp = false, crlf = false, raw = false, verbose = false;
    double timeout_s = 2.0;
    client::ClientOptions options;
  };
  auto args = std::make_shared<Args>();
  auto& a = *args;

  auto* cmd = app.add_subcommand("connect", "Talk to a TCP or UDP server line by line (like nc)");
  cmd->add_option("host", a.target, "Host, or HOST:PORT, or [IPv6]:PORT, or ws:// or wss://HOST:PORT/PATH")
      ->required();
  cmd->add_option("port", a.port, "Port (when not given with the host)");
  auto* udp = cmd->add_flag("-u,--udp", a.udp, "UDP: one datagram per line, wait for each reply");
  auto* crlf = cmd->add_flag("--crlf", a.crlf, "End lines with \\r\\n (telnet style)");
  auto* raw = cmd->add_flag("--raw", a.raw, "Send lines without any terminator, as the tutorial's client does")->excludes(crlf);
  cmd->add_option("--prompt", a.options.prompt, "Prompt shown on a terminal")->capture_default_str();
  cmd->add_option("--quit-word", a.options.quit_word, "Typing this sends it and leaves")->capture_default_str();
  cmd->add_option("--timeout", a.timeout_s, "UDP: seconds to wait for each reply")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 3600.0));
  cmd->add_flag("-v,--verbose", a.verbose, "Status lines (connected, closed) even when not on a terminal");
  cmd->add_flag("--trace", a.options.trace, "Narrate each socket operation, numbered like the tutorial's steps");
  auto& tls = a.options.tls;
  cmd->add_flag("--tls", tls.enabled, "TCP over TLS 1.2+, the certificate checked against the system's CAs")
      ->excludes(udp);
  auto* ca = cmd->add_option("--ca", tls.ca_file, "TLS: trust the CA certificates in this PEM file instead");
  // same_fingerprint() takes only 64 hex digits: a typo is a usage error
  // now rather than a mismatch later.
  const CLI::Validator sha256(
      [](std::string& typed) {
        return net::tls::same_fingerprint(typed, typed) ? std::string() : "not 64 hex digits (AB:CD:...)";
      },
      "SHA256");
  auto* pin = cmd->add_option("--fingerprint", tls.fingerprint,
                              "TLS: trust only the certificate with this SHA-256 fingerprint, self-signed or not")
                  ->check(sha256)
                  ->excludes(ca);
  cmd->add_flag("--insecure", tls.insecure, "TLS: do not check the certificate at all (a warning says so)")
      ->excludes(ca)
      ->excludes(pin);
  cmd->add_flag("--reconnect", a.options.reconnect,
                "Chat: after a dropped connection, connect again (0.5 s growing to 30 s) and take back the "
                "nickname, the room and the lines missed meanwhile")
      ->excludes(udp)
      ->excludes(raw);
  cmd->add_flag("--no-deflate", [&a](std::int64_t) { a.options.deflate = false; },
                "WebSocket: do not offer permessage-deflate (compression)");
  cmd->footer(
      "Lines typed are sent as you press Enter; whatever the server sends is printed as it\n"
      "arrives. End of input half-closes the connection and waits for the server to finish.\n"
      "Examples:\n"
      "  enchufe connect localhost 5000                 # greeting\n"
      "  enchufe connect localhost:6000                 # echo; type 'salir' to leave\n"
      "  printf 'hola\\nsalir\\n' | enchufe connect localhost 6000\n"
      "  enchufe connect --raw localhost 6000           # exactly like the tutorial's client\n"
      "  enchufe connect --udp [::1]:7000\n"
      "  enchufe connect --tls example.com 443          # checked against the system's CAs\n"
      "  enchufe connect --tls --fingerprint AB:CD:... localhost 6697   # a self-signed server, pinned\n"
      "  enchufe connect --reconnect localhost 8000    # chat; comes back after a drop (room lines get #IDs)\n"
      "  enchufe connect ws://localhost:8081/           # echo over WebSocket: a message per line\n"
      "  enchufe connect wss://example.com/chat         # WebSocket over TLS; --ca, --fingerprint, --insecure apply");
  cmd->callback([&action, args] {
    action = [args] {
      auto& a = *args;
      auto& o = a.options;
      const auto websocket = websocket_target(a.target, o);
      // They choose whom TLS trusts: without TLS they would be silently ignored.
      if (!o.tls.enabled && (!o.tls.ca_file.empty() || !o.tls.fingerprint.empty() || o.tls.insecure)) {
        throw UsageError("connect: --ca, --fingerprint and --insecure go with --tls (or a wss:// URL)");
      }
      if (websocket) {
        if (o.reconnect) {
          throw UsageError("connect: --reconnect is for the chat's TCP door (the web page resumes by itself)");
        }
        if (a.udp || !a.port.empty()) throw UsageError("connect: a ws:// URL takes no --udp and no separate port");
        o.host = websocket->host;
        o.port = websocket->port;
        o.verbose = a.verbose;
        return client::run_websocket_client(o);
      }
      const auto server = net::parse_server_address(a.target, a.port);
      o.host = server.host;
      o.port = server.port;
      o.line_ending = a.raw ? client::LineEnding::none : a.crlf ? client::LineEnding::crlf : client::LineEnding::lf;
      o.udp_timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_s * 1000));
      o.verbose = a.verbose;
      return a.udp ? client::run_udp_client(o) : client::run_tcp_client(o);
    };
  });
}

}  // namespace enchufe::cli
