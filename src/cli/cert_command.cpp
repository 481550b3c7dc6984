// `enchufe cert --out DIR`: a self-signed certificate and its key, to try TLS
// without a CA. src/net/tls_certificate does the work; this file only reads
// options, guards existing files and reports.

#include "cli/commands.hpp"
#include "net/errors.hpp"
#include "net/tls_certificate.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace enchufe::cli {

namespace {

struct CertArgs {
  std::string out;
  std::vector<std::string> names;
  int days = 365;
  bool force = false;
};

// The files may be what a server runs with now: replacing them takes --force.
void refuse_to_overwrite(const std::filesystem::path& dir) {
  for (const char* file : {"key.pem", "cert.pem"}) {
    const auto path = dir / file;
    std::error_code ignored;  // unreadable or absent: writing will tell
    if (std::filesystem::exists(path, ignored)) {
      throw RuntimeError(fmt::format("{} already exists; use --force to replace it", path.string()));
    }
  }
}

int run_cert(const CertArgs& a) {
  if (a.out.empty()) throw UsageError("cert: --out needs a directory, e.g. --out ./certs");
  const auto names = a.names.empty() ? net::tls::default_certificate_names() : a.names;
  // Made first: a bad --name is a usage error whatever is on disk.
  const auto pair = net::tls::make_self_signed(names, a.days);
  const std::filesystem::path dir(a.out);
  if (!a.force) refuse_to_overwrite(dir);
  net::tls::write_pem_pair(dir, pair);
  const auto cert = (dir / "cert.pem").string();
  const auto key = (dir / "key.pem").string();
  fmt::print("wrote {} and {} (ECDSA P-256, valid {} day{}) for {}\n", cert, key, a.days, a.days == 1 ? "" : "s",
             fmt::join(names, ", "));
  fmt::print("SHA-256 fingerprint: {}\n", net::tls::pem_fingerprint(pair.certificate));
  fmt::print("use: enchufe serve all --tls-cert {} --tls-key {}\n", cert, key);
  return 0;
}

}  // namespace

void add_cert_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<CertArgs>();
  auto& a = *args;
  auto* cmd = app.add_subcommand("cert", "Make a self-signed TLS certificate and key, to try TLS without a CA");
  cmd->add_option("-o,--out", a.out, "Directory for cert.pem and key.pem (created if missing)")->required();
  cmd->add_option("-n,--name", a.names,
                  "A host name or IP address the certificate is for; repeat for more (default: localhost, "
                  "127.0.0.1, ::1)");
  cmd->add_option("--days", a.days, "Days the certificate stays valid")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  cmd->add_flag("-f,--force", a.force, "Replace an existing cert.pem and key.pem");
  cmd->footer(
      "The key is ECDSA P-256, unencrypted, readable only by you (mode 0600). The certificate\n"
      "is self-signed, so clients must be told to trust it: compare the fingerprint printed\n"
      "with what they show. The first name is also the subject's CN.\n"
      "Examples:\n"
      "  enchufe cert --out ./certs\n"
      "  enchufe cert --out ./certs --name chat.example.org --name 192.0.2.7 --days 90 --force\n"
      "  enchufe serve all --tls-cert ./certs/cert.pem --tls-key ./certs/key.pem");
  cmd->callback([&action, args] {
    action = [args] {
      try {
        return run_cert(*args);
      } catch (const RuntimeError& e) {  // a UsageError goes on to main: exit 2
        fmt::print(stderr, "enchufe cert: {}\n", e.what());
        return 1;
      }
    };
  });
}

}  // namespace enchufe::cli
