// enchufe: the tutorial's socket programs as one binary.
// Exit codes: 0 ok, 1 runtime failure, 2 usage error.

#include "cli/commands.hpp"
#include "net/errors.hpp"
#include "net/log.hpp"

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"enchufe: a small socket toolkit (greeting, echo and UDP echo servers, and their client)"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  enchufe serve all                      # greet on 5000, echo on 6000, udp-echo on 7000\n"
      "  enchufe connect localhost 6000         # talk to the echo server\n"
      "  enchufe connect --udp localhost:7000   # one datagram per line\n"
      "Run 'enchufe SUBCOMMAND --help' for more.");
  enchufe::cli::Action action;
  enchufe::cli::add_serve_command(app, action);
  enchufe::cli::add_connect_command(app, action);
  enchufe::cli::add_stats_command(app, action);
  enchufe::cli::add_bench_command(app, action);
  enchufe::cli::add_cert_command(app, action);
  enchufe::cli::add_chat_export_command(app, action);
  enchufe::cli::add_chat_admin_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const enchufe::UsageError& e) {
    std::cerr << "enchufe: " << e.what() << "\nRun with --help for more information.\n";
    return 2;
  }

  try {
    return action ? action() : 2;
  } catch (const enchufe::UsageError& e) {
    std::cerr << "enchufe: " << e.what() << "\nRun with --help for more information.\n";
    return 2;
  } catch (const std::exception& e) {
    // Start-up failures (port in use, unresolvable host): one clear line.
    std::cerr << "enchufe: " << e.what() << '\n';
    return 1;
  }
}
