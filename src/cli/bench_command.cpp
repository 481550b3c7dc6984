// `enchufe bench echo|udp|fanout|idle|bulk|handshake|store`: the load generator. Only
// option parsing lives here; src/bench does the work.

#include "bench/options.hpp"
#include "bench/text.hpp"
#include "cli/commands.hpp"
#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "services/chat/options.hpp"
#include "services/chat/sqlite_history.hpp"

#include <fmt/format.h>

#include <memory>

namespace enchufe::cli {

namespace {

// Options as typed; sizes and durations are parsed by src/bench/text.hpp so
// that "64KiB" and "500ms" work.
struct BenchArgs {
  bench::Options o;
  std::string port;
  std::string duration, size, timeout, drain, request;
  std::string history_sync = "batch", history_window;  // store
  std::vector<std::string> targets;                     // fanout --targets, as typed
  bool no_progress = false;
  bool no_wait = false;  // handshake --no-wait
};

void add_target(CLI::App& cmd, BenchArgs& a, std::string_view default_port, std::string_view what) {
  a.port = std::string(default_port);
  cmd.add_option("--host", a.o.host, "Server address or name (the first address that answers is used)")
      ->capture_default_str();
  cmd.add_option("--port", a.port, fmt::format("Port of the {}", what))->capture_default_str();
  cmd.add_option("--threads", a.o.threads, "Load threads, each with its own event loop (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd.add_flag("--json", a.o.json, "Print one JSON object instead of the table");
  cmd.add_flag("--no-progress", a.no_progress, "No live progress line on stderr (shown only on a terminal)");
}

void add_duration(CLI::App& cmd, BenchArgs& a, std::string_view help) {
  a.duration = "5s";
  cmd.add_option("-d,--duration", a.duration, std::string(help) + " (e.g. 10, 1.5s, 500ms, 2m)")
      ->capture_default_str();
}

void add_count(CLI::App& cmd, BenchArgs& a) {
  cmd.add_option("-n,--count", a.o.count, "Stop after this many requests in all, instead of after --duration")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 62));
}

void add_rate(CLI::App& cmd, BenchArgs& a) {
  cmd.add_option("--rate", a.o.rate,
                 "Paced (open loop): this many requests per second in all, on a fixed schedule, latency "
                 "measured from each request's due time (0: closed loop, each connection waits for its replies)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
}

void add_request(CLI::App& cmd, BenchArgs& a, std::string_view request, std::string_view reply_prefix,
                 bool line) {
  a.request = std::string(request);
  a.o.reply_prefix = std::string(reply_prefix);
  cmd.add_option("--request", a.request,
                 std::string("The request; {c} is the connection's number, {n} the request's sequence number; "
                             "escapes \\r \\n \\t \\\\ \\xHH") +
                     (line ? "; \"\\n\" is added unless it ends in \\n or \\r\\n" : ""))
      ->capture_default_str();
  cmd.add_option("-s,--size", a.size,
                 "Bytes per request, padded with 'x' (before the newline); 0: the request as it is (e.g. 100, 4KiB)");
  cmd.add_flag("--check", a.o.check,
               "Check every reply is exactly --reply-prefix + request; exit 1 on any error or mismatch");
  cmd.add_option("--reply-prefix", a.o.reply_prefix, "What --check expects before the request in a reply")
      ->capture_default_str();
}

// --tls for echo, bulk and fanout: the same clients over TLS.
void add_tls(CLI::App& cmd, BenchArgs& a, std::string_view default_port) {
  cmd.add_flag("--tls", a.o.tls,
               fmt::format("Every connection over TLS (1.2 or newer, SNI localhost), the handshake part of the set-up "
                           "and outside the figures; --port defaults to {}. A bench measures: the server's "
                           "certificate is not verified",
                           default_port));
}

void finish_common(BenchArgs& a) {
  auto& o = a.o;
  o.progress = !a.no_progress;
  o.wait_reply = !a.no_wait;
  // Every mode but store has a target (add_target gives --port a default).
  if (!a.port.empty()) {
    o.host = net::normalize_host(o.host);
    o.port = net::parse_port(a.port);
    if (o.port == 0) throw UsageError("bench: port 0 is not a port a server can listen on");
  }
  for (const std::string& target : a.targets) {
    try {
      o.targets.push_back(net::parse_server_address(target, {}));
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("--targets {}: {}", target, e.what()));
    }
  }
  if (!a.duration.empty()) o.duration = bench::parse_duration(a.duration);
  if (!a.size.empty()) o.size = bench::parse_size(a.size);
  if (!a.timeout.empty()) o.timeout = bench::parse_duration(a.timeout);
  if (!a.drain.empty()) o.drain = bench::parse_duration(a.drain);
  if (!a.request.empty()) o.request = bench::decode_escapes(a.request);
  o.sync_full = a.history_sync == "full";
  if (!a.history_window.empty()) {
    o.history_window = std::chrono::duration_cast<std::chrono::milliseconds>(bench::parse_duration(a.history_window));
  }
}

CLI::App* mode_command(CLI::App& bench, Action& action, std::string_view name, std::string_view help,
                       std::shared_ptr<BenchArgs> args, bench::Mode mode) {
  args->o.mode = mode;
  auto* cmd = bench.add_subcommand(std::string(name), std::string(help));
  cmd->callback([&action, args, cmd] {
    args->o.duration_given = cmd->count("--duration") > 0;
    // Paced echo/bulk: the schedule decides what is in flight; a default
    // --pipeline (bulk's 4) gives way, one typed is an error.
    if (const auto* pipeline = cmd->get_option_no_throw("--pipeline");
        pipeline && pipeline->count() == 0 && args->o.mode != bench::Mode::udp && args->o.rate > 0) {
      args->o.pipeline = 1;
    }
    // --ws: fanout loads the chat's web front door (8080), echo the echo
    // server's WebSocket port (8081), unless --port says.
    if (args->o.ws && cmd->count("--port") == 0) args->port = args->o.mode == bench::Mode::fanout ? "8080" : "8081";
    // --tls: the TLS port of the same server (serve --tls-self-signed).
    if (args->o.tls && cmd->count("--port") == 0) args->port = args->o.mode == bench::Mode::fanout ? "6697" : "6443";
    action = [args] {
      finish_common(*args);
      return bench::run(args->o);
    };
  });
  return cmd;
}

}  // namespace

void add_bench_command(CLI::App& app, Action& action) {
  auto* bench = app.add_subcommand("bench", "Load generator: measure a server's throughput, latency and memory");
  bench->require_subcommand(1);
  bench->footer(
      "Every mode prints a small table (or --json), shows live progress on a terminal, and runs\n"
      "its connections on --threads event loops. Exit codes: 0 ok, 1 errors (with --check) or\n"
      "nothing could run, 2 usage. See docs/bench.md.\n"
      "Examples:\n"
      "  enchufe bench echo --connections 50 --duration 10\n"
      "  enchufe bench udp --pipeline 4\n"
      "  enchufe bench fanout --receivers 200 --senders 4 --rate 2000\n"
      "  enchufe bench fanout --receivers 1000 --ws              # over WebSocket, port 8080\n"
      "  enchufe bench echo --ws                                 # echo over WebSocket, port 8081\n"
      "  enchufe bench idle --connections 15000 --pid $(pgrep -n enchufe)\n"
      "  enchufe bench bulk --size 64KiB\n"
      "  enchufe bench echo --tls -p 16                          # over TLS, port 6443\n"
      "  enchufe bench handshake --pid $(pgrep -n enchufe)       # full TLS handshakes/s, port 5443\n"
      "  enchufe bench store --rooms 100                         # the chat's SQLite history: lines/s, size");

  // ---- echo ----
  {
    auto a = std::make_shared<BenchArgs>();
    auto* cmd = mode_command(*bench, action, "echo",
                             "Request/reply over TCP lines or WebSocket messages: requests per second and latency", a,
                             bench::Mode::echo);
    add_target(*cmd, *a, "6000",
               "echo server (or any server answering each line with a line; --ws: its WebSocket port, default 8081)");
    cmd->add_option("-c,--connections", a->o.connections, "Connections")->capture_default_str()->check(
        CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cmd->add_option("-p,--pipeline", a->o.pipeline, "Requests written at once per connection (1: wait for each reply)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    add_duration(*cmd, *a, "How long to run");
    add_count(*cmd, *a);
    add_rate(*cmd, *a);
    add_request(*cmd, *a, "hola {c}.{n}", "Eco: ", true);
    cmd->add_flag("--ws", a->o.ws,
                  "Each request one WebSocket text message, each reply the next message (ws://HOST:PORT/; "
                  "--port defaults to 8081); no newline is added. Closed loop only (no --rate)");
    a->o.ws_path = "/";
    cmd->add_option("--ws-path", a->o.ws_path, "With --ws: the WebSocket's path")->capture_default_str();
    cmd->add_flag("--deflate", a->o.deflate,
                  "With --ws: offer permessage-deflate (the report says how many connections the server accepted it on)");
    add_tls(*cmd, *a, "6443");
    cmd->add_option("--pid", a->o.pid, "The server's process id: its CPU time over the load, and per reply");
    cmd->footer(
        "The reply to a request is the next line received (--ws: the next message), so any line-based\n"
        "(or message-based) echo server works.\n"
        "Examples:\n"
        "  enchufe bench echo                                  # 50 connections, 5 s, localhost:6000\n"
        "  enchufe bench echo -c 200 -p 16 -d 10 --threads 2\n"
        "  enchufe bench echo --check --count 10000            # every reply compared\n"
        "  enchufe bench echo --rate 50000                     # paced: latency at a given load\n"
        "  enchufe bench echo --pid $(pgrep -n enchufe)        # also the server's CPU time per reply\n"
        "  enchufe bench echo --size 1KiB --request 'x{n}'\n"
        "  enchufe bench echo --port 6379 --request 'PING\\r\\n' -p 32   # Redis answers +PONG\n"
        "  enchufe bench echo --ws -p 16 --check                # WebSocket, port 8081\n"
        "  enchufe bench echo --ws --deflate --size 200         # the cost of permessage-deflate\n"
        "  enchufe bench echo --tls -p 16                      # over TLS: serve echo --tls-self-signed, port 6443");
  }
  // ---- bulk ----
  {
    auto a = std::make_shared<BenchArgs>();
    a->o.connections = 4;
    a->o.pipeline = 4;
    auto* cmd = mode_command(*bench, action, "bulk", "TCP request/reply with large messages: MB/s", a,
                             bench::Mode::bulk);
    add_target(*cmd, *a, "6000", "echo server");
    cmd->add_option("-c,--connections", a->o.connections, "Connections")->capture_default_str()->check(
        CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cmd->add_option("-p,--pipeline", a->o.pipeline, "Messages written at once per connection")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    add_duration(*cmd, *a, "How long to run");
    add_count(*cmd, *a);
    add_rate(*cmd, *a);
    add_request(*cmd, *a, "bulk {c}.{n}", "Eco: ", true);
    a->size = "64KiB";
    cmd->get_option("--size")->default_str("64KiB");
    add_tls(*cmd, *a, "6443");
    cmd->footer(
        "A message is one line padded to --size; the echo server's --max-line (64 KiB) bounds it.\n"
        "Examples:\n"
        "  enchufe bench bulk                        # 4 connections x 4 messages of 64 KiB\n"
        "  enchufe bench bulk --size 16KiB -c 1 -p 1\n"
        "  enchufe bench bulk --check -d 2\n"
        "  enchufe bench bulk --tls                  # over TLS, port 6443");
  }
  // ---- udp ----
  {
    auto a = std::make_shared<BenchArgs>();
    a->o.connections = 8;
    auto* cmd = mode_command(*bench, action, "udp", "UDP request/reply: datagrams per second, latency and loss", a,
                             bench::Mode::udp);
    add_target(*cmd, *a, "7000", "UDP echo server");
    cmd->add_option("-c,--connections", a->o.connections, "Sockets")->capture_default_str()->check(
        CLI::Range(std::size_t{1}, std::size_t{100'000}));
    cmd->add_option("-p,--pipeline", a->o.pipeline, "Datagrams in flight per socket (more than 1 needs {n})")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
    add_duration(*cmd, *a, "How long to run");
    add_count(*cmd, *a);
    add_request(*cmd, *a, "hola {c}.{n}", "Eco UDP: ", false);
    a->timeout = "1s";
    cmd->add_option("--timeout", a->timeout, "A request unanswered this long is lost")->capture_default_str();
    cmd->footer(
        "A reply is matched to its request by the number after the text before {n} (\"hola 3.\" in\n"
        "\"Eco UDP: hola 3.17\"); with --pipeline 1 any reply answers the one request in flight.\n"
        "Examples:\n"
        "  enchufe bench udp\n"
        "  enchufe bench udp -c 32 -p 8 --timeout 200ms -d 10\n"
        "  enchufe bench udp --check --count 5000");
  }
  // ---- fanout ----
  {
    auto a = std::make_shared<BenchArgs>();
    auto* cmd = mode_command(*bench, action, "fanout",
                             "Chat: M receivers and S senders in one room; deliveries per second and latency", a,
                             bench::Mode::fanout);
    add_target(*cmd, *a, "8000", "chat server (--ws: of its web front door, default 8080)");
    cmd->add_option("-r,--receivers", a->o.receivers, "Clients that only listen")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cmd->add_option("-S,--senders", a->o.senders, "Clients that talk")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000}));
    cmd->add_option("--rate", a->o.rate,
                    "Lines per second from all senders together (0: as fast as the receivers take them, "
                    "--window lines in flight per sender)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1e9));
    cmd->add_option("--window", a->o.window, "Closed loop: a sender's lines not yet seen by a receiver")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    cmd->add_option("--room", a->o.room, "Room to talk in (another room: no history, no bystanders)")
        ->capture_default_str();
    cmd->add_flag("--redis", a->o.redis,
                  "Load a Redis server instead: receivers SUBSCRIBE to --room, senders PUBLISH to it");
    cmd->add_flag("--ws", a->o.ws,
                  "Every client over WebSocket to the chat's web front door (ws://HOST:PORT/ws, JSON events; "
                  "--port defaults to 8080), or to another server speaking that protocol");
    cmd->add_option("--ws-path", a->o.ws_path, "With --ws: the WebSocket's path")->capture_default_str();
    add_tls(*cmd, *a, "6697");
    cmd->add_option("--targets", a->targets,
                    "Nodes of one chat cluster (serve chat --cluster), HOST:PORT each, comma-separated or "
                    "repeated, instead of --host and --port: receivers and senders go round-robin over them, so "
                    "lines cross between nodes (with --ws or --tls: each node's port for that)")
        ->delimiter(',')
        ->excludes(cmd->get_option("--host"))
        ->excludes(cmd->get_option("--port"));
    cmd->add_option("--pid", a->o.pid,
                    "A server's process id (a chat node, or the Redis of a cluster): its CPU time over the load, "
                    "and per million deliveries");
    add_duration(*cmd, *a, "How long senders talk");
    a->drain = "5s";
    cmd->add_option("--drain", a->drain, "After that, how long to wait for lines still on their way")
        ->capture_default_str();
    cmd->add_option("-s,--size", a->size, "Bytes per line, padded (the chat server's --max-line is 4 KiB)");
    cmd->add_flag("--check",
                  a->o.check, "Check the sender's nick on every line; exit 1 on any missing, reordered or bad line");
    cmd->footer(
        "The server must allow the load: start it with high flood limits, e.g.\n"
        "  enchufe serve chat --flood-rate 1000000 --flood-burst 1000000 --quiet\n"
        "Lines the flood control dropped show up as missing (dropped by the server).\n"
        "Examples:\n"
        "  enchufe bench fanout                             # 100 receivers, 4 senders, closed loop\n"
        "  enchufe bench fanout -r 1000 -S 10 --rate 1000 -d 10\n"
        "  enchufe bench fanout -r 20 -S 2 --check --room bench\n"
        "  enchufe bench fanout -r 1000 --redis --port 6379  # the same load on Redis pub/sub\n"
        "  enchufe bench fanout -r 1000 --ws --rate 400      # the web front door (port 8080)\n"
        "  enchufe bench fanout -r 1000 --ws --port 9000     # any server of the same WebSocket protocol\n"
        "  enchufe bench fanout -r 1000 --tls                # the chat over TLS (port 6697)\n"
        "  enchufe bench fanout -r 1000 --rate 200 --targets 10.0.0.1:8000,10.0.0.2:8000   # across two nodes");
  }
  // ---- idle ----
  {
    auto a = std::make_shared<BenchArgs>();
    a->o.connections = 1000;
    auto* cmd = mode_command(*bench, action, "idle",
                             "Open and hold many idle connections; with --pid, the server's memory per connection",
                             a, bench::Mode::idle);
    add_target(*cmd, *a, "6000", "server");
    cmd->add_option("-c,--connections", a->o.connections, "Connections to open and hold")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
    add_duration(*cmd, *a, "How long to hold them once all are open");
    cmd->add_option("--pid", a->o.pid, "The server's process id: report its VmRSS before and after");
    cmd->add_option("--connect-concurrency", a->o.connect_concurrency, "Connections being opened at once")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    cmd->footer(
        "Raise the open-files limit first (ulimit -n) for more than ~1000, on both sides; the echo\n"
        "server also refuses clients past --max-connections (10,000).\n"
        "Examples:\n"
        "  enchufe bench idle -c 1000\n"
        "  enchufe bench idle -c 15000 -d 10 --pid $(pgrep -f 'enchufe serve echo')");
  }
  // ---- handshake ----
  {
    auto a = std::make_shared<BenchArgs>();
    a->o.connections = 32;
    a->o.request.clear();
    a->timeout = "5s";
    auto* cmd = mode_command(*bench, action, "handshake",
                             "Full TLS handshakes, a new connection each: handshakes per second, latency and "
                             "(with --pid) the server's CPU per handshake",
                             a, bench::Mode::handshake);
    add_target(*cmd, *a, "5443", "TLS server (default: greet's TLS port, which greets right after the handshake)");
    cmd->add_option("-c,--connections", a->o.connections,
                    "Connections at a time: each connects, handshakes, waits for the server's first bytes and "
                    "closes, then again")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    add_duration(*cmd, *a, "How long to run");
    cmd->add_option("--timeout", a->timeout,
                    "A connection not done this long (connect, handshake, first bytes) is an error")
        ->capture_default_str();
    cmd->add_option("--request", a->request,
                    "Sent as is after each handshake, before waiting for the server's first bytes, for servers "
                    "that speak only when spoken to (escapes \\r \\n \\t \\\\ \\xHH; e.g. 'hola\\n' to an echo "
                    "server)");
    cmd->add_flag("--no-wait", a->no_wait,
                  "Close right after the client's side of the handshake, without waiting for the server's first "
                  "bytes (the server may not have finished its side)");
    cmd->add_option("--pid", a->o.pid, "The server's process id: report its CPU time per handshake");
    cmd->footer(
        "Every handshake is a full one: a fresh TLS session each time, none resumed (the client keeps\n"
        "none). TLS 1.2 or newer, SNI localhost. A bench measures: the server's certificate is not\n"
        "verified. When the report says the bench's CPU is near 100%, the bench set the rate: give it\n"
        "--threads, or compare the server CPU per handshake instead.\n"
        "Examples:\n"
        "  enchufe bench handshake                       # serve greet --tls-self-signed: port 5443\n"
        "  enchufe bench handshake -c 64 -d 10 --pid $(pgrep -n enchufe)\n"
        "  enchufe bench handshake --port 6443 --request 'hola\\n'   # the echo server's TLS port\n"
        "  enchufe bench handshake --no-wait --threads 2");
  }
  // ---- store ----
  {
    auto a = std::make_shared<BenchArgs>();
    auto* cmd = mode_command(*bench, action, "store",
                             "The chat's history store (SQLite) flooded in this process, no server: stored lines "
                             "per second and file size per line",
                             a, bench::Mode::store);
    auto* db = cmd->add_option("--db", a->o.db,
                               "History file to add the lines to (created if missing, never removed; rooms bench-1, "
                               "bench-2, ...); default: a fresh file under $TMPDIR, removed at the end");
    cmd->add_flag("--keep", a->o.keep, "Keep the fresh file (the report names it)")->excludes(db);
    cmd->add_option("--rooms", a->o.rooms, "Rooms the lines go to, round-robin")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cmd->add_option("-n,--lines", a->o.count,
                    fmt::format("Lines to offer in all (default {} unless --duration is given; both: whichever "
                                "ends first)",
                                bench::kStoreLines))
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 62));
    // No default: without --duration, --lines decides.
    cmd->add_option("-d,--duration", a->duration,
                    "How long to offer lines, instead of --lines (e.g. 10, 1.5s, 500ms, 2m)");
    a->size = std::to_string(bench::kStoreTextSize);
    cmd->add_option("-s,--size", a->size,
                    fmt::format("Bytes of text per line, in words (at most {}, a chat line's most)",
                                services::chat::kChatMaxLine))
        ->capture_default_str();
    cmd->add_option("--history-sync", a->history_sync,
                    "As serve chat's: batch commits within --history-window; full syncs every commit to the disk")
        ->check(CLI::IsMember({"batch", "full"}))
        ->capture_default_str();
    cmd->add_option("--history-window", a->history_window,
                    "batch: how long the writer lets lines gather after a commit (as serve chat's)")
        ->default_str(fmt::format("{}ms", services::chat::kHistoryWindow.count()));
    cmd->add_flag("--json", a->o.json, "Print one JSON object instead of the table");
    cmd->add_flag("--no-progress", a->no_progress, "No live progress line on stderr (shown only on a terminal)");
    cmd->footer(
        "Lines are made as the chat's rooms make them and offered to the store as fast as it takes\n"
        "them; one its queue refuses (full) is counted, not kept, as in the chat, and the bench backs\n"
        "off briefly. \"stored\" counts the lines in the file once everything accepted is committed.\n"
        "Examples:\n"
        "  enchufe bench store                              # 1,000,000 lines over 100 rooms\n"
        "  enchufe bench store --rooms 10000 --size 200\n"
        "  enchufe bench store --history-sync full -d 10\n"
        "  enchufe bench store --db /tmp/h.db -n 20000      # adds to (or makes) that file");
  }
}

}  // namespace enchufe::cli
