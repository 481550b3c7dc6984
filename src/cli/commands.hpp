#pragma once
// The subcommands of `enchufe`. Each adds itself to the parser and returns
// the action to run once parsing succeeded; the action returns the exit code.

#include <CLI/CLI.hpp>

#include <functional>

namespace enchufe::cli {

using Action = std::function<int()>;

// Adds `serve greet|echo|udp-echo|all`; sets `action` when one is chosen.
void add_serve_command(CLI::App& app, Action& action);

// Adds `connect [--udp] HOST PORT`.
void add_connect_command(CLI::App& app, Action& action);

// Adds `stats HOST:PORT`, the live view of a --metrics endpoint.
void add_stats_command(CLI::App& app, Action& action);

// Adds `bench echo|udp|fanout|idle|bulk`, the load generator.
void add_bench_command(CLI::App& app, Action& action);

// Adds `cert --out DIR`, a self-signed certificate and key for TLS.
void add_cert_command(CLI::App& app, Action& action);

// Adds `chat-export`, the chat's history file as JSON lines or text.
void add_chat_export_command(CLI::App& app, Action& action);

// Adds `chat-admin`, the chat's accounts, bans and audit from its file.
void add_chat_admin_command(CLI::App& app, Action& action);

}  // namespace enchufe::cli
