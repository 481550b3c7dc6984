// `enchufe chat-export`: the chat's history file (serve chat --history-db)
// on stdout, as JSON lines or text. src/services/chat/history_export does the
// reading; this file reads options, picks the format and writes.

#include "cli/commands.hpp"
#include "cli/state_paths.hpp"
#include "net/errors.hpp"
#include "services/chat/history_export.hpp"
#include "services/chat/since.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace enchufe::cli {

namespace {

struct ExportArgs {
  std::string db = default_history_db();
  services::chat::ExportSelection selection;
  std::string format = "jsonl";
};

int run_export(const ExportArgs& a) {
  if (a.db.empty()) {
    throw UsageError("chat-export: --db: no default (neither XDG_STATE_HOME nor HOME is set); give the file");
  }
  const auto encode = a.format == "txt" ? &services::chat::export_text : &services::chat::export_json;
  std::string out;
  services::chat::export_history(a.db, a.selection, [&](const services::chat::ChatLine& line) {
    out = encode(line);
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  // A full disk or a closed pipe must not pass for a complete export.
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    throw RuntimeError(fmt::format("writing the export failed: {}", std::strerror(errno)));
  }
  return 0;
}

}  // namespace

void add_chat_export_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ExportArgs>();
  auto& a = *args;
  auto* cmd = app.add_subcommand("chat-export",
                                 "Print the chat's history file (serve chat --history-db) as JSON lines or text");
  cmd->add_option("--db", a.db, "The history file the server keeps (its --history-db)")->capture_default_str();
  cmd->add_option("-r,--room", a.selection.room, "Only this room (any case; default: every room, by name)");
  cmd->add_option_function<std::string>(
      "-s,--since",
      [&a](const std::string& typed) {
        a.selection.since = services::chat::parse_since(typed, std::chrono::system_clock::now());
      },
      "Only lines said since TIME: a date (2026-12-01), a UTC time (2026-12-01T12:00:00Z) or a span back from "
      "now (30m, 1h, 7d)");
  cmd->add_option("-f,--format", a.format, "jsonl (the web page's JSON events, one a line) or txt (for people)")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "txt"}));
  cmd->add_flag("-p,--private", a.selection.private_lines,
                "Also the private messages, after the rooms (stored only with serve chat --store-private)");
  cmd->footer(
      "Lines come oldest first, room by room. Safe while the server runs: the file is read, never\n"
      "written nor locked, as one consistent snapshot.\n"
      "Examples:\n"
      "  enchufe chat-export > history.jsonl              # every room, from the default file\n"
      "  enchufe chat-export --room general --since 7d --format txt\n"
      "  enchufe chat-export --db /var/lib/enchufe/chat.db --since 2026-12-01 --private\n"
      "  enchufe chat-export | jq -r 'select(.nick == \"ana\") | .text'");
  cmd->callback([&action, args] {
    action = [args] {
      try {
        return run_export(*args);
      } catch (const RuntimeError& e) {  // a UsageError goes on to main: exit 2
        fmt::print(stderr, "enchufe chat-export: {}\n", e.what());
        return 1;
      }
    };
  });
}

}  // namespace enchufe::cli
