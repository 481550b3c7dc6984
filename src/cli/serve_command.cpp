// `enchufe serve greet|echo|udp-echo|chat|all`: wires services to servers;
// all behaviour lives in src/net and src/services.

#include "bench/text.hpp"
#include "cli/commands.hpp"
#include "cli/state_paths.hpp"
#include "net/address_gate.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "net/http_server.hpp"
#include "net/log.hpp"
#include "net/tcp_server.hpp"
#include "net/tls_certificate.hpp"
#include "net/tls_sessions.hpp"
#include "net/trace.hpp"
#include "net/udp_server.hpp"
#include "net/websocket_session.hpp"
#include "services/chat/chat.hpp"
#include "services/chat/commands.hpp"
#include "services/chat/cluster/redis_moderation.hpp"
#include "services/chat/moderation/sqlite_moderation.hpp"
#include "services/chat/names.hpp"
#include "services/chat/sqlite_history.hpp"
#include "services/chat/web.hpp"
#include "services/echo.hpp"
#include "services/metrics_endpoint.hpp"
#include "services/greet.hpp"
#include "services/udp_echo.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

namespace enchufe::cli {

namespace {

// The per-connection settings a user can change, per service: chat's
// defaults differ from echo's.
struct LineSettings {
  std::size_t max_line;
  unsigned idle_timeout_s;
  std::size_t max_output;
};

constexpr std::string_view kDefaultWebPort = "8080";
// Each TCP service's TLS port, when there is a certificate: the plaintext
// port's neighbour in spirit (443 for greet and echo; IRC's 6697 for chat).
constexpr std::string_view kDefaultGreetTlsPort = "5443";
constexpr std::string_view kDefaultEchoTlsPort = "6443";
constexpr std::string_view kDefaultChatTlsPort = "6697";
// The web doors' TLS twins (https:// and wss://): the chat's page beside
// 8080 as 8443; the echo's and the greeting's WebSocket ports after it.
constexpr std::string_view kDefaultWebTlsPort = "8443";
constexpr std::string_view kDefaultEchoWebTlsPort = "8444";
constexpr std::string_view kDefaultGreetWebTlsPort = "8445";
// --tls-self-signed: how long the certificate made at start is valid.
constexpr int kSelfSignedDays = 30;

struct TlsSettings {
  std::string certificate_file, key_file;
  bool self_signed = false;
  unsigned handshake_timeout_s =
      static_cast<unsigned>(std::chrono::seconds(net::limits::kTlsHandshakeTimeout).count());
  bool enabled() const { return self_signed || !certificate_file.empty(); }
};
// serve all's echo over WebSocket; serve echo has none unless --web-port.
constexpr std::string_view kDefaultEchoWebPort = "8081";

struct ServeOptions {
  std::string host = "localhost";
  std::size_t threads = 0;
  bool quiet = false;
  bool verbose = false;
  std::string log_format = "text";
  bool trace = false;
  std::string metrics;  // HOST:PORT of the /metrics endpoint, if any
  std::size_t max_connections = net::limits::kMaxConnections;
  unsigned partial_delay_ms = net::limits::kPartialMessageDelay.count();

  // Ports as typed (checked by net::parse_port for a clear message).
  std::string port, greet_port = "5000", echo_port = "6000", udp_port = "7000", chat_port = "8000";
  // The chat's web front door as typed; empty: 8080, or 0 when the chat's
  // own port is 0 (see run_servers).
  std::string web_port;
  bool no_web = false;
  // The echo's and the greeting's WebSocket ports as typed; empty: none
  // (serve all: the echo on kDefaultEchoWebPort).
  std::string echo_web_port, greet_web_port;
  net::WebSocketOptions websocket;  // --max-message
  bool no_deflate = false;
  TlsSettings tls;
  // TLS ports as typed, used only with a certificate; empty: the default,
  // or 0 when the service's own port is 0 (see run_servers).
  std::string greet_tls_port, echo_tls_port, chat_tls_port;
  // The same for the web doors: the chat's page (https://) and the echo's
  // and the greeting's WebSocket ports (wss://).
  std::string web_tls_port, echo_web_tls_port, greet_web_tls_port;

  services::GreetOptions greet;
  bool once = false;
  services::EchoOptions echo;
  LineSettings echo_lines{net::limits::kMaxLineBytes, 0, 0};
  services::UdpEchoOptions udp;
  services::chat::ChatOptions chat;
  // --history-db: the chat's SQLite file; "none": history in memory only.
  std::string history_db = default_history_db();
  // The store's other settings, as typed (durations parsed at start).
  std::string history_sync = "batch";
  std::string history_window = "50ms";
  std::string history_keep = "forever";
  std::size_t history_max_lines = 0;
  bool store_private = false;
  // --cluster: Redis URLs, as typed (parsed at start); --node-name; --cluster-ttl.
  std::vector<std::string> cluster;
  std::string node_name;
  std::string cluster_ttl = "15s";
  // --read-buffers, --read-quiet: net/read_buffer_pool.hpp.
  std::size_t read_buffers = net::kMaxLentBuffers;
  std::string read_quiet = fmt::format("{}ms", net::kReadQuietSpell.count());
  std::size_t cluster_history = services::chat::ClusterOptions{}.history_lines;
  // --admin (as typed, checked at start), --registration.
  std::vector<std::string> admins;
  std::string registration = "open";
  services::chat::WebOptions web;
  // --max-per-address, --connect-rate, --trust-loopback: the chat's doors.
  net::AddressGateSettings chat_addresses;
  LineSettings chat_lines{services::chat::kChatMaxLine,
                          static_cast<unsigned>(std::chrono::seconds(services::chat::kChatIdleTimeout).count()),
                          services::chat::kChatMaxOutput};
};

void add_common_options(CLI::App& cmd, ServeOptions& o) {
  cmd.add_option("--host", o.host,
                 "Address or name to listen on; every address it resolves to is used. "
                 "Serve the LAN with 0.0.0.0 or ::")
      ->capture_default_str();
  cmd.add_option("--threads", o.threads, "Event loops, one per thread (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  auto* quiet = cmd.add_flag("-q,--quiet", o.quiet, "Log only warnings and errors");
  cmd.add_flag("-v,--verbose", o.verbose, "Also log every message received")->excludes(quiet);
  cmd.add_flag("--trace", o.trace, "Narrate each socket operation (socket, bind, listen, accept, recv, send, close)");
  cmd.add_option("--log-format", o.log_format, "text (for people) or json (one object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  cmd.add_option("--metrics", o.metrics,
                 "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. localhost:9100)");
}

void add_tcp_options(CLI::App& cmd, ServeOptions& o) {
  cmd.add_option("--max-connections", o.max_connections,
                 "Clients served at once per server; one more gets a one-line refusal")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  cmd.add_option("--read-buffers", o.read_buffers,
                 fmt::format("Read buffers ({} KiB each) each thread lends to connections with input lately, which "
                             "then read without a readiness wait (one system call less a request); 0: none",
                             net::kLentBufferBytes / 1024))
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}));
  cmd.add_option("--read-quiet", o.read_quiet,
                 "A connection with no input for this long (up to twice it) gives its read buffer back, so idle "
                 "connections hold none")
      ->capture_default_str();
}

// The chat's limits per address (net::AddressGate); the tutorial's services
// keep the tutorial's behaviour.
void add_address_options(CLI::App& cmd, ServeOptions& o) {
  cmd.add_option("--max-per-address", o.chat_addresses.max_per_address,
                 "Chat clients one address (an IPv6 /64) may have open at once, whichever of the chat's doors "
                 "they use; one more gets a one-line refusal (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}));
  cmd.add_option("--connect-rate", o.chat_addresses.connect_rate,
                 "New chat connections a second one address may open on average, and --max-per-address at once; "
                 "past it they get a one-line refusal (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd.add_flag("--trust-loopback", o.chat_addresses.trust_loopback,
               "Neither count nor limit chat clients from loopback (127.0.0.0/8, ::1): for a proxy on this "
               "machine, or benches");
}

void add_web_options(CLI::App& cmd, ServeOptions& o) {
  auto* no_web = cmd.add_flag("--no-web", o.no_web, "No web doors (the chat page and every WebSocket port)");
  cmd.add_option("--web-port", o.web_port,
                 fmt::format("HTTP port of the chat's page and WebSocket (default {}; 0: any free port, as with "
                             "--port 0)",
                             kDefaultWebPort))
      ->excludes(no_web);
  cmd.add_option("--web-origin", o.web.allowed_origins,
                 "Also let pages of this origin use the chat's WebSocket (e.g. https://chat.example.org; * for "
                 "any); repeatable")
      ->excludes(no_web);
}

// A door's TLS port option, used only with a certificate.
void add_tls_port(CLI::App& cmd, std::string name, std::string& port, std::string_view what,
                  std::string_view default_port) {
  cmd.add_option(std::move(name), port,
                 fmt::format("{}, with a certificate (default {}; 0: any free port, as with --port 0)", what,
                             default_port));
}

// --tls-cert/--tls-key or --tls-self-signed; `port`: the service's --tls-port
// and `web_port` its web door's --web-tls-port (serve all names each
// service's instead).
void add_tls_options(CLI::App& cmd, ServeOptions& o, std::string* port, std::string_view default_port,
                     std::string* web_port, std::string_view default_web_port) {
  auto* cert = cmd.add_option(
      "--tls-cert", o.tls.certificate_file,
      "PEM certificate (then its chain): each TCP service and web door also serves TLS on a port of its own");
  auto* key = cmd.add_option("--tls-key", o.tls.key_file, "PEM private key of --tls-cert (keep it mode 600)");
  cert->needs(key);
  key->needs(cert);
  cmd.add_flag("--tls-self-signed", o.tls.self_signed,
               "TLS with a certificate made at start, in memory, for this host's names; prints its fingerprint "
               "for `connect --tls --fingerprint`")
      ->excludes(cert)
      ->excludes(key);
  cmd.add_option("--tls-handshake-timeout", o.tls.handshake_timeout_s,
                 "Seconds a TLS client has to finish its handshake")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3600u));
  if (port) add_tls_port(cmd, "--tls-port", *port, "TLS port", default_port);
  if (web_port) {
    add_tls_port(cmd, "--web-tls-port", *web_port, "Web door's TLS port (https://, wss://)", default_web_port);
  }
}

void add_websocket_options(CLI::App& cmd, ServeOptions& o, bool max_message) {
  cmd.add_flag("--no-deflate", o.no_deflate, "Do not offer permessage-deflate (compression) to WebSocket clients");
  if (!max_message) return;
  cmd.add_option("--max-message", o.websocket.max_message,
                 "Largest WebSocket message a client may send, in bytes; a bigger one closes with 1009")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{256} << 20));
}

void add_line_options(CLI::App& cmd, ServeOptions& o, LineSettings& lines, std::string_view too_long,
                      bool partial_messages = true) {
  cmd.add_option("--max-line", lines.max_line, fmt::format("Longest line in bytes; a longer one {}", too_long))
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20));
  cmd.add_option("--idle-timeout", lines.idle_timeout_s, "Close clients silent this many seconds (0: never)")
      ->capture_default_str();
  if (!partial_messages) return;
  cmd.add_option("--partial-delay", o.partial_delay_ms,
                 "Milliseconds of silence after which bytes without a newline count as a message "
                 "(0: answer every read at once, like the tutorial's recv(1024))")
      ->capture_default_str()
      ->check(CLI::Range(0u, 60'000u));
}

net::TcpServerOptions tcp_options(const ServeOptions& o, const std::string& port, const LineSettings& lines,
                                  net::ConnectionOptions base = {}, std::shared_ptr<net::AddressGate> gate = {}) {
  net::TcpServerOptions t;
  t.host = net::normalize_host(o.host);
  t.port = net::parse_port(port);
  t.max_connections = o.max_connections;
  t.gate = std::move(gate);
  t.connection = base;
  t.connection.max_line = lines.max_line;
  t.connection.idle_timeout = std::chrono::seconds(lines.idle_timeout_s);
  t.connection.max_output = lines.max_output;
  t.connection.partial_delay = std::chrono::milliseconds(o.partial_delay_ms);
  return t;
}

net::UdpServerOptions udp_options(const ServeOptions& o, const std::string& port) {
  return {net::normalize_host(o.host), net::parse_port(port)};
}

// The port of a service's other door (web, TLS): as typed; else a free one
// when the service's own port is free (--port 0 asks for free ports
// everywhere); else the door's default.
std::string port_beside(const std::string& typed, const std::string& own_port, std::string_view default_port) {
  if (!typed.empty()) return typed;
  return net::parse_port(own_port) == 0 ? "0" : std::string(default_port);
}

// "listening: echo tcp 127.0.0.1:6000" on stdout, one line per socket, so
// scripts and tests can read the ports really bound (with --port 0).
template <typename Endpoints>
void print_listening(std::string_view service, std::string_view proto, const Endpoints& endpoints) {
  for (const auto& e : endpoints) std::printf("listening: %.*s %.*s %s\n", int(service.size()), service.data(),
                                               int(proto.size()), proto.data(), net::to_string(e).c_str());
  std::fflush(stdout);
}

struct Selection {
  bool greet = false, echo = false, udp = false, chat = false;
};

// The /metrics endpoint's own connections: a few scrapers at most.
net::TcpServerOptions metrics_options(const std::string& where) {
  const auto hp = net::parse_host_port(where);
  net::TcpServerOptions t;
  t.host = hp.host;
  t.port = hp.port;
  t.max_connections = 64;
  return t;
}

// On the way out: what each service did, for the operator's log.
void log_summary(const std::vector<std::shared_ptr<net::ServiceMetrics>>& services,
                 std::chrono::steady_clock::duration uptime) {
  for (const auto& s : services) {
    const auto t = s->totals();
    log::at(log::Level::info, {.service = s->service(), .event = "summary"},
            "served {} connections and {} messages; {} bytes in, {} bytes out", t[net::Counter::accepted],
            t[net::Counter::messages_in], t[net::Counter::bytes_in], t[net::Counter::bytes_out]);
  }
  log::at(log::Level::info, {.event = "stopped"}, "stopped after {:.1f} s",
          std::chrono::duration<double>(uptime).count());
}

// The names a --tls-self-signed certificate is for: the loopback names, the
// machine's name, and --host when it names one host (not 0.0.0.0 or ::).
std::vector<std::string> self_signed_names(const ServeOptions& o) {
  auto names = net::tls::default_certificate_names();
  const auto add = [&](const std::string& name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  char hostname[256] = {};
  if (::gethostname(hostname, sizeof hostname - 1) == 0) add(hostname);
  const std::string host = net::normalize_host(o.host);
  if (host != "0.0.0.0" && host != "::") add(host);
  return names;
}

std::shared_ptr<net::tls::ServerCertificates> server_certificates(const ServeOptions& o) {
  if (!o.tls.self_signed) return net::tls::ServerCertificates::from_files(o.tls.certificate_file, o.tls.key_file);
  const auto names = self_signed_names(o);
  const auto pair = net::tls::make_self_signed(names, kSelfSignedDays);
  log::info("made a self-signed TLS certificate for {}, valid {} days; clients trust it with --fingerprint",
            fmt::join(names, ", "), kSelfSignedDays);
  return net::tls::ServerCertificates::from_identity(
      net::tls::make_server_identity(pair.certificate, pair.private_key, "--tls-self-signed", "--tls-self-signed"));
}

// A duration option, or a usage error that names it.
template <typename Duration>
Duration duration_option(std::string_view flag, const std::string& typed) {
  try {
    return std::chrono::duration_cast<Duration>(bench::parse_duration(typed));
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", flag, e.what()));
  }
}

// The chat's history store: --history-db PATH, or none.
std::shared_ptr<services::chat::HistoryStore> open_history_store(const ServeOptions& o) {
  if (o.history_db == "none") return nullptr;
  if (o.history_db.empty()) {
    throw UsageError("--history-db: no default (neither XDG_STATE_HOME nor HOME is set); give a file, or none");
  }
  services::chat::SqliteHistorySettings settings;
  settings.path = o.history_db;
  settings.sync = o.history_sync == "full" ? services::chat::HistorySync::full : services::chat::HistorySync::batch;
  settings.window = duration_option<std::chrono::milliseconds>("--history-window", o.history_window);
  if (o.history_keep != "forever") settings.keep = duration_option<std::chrono::seconds>("--history-keep", o.history_keep);
  settings.max_lines = o.history_max_lines;
  settings.store_private = o.store_private;
  auto store = std::make_shared<services::chat::SqliteHistory>(std::move(settings));
  return store;
}

void add_history_options(CLI::App& cmd, ServeOptions& o) {
  cmd.add_option("--history-db", o.history_db,
                 "SQLite file where the chat keeps its rooms' lines across restarts (created with its folder; "
                 "one server per file); none: in memory only; the default follows $XDG_STATE_HOME")
      ->capture_default_str();
  cmd.add_option("--history-sync", o.history_sync,
                 "batch: lines go out at once and are written within --history-window; full: a line goes out "
                 "only once it is on disk, so even kill -9 loses no line anyone saw")
      ->check(CLI::IsMember({"batch", "full"}))
      ->capture_default_str();
  cmd.add_option("--history-window", o.history_window,
                 "batch: how long lines gather before they are written together (at most what kill -9 loses)")
      ->capture_default_str();
  cmd.add_option("--history-keep", o.history_keep,
                 "drop stored lines older than this (e.g. 30d, 12h), checked every minute; forever: keep them")
      ->capture_default_str();
  cmd.add_option("--history-max-lines", o.history_max_lines,
                 "keep at most this many stored lines per room (older ones are dropped); 0: no bound")
      ->capture_default_str();
  cmd.add_flag("--store-private", o.store_private,
               "also store private messages (/msg); they are not by default");
}

void add_cluster_options(CLI::App& cmd, ServeOptions& o) {
  cmd.add_option("--cluster", o.cluster,
                 "Share the chat's rooms with other nodes through Redis: redis://HOST:PORT[/DB]; repeat it "
                 "(or separate with commas) to spread rooms over several Redis servers (docs/cluster.md)");
  cmd.add_option("--node-name", o.node_name,
                 "This node's name in the cluster, unique among the nodes (default: host name and chat port)");
  cmd.add_option("--cluster-history", o.cluster_history,
                 "Messages each room keeps in Redis (a stream, trimmed to about this many); with --cluster the "
                 "history is there, shared by the nodes, and --history-db is not used")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  cmd.add_option("--cluster-ttl", o.cluster_ttl,
                 "A node's nicknames and room presence expire this long after its last heartbeat (sent every "
                 "third of it): how soon the members of a node that died leave /who and free their names")
      ->capture_default_str();
}

void add_moderation_options(CLI::App& cmd, ServeOptions& o) {
  cmd.add_option("--admin", o.admins,
                 "A registered nickname with the server's powers (server-wide bans, /wall) once logged in; "
                 "repeat it for more. Its account is made with enchufe chat-admin add-account, never /register")
      ->type_name("NICK");
  cmd.add_option("--registration", o.registration,
                 "open: anyone may /register their nickname; closed: only enchufe chat-admin add-account makes "
                 "accounts")
      ->check(CLI::IsMember({"open", "closed"}))
      ->capture_default_str();
  cmd.add_flag("--require-tls-for-login", o.chat.moderation.require_tls_for_login,
               "Refuse /register and /login over connections in clear (plain TCP, http://): passwords only over "
               "TLS and https://");
}

// --admin and --registration, checked before anything binds.
services::chat::moderation::Settings moderation_settings(const ServeOptions& o) {
  auto settings = o.chat.moderation;
  for (const auto& nick : o.admins) {
    if (!services::chat::valid_nickname(nick)) {
      throw UsageError(fmt::format("--admin {}: not a nickname (1-{} letters, digits, '_', '-' or '.')", nick,
                                   services::chat::kMaxNicknameLength));
    }
    settings.admins.insert(services::chat::fold(nick));
  }
  settings.registration = o.registration == "closed" ? services::chat::moderation::Registration::closed
                                                     : services::chat::moderation::Registration::open;
  return settings;
}

// --cluster and --node-name, checked before anything binds.
services::chat::ClusterOptions cluster_options(const ServeOptions& o) {
  services::chat::ClusterOptions c;
  try {
    c.shards = net::redis::parse_urls(o.cluster);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("--cluster: {}", e.what()));
  }
  if (c.shards.empty()) {
    if (!o.node_name.empty()) throw UsageError("--node-name: only with --cluster");
    return c;
  }
  c.ttl = duration_option<std::chrono::milliseconds>("--cluster-ttl", o.cluster_ttl);
  c.history_lines = o.cluster_history;
  // Heartbeats every third of it: shorter would be a busy Redis for nothing.
  if (c.ttl < std::chrono::seconds(1)) throw UsageError("--cluster-ttl: at least 1s");
  c.node_name = o.node_name;
  if (c.node_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    // A free port (0) is known only once bound: the process id tells two
    // such nodes on one machine apart instead.
    c.node_name = fmt::format("{}:{}", host, o.chat_port == "0" ? fmt::format("pid{}", getpid()) : o.chat_port);
  }
  const bool printable = std::all_of(c.node_name.begin(), c.node_name.end(),
                                     [](unsigned char ch) { return ch > ' ' && ch < 0x7f; });
  if (!printable || c.node_name.size() > 100) {
    throw UsageError(fmt::format("--node-name: '{}': 1-100 printable characters, no spaces", c.node_name));
  }
  return c;
}

int run_servers(const ServeOptions& o, Selection which) {
  log::set_level(o.quiet ? log::Level::warn : o.verbose ? log::Level::debug : log::Level::info);
  log::set_format(o.log_format == "json" ? log::Format::json : log::Format::text);
  trace::g_enabled = o.trace;  // before any thread starts
  const auto started = std::chrono::steady_clock::now();
  // Every option is checked before anything binds: a bad --udp-port must not
  // leave listening lines behind for servers that never run.
  const auto greet_options = tcp_options(o, o.greet_port, o.echo_lines);
  const auto echo_options = tcp_options(o, o.echo_port, o.echo_lines);
  // The chat's limits per address: one gate for all its doors (TCP, TLS and
  // web, through the options they copy), so an address's clients count
  // together whichever door they use. The chat's server-wide bans are asked
  // first (set below, once the chat is made).
  const auto chat_gate = which.chat ? std::make_shared<net::AddressGate>(o.chat_addresses) : nullptr;
  const auto chat_options =
      tcp_options(o, o.chat_port, o.chat_lines, services::chat::chat_connection_defaults(), chat_gate);
  const bool serve_web = which.chat && !o.no_web;
  const std::string web_port = port_beside(o.web_port, o.chat_port, kDefaultWebPort);
  // The page's frames may carry a password (its login event): never logged.
  const auto web_options = serve_web ? tcp_options(o, web_port, o.chat_lines,
                                                   {.secret = services::chat::carries_password}, chat_gate)
                                     : net::TcpServerOptions{};
  // A service's WebSocket port, when the service runs and one was asked for.
  const auto websocket_port = [&](bool serves, const std::string& port) -> std::optional<net::TcpServerOptions> {
    if (!serves || port.empty() || o.no_web) return std::nullopt;
    return tcp_options(o, port, o.echo_lines);
  };
  const auto echo_web_options = websocket_port(which.echo, o.echo_web_port);
  const auto greet_web_options = websocket_port(which.greet, o.greet_web_port);
  const auto udp_echo_options = udp_options(o, o.udp_port);
  const std::optional<net::TcpServerOptions> metrics_at =
      o.metrics.empty() ? std::nullopt : std::optional(metrics_options(o.metrics));
  // A service's TLS port, when it runs and there is a certificate: its
  // plaintext port's settings on another port.
  const auto tls_port = [&](bool serves, const std::string& typed, const std::string& own_port,
                            std::string_view default_port,
                            const net::TcpServerOptions& own) -> std::optional<net::TcpServerOptions> {
    if (!serves || !o.tls.enabled()) return std::nullopt;
    auto t = own;
    t.port = net::parse_port(port_beside(typed, own_port, default_port));
    return t;
  };
  const auto greet_tls_options =
      tls_port(which.greet, o.greet_tls_port, o.greet_port, kDefaultGreetTlsPort, greet_options);
  const auto echo_tls_options = tls_port(which.echo, o.echo_tls_port, o.echo_port, kDefaultEchoTlsPort, echo_options);
  const auto chat_tls_options = tls_port(which.chat, o.chat_tls_port, o.chat_port, kDefaultChatTlsPort, chat_options);
  const auto web_tls_options = tls_port(serve_web, o.web_tls_port, web_port, kDefaultWebTlsPort, web_options);
  const auto echo_web_tls_options =
      tls_port(echo_web_options.has_value(), o.echo_web_tls_port, o.echo_web_port, kDefaultEchoWebTlsPort,
               echo_web_options.value_or(net::TcpServerOptions{}));
  const auto greet_web_tls_options =
      tls_port(greet_web_options.has_value(), o.greet_web_tls_port, o.greet_web_port, kDefaultGreetWebTlsPort,
               greet_web_options.value_or(net::TcpServerOptions{}));
  const auto certificates = o.tls.enabled() ? server_certificates(o) : nullptr;
  auto chat_settings = o.chat;
  chat_settings.cluster = cluster_options(o);
  chat_settings.moderation = moderation_settings(o);
  // Clustered, the history is in Redis, shared by the nodes: no file.
  const auto history_store =
      which.chat && chat_settings.cluster.shards.empty() ? open_history_store(o) : nullptr;
  const net::TlsSessionOptions tls_settings{std::chrono::seconds(o.tls.handshake_timeout_s)};
  auto registry = std::make_shared<net::MetricsRegistry>();

  const auto read_quiet = duration_option<std::chrono::milliseconds>("--read-quiet", o.read_quiet);
  if (read_quiet < std::chrono::milliseconds(10)) throw UsageError("--read-quiet: at least 10ms");
  net::Runtime runtime(o.threads);
  for (std::size_t i = 0; i < runtime.size(); ++i) runtime.loop(i).read_pool().set_limits(o.read_buffers, read_quiet);
  struct Named {
    std::string_view service;
    std::unique_ptr<net::TcpServer> server;
    std::string_view proto = "tcp";  // for the listening line
  };
  std::vector<Named> tcp;
  std::vector<Named> websocket;  // the echo's and the greeting's WebSocket ports, and their wss:// twins
  std::vector<Named> tls;        // each TCP service's TLS port
  std::vector<Named> web;        // the chat's page, and its https:// twin
  std::unique_ptr<net::UdpServer> udp;
  // A service's door beside its TCP one, sharing its --max-connections; and
  // the door's TLS twin, when there is one.
  const auto add_door = [&](std::vector<Named>& doors, std::string_view service, std::string_view kind,
                            std::string_view proto, net::TcpServerOptions options, const net::Sessions& sessions,
                            std::string_view tls_proto, const std::optional<net::TcpServerOptions>& tls_options) {
    options.shared_count = tcp.back().server->shared_count();
    doors.push_back({service,
                     std::make_unique<net::TcpServer>(runtime, fmt::format("{}-{}", service, kind), options, sessions),
                     proto});
    if (!tls_options) return;
    auto shared = *tls_options;
    shared.shared_count = options.shared_count;
    doors.push_back({service,
                     std::make_unique<net::TcpServer>(runtime, fmt::format("{}-{}", service, tls_proto), shared,
                                                      net::tls_sessions(certificates, tls_settings, sessions)),
                     tls_proto});
  };
  // A service's WebSocket port (and wss:// twin).
  const auto add_websocket = [&](std::string_view service, net::TcpServerOptions options,
                                 const std::optional<net::TcpServerOptions>& tls_options,
                                 std::function<std::unique_ptr<net::MessageProtocol>()> make_protocol,
                                 std::chrono::seconds idle_timeout) {
    auto settings = o.websocket;
    settings.deflate = !o.no_deflate;
    settings.silence_timeout = idle_timeout;
    add_door(websocket, service, "ws", "ws", options, net::websocket_sessions(std::move(make_protocol), settings),
             "wss", tls_options);
  };
  // A service's TLS port beside its TCP one: the same Protocol, the same
  // --max-connections; the chat's TLS members share its rooms.
  const auto add_tls = [&](std::string_view service, const std::optional<net::TcpServerOptions>& options,
                           std::function<std::unique_ptr<net::Protocol>()> make_protocol) {
    if (!options) return;
    auto shared = *options;
    shared.shared_count = tcp.back().server->shared_count();
    tls.push_back({service,
                   std::make_unique<net::TcpServer>(
                       runtime, fmt::format("{}-tls", service), shared, std::move(make_protocol),
                       net::tls_sessions(certificates, tls_settings, net::line_sessions())),
                   "tls"});
  };
  if (which.greet) {
    std::function<void()> on_served;
    if (o.once) on_served = [&runtime] { runtime.request_stop(); };
    auto greet = services::greet_protocols(o.greet, std::move(on_served));
    tcp.push_back({"greet", std::make_unique<net::TcpServer>(runtime, "greet", greet_options, greet.line)});
    add_tls("greet", greet_tls_options, greet.line);
    if (greet_web_options) {
      add_websocket("greet", *greet_web_options, greet_web_tls_options, greet.message, std::chrono::seconds(0));
    }
  }
  if (which.echo) {
    tcp.push_back({"echo", std::make_unique<net::TcpServer>(runtime, "echo", echo_options,
                                                            services::echo_protocol(o.echo))});
    add_tls("echo", echo_tls_options, services::echo_protocol(o.echo));
    if (echo_web_options) {
      add_websocket("echo", *echo_web_options, echo_web_tls_options, services::echo_message_protocol(o.echo),
                    std::chrono::seconds(o.echo_lines.idle_timeout_s));
    }
  }
  if (which.chat) {
    // Accounts and bans beside the history: in its file, or with the
    // nodes' names in Redis (the first --cluster server) when clustered.
    std::unique_ptr<services::chat::moderation::Store> moderation_store;
    if (history_store) moderation_store = std::make_unique<services::chat::moderation::SqliteModeration>(o.history_db);
    if (!chat_settings.cluster.shards.empty()) {
      moderation_store = std::make_unique<services::chat::cluster::RedisModeration>(chat_settings.cluster.shards.front(),
                                                                                     chat_settings.cluster.node_name);
    }
    const services::chat::ChatService chat(runtime, chat_settings, registry.get(), history_store,
                                           std::move(moderation_store));
    chat_gate->set_refusal_check(chat.address_check());
    tcp.push_back({"chat", std::make_unique<net::TcpServer>(runtime, "chat", chat_options, chat.line_protocol())});
    add_tls("chat", chat_tls_options, chat.line_protocol());
    if (serve_web) {
      // One --max-connections for the chat, whichever door people use.
      auto web_settings = o.web;
      web_settings.websocket.deflate = !o.no_deflate;
      web_settings.websocket.max_message = o.chat_lines.max_line;
      web_settings.websocket.max_output = o.chat_lines.max_output;
      if (o.chat_lines.idle_timeout_s > 0) {
        web_settings.websocket.idle_timeout =
            std::min<std::chrono::milliseconds>(std::chrono::seconds(o.chat_lines.idle_timeout_s),
                                                net::limits::kWebSocketIdleTimeout);
      }
      add_door(web, "chat", "web", "http", web_options, services::chat::web_sessions(chat, std::move(web_settings)),
               "https", web_tls_options);
    }
  }
  if (which.udp) {
    udp = std::make_unique<net::UdpServer>(runtime, "udp-echo", udp_echo_options, services::udp_echo_handler(o.udp));
  }
  std::vector<std::shared_ptr<net::ServiceMetrics>> services;
  for (const auto& named : tcp) services.push_back(named.server->metrics());
  for (const auto& named : websocket) services.push_back(named.server->metrics());
  for (const auto& named : tls) services.push_back(named.server->metrics());
  for (const auto& named : web) services.push_back(named.server->metrics());
  if (udp) services.push_back(udp->metrics());
  for (const auto& s : services) registry->add(s);
  registry->add_gauge("enchufe_read_buffers_lent", "Read buffers lent to busy connections now (--read-buffers).",
                      [&runtime] {
                        double lent = 0;
                        for (std::size_t i = 0; i < runtime.size(); ++i) lent += runtime.loop(i).read_pool().lent();
                        return net::MetricsRegistry::GaugeValues{{"", lent}};
                      });
  std::unique_ptr<net::TcpServer> metrics;
  if (metrics_at) {
    metrics = std::make_unique<net::TcpServer>(runtime, "metrics", *metrics_at,
                                               net::http_sessions(services::metrics_endpoint(registry)));
  }

  // Everything is bound: say where (and which certificate TLS clients see).
  if (certificates) {
    const auto identity = certificates->identity();
    std::printf("tls: certificate %s, SHA-256 fingerprint %s\n", identity.subject.c_str(),
                identity.fingerprint.c_str());
    runtime.on_reload([certificates] { certificates->reload(); });
  }
  for (const auto* doors : {&tcp, &tls, &websocket, &web}) {
    for (const auto& [service, server, proto] : *doors) print_listening(service, proto, server->local_endpoints());
  }
  if (udp) print_listening("udp-echo", "udp", udp->local_endpoints());
  if (metrics) print_listening("metrics", "tcp", metrics->local_endpoints());
  if (!tcp.empty()) {
    const std::size_t limit = net::raise_open_files_limit();
    if (limit < o.max_connections + 64) {
      log::warn("the open-files limit ({}) is below --max-connections ({}); past it, accepting pauses until "
                "descriptors free up (raise it with ulimit -n)",
                limit, o.max_connections);
    }
  }
  for (auto& named : tcp) named.server->start();
  for (auto& named : websocket) named.server->start();
  for (auto& named : tls) named.server->start();
  for (auto& named : web) named.server->start();
  if (udp) udp->start();
  if (metrics) metrics->start();
  if (history_store) {
    // Said once everything is bound: a server that cannot start says only why.
    log::info("history: kept in {} ({}{})", o.history_db,
              o.history_sync == "full" ? "every line written before it is sent" : "written within " + o.history_window,
              o.store_private ? "; private messages too" : "");
  }
  log::info("serving with {} thread{}; Ctrl-C to stop", runtime.size(), runtime.size() == 1 ? "" : "s");
  runtime.run();
  // The loops have stopped: the store writes what they queued, and its
  // threads end before anything they would post to goes away.
  if (history_store) history_store->close();
  log_summary(services, std::chrono::steady_clock::now() - started);
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, Action& action) {
  auto options = std::make_shared<ServeOptions>();
  auto& o = *options;
  auto* serve = app.add_subcommand("serve", "Run one of the tutorial's servers, or all of them");
  serve->require_subcommand(1);

  auto* greet = serve->add_subcommand("greet", "Greeting server (Example 1): greets each client and closes");
  add_common_options(*greet, o);
  add_tcp_options(*greet, o);
  greet->add_option("--port", o.greet_port, "TCP port (0: any free port)")->capture_default_str();
  greet->add_option("--message", o.greet.message, "The greeting (sent without a newline, as in the tutorial)")
      ->capture_default_str();
  greet->add_flag("--once", o.once, "Serve one client, then exit (the tutorial's behaviour)");
  greet->add_option("--web-port", o.greet_web_port,
                    "Also greet WebSocket clients on this port, any path (0: any free port)");
  add_tls_options(*greet, o, &o.greet_tls_port, kDefaultGreetTlsPort, &o.greet_web_tls_port, kDefaultGreetWebTlsPort);
  greet->footer(
      "Examples:\n"
      "  enchufe serve greet\n"
      "  enchufe serve greet --port 0 --once\n"
      "  enchufe serve greet --web-port 8082       # also ws://localhost:8082/\n"
      "  enchufe serve greet --host 0.0.0.0 --message 'Hello from the LAN'");
  greet->callback([&action, options] {
    action = [options] { return run_servers(*options, {.greet = true}); };
  });

  auto* echo = serve->add_subcommand("echo", "Echo server (Example 3): answers 'Eco: <msg>' until 'salir'");
  add_common_options(*echo, o);
  add_tcp_options(*echo, o);
  add_line_options(*echo, o, o.echo_lines, "gets an error and a close");
  echo->add_option("--port", o.echo_port, "TCP port (0: any free port)")->capture_default_str();
  echo->add_option("--prefix", o.echo.prefix, "Put before every reply")->capture_default_str();
  echo->add_option("--quit-word", o.echo.quit_word, "A client sending this is disconnected")->capture_default_str();
  echo->add_option("--web-port", o.echo_web_port,
                   "Also echo WebSocket messages on this port, any path (0: any free port)");
  add_websocket_options(*echo, o, true);
  add_tls_options(*echo, o, &o.echo_tls_port, kDefaultEchoTlsPort, &o.echo_web_tls_port, kDefaultEchoWebTlsPort);
  echo->footer(
      "A message is a line (the reply keeps its \\n or \\r\\n), or bytes without a newline\n"
      "followed by a pause (--partial-delay), as the tutorial's client sends them.\n"
      "On WebSocket a message is a message: text is answered as text, binary as binary;\n"
      "--prefix '' makes it an exact echo, as conformance suites expect (docs/websocket.md).\n"
      "Examples:\n"
      "  enchufe serve echo\n"
      "  enchufe serve echo --port 0 --threads 2\n"
      "  enchufe serve echo --prefix 'Echo: ' --quit-word quit --idle-timeout 300\n"
      "  enchufe serve echo --web-port 8081 --prefix ''   # then: enchufe connect ws://localhost:8081/");
  echo->callback([&action, options] {
    action = [options] { return run_servers(*options, {.echo = true}); };
  });

  auto* udp = serve->add_subcommand("udp-echo", "UDP echo server (Example 4): answers 'Eco UDP: <datagram>'");
  add_common_options(*udp, o);
  udp->add_option("--port", o.udp_port, "UDP port (0: any free port)")->capture_default_str();
  udp->add_option("--prefix", o.udp.prefix, "Put before every reply")->capture_default_str();
  udp->add_option("--quit-word", o.udp.quit_word, "Gets no reply (and, unlike the tutorial, does not stop us)")
      ->capture_default_str();
  udp->footer(
      "Examples:\n"
      "  enchufe serve udp-echo\n"
      "  enchufe serve udp-echo --port 0 --prefix 'Echo: '");
  udp->callback([&action, options] {
    action = [options] { return run_servers(*options, {.udp = true}); };
  });

  auto* chat = serve->add_subcommand("chat", "Group chat (Challenge 2): rooms, nicknames, history; use nc or connect");
  add_common_options(*chat, o);
  add_tcp_options(*chat, o);
  add_line_options(*chat, o, o.chat_lines, "is refused with an error (the client stays)", false);
  chat->add_option("--port", o.chat_port, "TCP port (0: any free port)")->capture_default_str();
  add_address_options(*chat, o);
  add_web_options(*chat, o);
  add_websocket_options(*chat, o, false);
  add_tls_options(*chat, o, &o.chat_tls_port, kDefaultChatTlsPort, &o.web_tls_port, kDefaultWebTlsPort);
  chat->add_option("--name", o.chat.server_name, "Server name in the welcome line")->capture_default_str();
  add_history_options(*chat, o);
  add_cluster_options(*chat, o);
  add_moderation_options(*chat, o);
  chat->add_option("--history", o.chat.history, "Lines of a room replayed to whoever joins it")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{100'000}));
  chat->add_flag("--local-time", o.chat.local_time, "Timestamps in local time instead of UTC");
  chat->add_option("--max-output", o.chat_lines.max_output,
                   "Bytes a client may owe before it is disconnected as too slow")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 32));
  chat->add_option("--flood-rate", o.chat.flood_rate, "Lines per second a client may send on average")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1e6));
  chat->add_option("--flood-burst", o.chat.flood_burst, "Lines a client may send at once")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e6));
  chat->add_option("--max-rooms", o.chat.max_rooms, "Rooms that may exist at once")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  chat->add_option("--quit-word", o.chat.quit_word, "Typing this leaves, like /quit")->capture_default_str();
  chat->footer(
      "Talk with nc, telnet or enchufe connect: lines are messages, /help lists the commands.\n"
      "Or open the page at http://HOST:8080/ in a browser: the same rooms (docs/web.md).\n"
      "Examples:\n"
      "  enchufe serve chat                # TCP 8000, web 8080\n"
      "  enchufe serve chat --port 0 --history 100 --local-time\n"
      "  enchufe serve chat --host 0.0.0.0 --name aula --flood-rate 5\n"
      "  enchufe serve chat --cluster redis://10.0.0.5:6379   # rooms shared with the other nodes on that Redis\n"
      "  enchufe serve chat --admin root --tls-self-signed --require-tls-for-login   # moderated; passwords over "
      "TLS only\n"
      "Accounts: /register, /login; moderation: /op, /kick, /ban, /mute, /topic (docs/chat.md); admins' accounts\n"
      "are made with enchufe chat-admin add-account.");
  chat->callback([&action, options] {
    action = [options] { return run_servers(*options, {.chat = true}); };
  });

  auto* all = serve->add_subcommand("all", "Every server in one process, each on its own port");
  add_common_options(*all, o);
  add_tcp_options(*all, o);
  add_line_options(*all, o, o.echo_lines, "gets an error and a close (echo; chat keeps its defaults)");
  all->add_option("--port", o.port, "Only 0: every server on a free port of its own");
  all->add_option("--greet-port", o.greet_port, "TCP port of the greeting server")->capture_default_str();
  all->add_option("--echo-port", o.echo_port, "TCP port of the echo server")->capture_default_str();
  all->add_option("--udp-port", o.udp_port, "UDP port of the UDP echo server")->capture_default_str();
  all->add_option("--chat-port", o.chat_port, "TCP port of the chat server")->capture_default_str();
  add_address_options(*all, o);
  add_web_options(*all, o);
  all->add_option("--echo-web-port", o.echo_web_port,
                  fmt::format("WebSocket port of the echo server (default {})", kDefaultEchoWebPort));
  all->add_option("--greet-web-port", o.greet_web_port, "WebSocket port of the greeting server (default: none)");
  add_websocket_options(*all, o, true);
  add_tls_options(*all, o, nullptr, {}, nullptr, {});
  add_tls_port(*all, "--greet-tls-port", o.greet_tls_port, "TLS port of the greeting server", kDefaultGreetTlsPort);
  add_tls_port(*all, "--echo-tls-port", o.echo_tls_port, "TLS port of the echo server", kDefaultEchoTlsPort);
  add_tls_port(*all, "--chat-tls-port", o.chat_tls_port, "TLS port of the chat server", kDefaultChatTlsPort);
  add_tls_port(*all, "--web-tls-port", o.web_tls_port, "HTTPS port of the chat's page", kDefaultWebTlsPort);
  add_tls_port(*all, "--echo-web-tls-port", o.echo_web_tls_port, "wss:// port of the echo server",
               kDefaultEchoWebTlsPort);
  add_tls_port(*all, "--greet-web-tls-port", o.greet_web_tls_port,
               "wss:// port of the greeting server (with --greet-web-port)", kDefaultGreetWebTlsPort);
  add_history_options(*all, o);
  add_cluster_options(*all, o);
  add_moderation_options(*all, o);
  all->add_option("--message", o.greet.message, "The greeting")->capture_default_str();
  all->add_option("--echo-prefix", o.echo.prefix, "Put before every TCP echo reply")->capture_default_str();
  all->add_option("--udp-prefix", o.udp.prefix, "Put before every UDP echo reply")->capture_default_str();
  all->add_option("--quit-word", o.echo.quit_word, "The word that ends a session (echo, UDP echo, chat)")
      ->capture_default_str();
  all->footer(
      "Examples:\n"
      "  enchufe serve all                 # 5000 greet, 6000 echo, 7000 udp-echo, 8000 chat,\n"
      "                                    # 8080 chat web, 8081 echo over WebSocket\n"
      "  enchufe serve all --port 0        # free ports, printed on stdout\n"
      "  enchufe serve all --host 0.0.0.0 --threads 4");
  all->callback([&action, options] {
    action = [options] {
      auto& o = *options;
      if (!o.port.empty()) {
        if (net::parse_port(o.port) != 0) {
          throw UsageError(
              "serve all: --port takes only 0 (free ports); use --greet-port, --echo-port, --udp-port, --chat-port");
        }
        o.greet_port = o.echo_port = o.udp_port = o.chat_port = "0";
        if (o.echo_web_port.empty()) o.echo_web_port = "0";
      }
      if (o.echo_web_port.empty()) o.echo_web_port = std::string(kDefaultEchoWebPort);
      o.udp.quit_word = o.chat.quit_word = o.echo.quit_word;
      return run_servers(o, {.greet = true, .echo = true, .udp = true, .chat = true});
    };
  });
}

}  // namespace enchufe::cli
