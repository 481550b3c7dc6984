#pragma once
// What `enchufe bench` is asked to do: one struct for every mode, filled by
// src/cli/bench_command.cpp. Each field says which modes read it.

#include "net/endpoint.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace enchufe::bench {

enum class Mode { echo, udp, fanout, idle, bulk, handshake, store };
std::string_view mode_name(Mode mode);

struct Options {
  Mode mode = Mode::echo;
  std::string host = "localhost";
  std::uint16_t port = 0;
  std::size_t threads = 0;  // 0: one per core

  // How long to run (echo, udp, bulk, fanout, handshake: the load; idle: the
  // hold).
  std::chrono::nanoseconds duration = std::chrono::seconds(5);
  bool duration_given = false;
  // echo, udp, bulk: stop after this many requests in all (0: use duration).
  // store: lines to offer in all (0: kStoreLines, unless --duration alone
  // was given).
  std::uint64_t count = 0;

  // echo, udp, bulk, idle: connections (UDP: sockets); handshake: workers,
  // each connecting anew as soon as its last connection is done.
  std::size_t connections = 50;
  // echo, bulk: requests written at once per connection; udp: datagrams in
  // flight per socket.
  std::size_t pipeline = 1;
  // echo, udp, bulk, fanout: bytes per request including its terminator
  // (0: just the rendered text). Padding goes before the terminator.
  // store: bytes of text per line.
  std::size_t size = 0;
  // echo, udp, bulk: the request, escapes already decoded; {c} is the
  // connection number, {n} the request's sequence number. handshake: sent
  // as is after the handshake (none when empty).
  std::string request = "hola {c}.{n}";
  // echo, udp, bulk: compare every reply with reply_prefix + request.
  bool check = false;
  std::string reply_prefix = "Eco: ";
  // udp: a request unanswered this long counts as lost; handshake: a
  // connection not done this long (connect, handshake, first bytes) is an
  // error.
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);

  // echo, bulk, fanout: every connection over TLS (handshake in the set-up).
  bool tls = false;
  // handshake: wait for the server's first bytes after the handshake (and
  // `request`), so that the server surely finished it too; false: close at
  // once.
  bool wait_reply = true;

  // fanout
  std::size_t receivers = 100;
  std::size_t senders = 4;
  double rate = 0;           // lines/s from all senders together; 0: closed loop
  std::size_t window = 16;   // closed loop: a sender's lines in flight
  std::string room = "general";
  bool redis = false;        // Redis pub/sub (SUBSCRIBE/PUBLISH) instead of the chat
  // Nodes of one chat cluster, the clients spread over them (instead of
  // host and port); empty: host and port.
  std::vector<net::HostPort> targets;

  // fanout: the chat's web front door (WebSocket, JSON events); echo: one
  // WebSocket message per request and per reply.
  bool ws = false;
  std::string ws_path = "/ws";  // echo's default is "/"
  bool deflate = false;         // echo --ws: offer permessage-deflate
  std::chrono::nanoseconds drain = std::chrono::seconds(5);  // waiting for stragglers

  // store: the chat's history store (SqliteHistory) in this process
  std::string db;            // its file; empty: a fresh one under $TMPDIR
  bool keep = false;         // keep that fresh file (a --db file is never removed)
  std::size_t rooms = 100;   // lines go round-robin over this many rooms
  bool sync_full = false;    // --history-sync full
  std::optional<std::chrono::milliseconds> history_window;  // empty: the store's default

  // idle: the server, for VmRSS; handshake, fanout: for its CPU time
  std::optional<long> pid;

  // Connections being set up at once (connect and handshake), in all.
  std::size_t connect_concurrency = 256;
  // How long connecting (and the chat handshake) may take in all.
  std::chrono::nanoseconds setup_timeout = std::chrono::seconds(30);

  bool json = false;
  // Live progress on stderr: only when stderr is a terminal, unless false.
  bool progress = true;
};

// store: lines offered when neither --lines nor --duration says.
inline constexpr std::uint64_t kStoreLines = 1'000'000;
// store: text bytes per line unless --size says (a short chat message).
inline constexpr std::size_t kStoreTextSize = 40;

// Runs the benchmark; prints the report on stdout. Returns the exit code:
// 0, or 1 when nothing could run (e.g. connection refused) or, with --check,
// when any error, mismatch or loss was seen. Throws UsageError for options
// that do not fit together.
int run(const Options& options);

}  // namespace enchufe::bench
