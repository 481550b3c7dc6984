// `enchufe cert`: the files it writes, checked with the real openssl(1).

#include "support/enchufe.hpp"
#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace enchufe::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// `openssl ARGS...`, the real one, as a peer nobody here wrote.
RunResult run_openssl(const std::vector<std::string>& args) { return run_program("/usr/bin/openssl", args); }

// The value after "PREFIX" on the line that starts with it; "" if none does.
std::string after(const std::string& text, const std::string& prefix) {
  for (const auto& line : split_lines(text)) {
    if (line.starts_with(prefix)) return line.substr(prefix.size());
  }
  return "";
}

TEST(CertCommand, WritesCertificateAndPrivateKey) {
  const TempDir temp;
  const auto dir = temp.path / "certs";  // created by the command
  const auto r = run_enchufe({"cert", "--out", dir.string()});
  ASSERT_TRUE(r.exited_with(0)) << r;
  const auto cert = (dir / "cert.pem").string();
  const auto key = (dir / "key.pem").string();
  EXPECT_EQ(split_lines(r.out).at(0), "wrote " + cert + " and " + key +
                                          " (ECDSA P-256, valid 365 days) for localhost, 127.0.0.1, ::1")
      << r;
  EXPECT_EQ(after(r.out, "use: "), "enchufe serve all --tls-cert " + cert + " --tls-key " + key) << r;
  EXPECT_EQ(r.err, "") << r;
  EXPECT_EQ(mode_of(key), 0600u);
  EXPECT_EQ(mode_of(cert), 0644u);

  const auto text = run_openssl({"x509", "-in", cert, "-noout", "-text"});
  ASSERT_TRUE(text.exited_with(0)) << text;
  EXPECT_TRUE(contains(text.out, "Version: 3 (0x2)")) << text;
  EXPECT_TRUE(contains(text.out, "Signature Algorithm: ecdsa-with-SHA256")) << text;
  EXPECT_TRUE(contains(text.out, "NIST CURVE: P-256")) << text;
  EXPECT_TRUE(contains(text.out, "CA:FALSE")) << text;
  EXPECT_TRUE(contains(text.out, "TLS Web Server Authentication")) << text;
  // The key is the certificate's: the same public key comes out of both.
  const auto from_key = run_openssl({"pkey", "-in", key, "-pubout"});
  const auto from_cert = run_openssl({"x509", "-in", cert, "-noout", "-pubkey"});
  ASSERT_TRUE(from_key.exited_with(0)) << from_key;
  EXPECT_TRUE(from_key.out.starts_with("-----BEGIN PUBLIC KEY-----")) << from_key;
  EXPECT_EQ(from_key.out, from_cert.out);
}

TEST(CertCommand, PrintsTheFingerprintOpensslPrints) {
  const TempDir temp;
  const auto r = run_enchufe({"cert", "--out", temp.path.string()});
  ASSERT_TRUE(r.exited_with(0)) << r;
  const auto o = run_openssl({"x509", "-in", (temp.path / "cert.pem").string(), "-noout", "-fingerprint", "-sha256"});
  ASSERT_TRUE(o.exited_with(0)) << o;
  const auto printed = after(r.out, "SHA-256 fingerprint: ");
  const auto equals = o.out.find('=');  // "sha256 Fingerprint=AB:CD:..."
  ASSERT_NE(equals, std::string::npos) << o;
  EXPECT_EQ(printed.size(), 95u) << r;
  EXPECT_EQ(printed, split_lines(o.out.substr(equals + 1)).at(0)) << r << o;
}

TEST(CertCommand, NamesBecomeSubjectAltNames) {
  const TempDir temp;
  const auto r = run_enchufe({"cert", "--out", temp.path.string(), "--name", "chat.example.test", "--name",
                              "192.0.2.7", "--name", "::1", "--days", "7"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_TRUE(contains(r.out, "(ECDSA P-256, valid 7 days) for chat.example.test, 192.0.2.7, ::1")) << r;
  const auto cert = (temp.path / "cert.pem").string();
  const auto o = run_openssl({"x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName"});
  ASSERT_TRUE(o.exited_with(0)) << o;
  EXPECT_TRUE(contains(o.out, "subject=CN = chat.example.test")) << o;
  EXPECT_TRUE(contains(o.out, "DNS:chat.example.test, IP Address:192.0.2.7, IP Address:0:0:0:0:0:0:0:1")) << o;
  EXPECT_FALSE(contains(o.out, "localhost")) << "names given replace the defaults\n" << o;
  // Valid for 7 days: still valid in 6, expired in 8 (-checkend exits 1 when it will have expired).
  EXPECT_TRUE(run_openssl({"x509", "-in", cert, "-noout", "-checkend", std::to_string(6 * 86400)}).exited_with(0));
  EXPECT_TRUE(run_openssl({"x509", "-in", cert, "-noout", "-checkend", std::to_string(8 * 86400)}).exited_with(1));
}

TEST(CertCommand, DefaultNamesAreLoopback) {
  const TempDir temp;
  ASSERT_TRUE(run_enchufe({"cert", "--out", temp.path.string()}).exited_with(0));
  const auto o = run_openssl({"x509", "-in", (temp.path / "cert.pem").string(), "-noout", "-ext", "subjectAltName"});
  EXPECT_TRUE(contains(o.out, "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1")) << o;
}

TEST(CertCommand, KeepsExistingFilesWithoutForce) {
  const TempDir temp;
  ASSERT_TRUE(run_enchufe({"cert", "--out", temp.path.string()}).exited_with(0));
  const auto key = read_file(temp.path / "key.pem");
  const auto cert = read_file(temp.path / "cert.pem");

  const auto again = run_enchufe({"cert", "--out", temp.path.string()});
  EXPECT_TRUE(again.exited_with(1)) << again;
  EXPECT_EQ(again.out, "") << again;
  EXPECT_EQ(again.err, "enchufe cert: " + (temp.path / "key.pem").string() +
                           " already exists; use --force to replace it\n")
      << again;
  EXPECT_EQ(read_file(temp.path / "key.pem"), key);
  EXPECT_EQ(read_file(temp.path / "cert.pem"), cert);

  const auto forced = run_enchufe({"cert", "--out", temp.path.string(), "--force"});
  EXPECT_TRUE(forced.exited_with(0)) << forced;
  EXPECT_NE(read_file(temp.path / "key.pem"), key);
  EXPECT_NE(read_file(temp.path / "cert.pem"), cert);
  EXPECT_EQ(mode_of(temp.path / "key.pem"), 0600u);
}

TEST(CertCommand, DaysOutOfRangeIsAUsageError) {
  const TempDir temp;
  for (const char* days : {"0", "3651", "-1", "a year"}) {
    const auto r = run_enchufe({"cert", "--out", temp.path.string(), "--days", days});
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_TRUE(contains(r.err, "--days")) << r;
  }
  EXPECT_FALSE(fs::exists(temp.path / "key.pem"));
  EXPECT_TRUE(run_enchufe({"cert", "--out", temp.path.string(), "--days", "3650"}).exited_with(0));
}

TEST(CertCommand, BadNameIsAUsageError) {
  const TempDir temp;
  const auto r = run_enchufe({"cert", "--out", temp.path.string(), "--name", "two words"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_TRUE(contains(r.err, "'two words'")) << r;
  EXPECT_FALSE(fs::exists(temp.path / "key.pem"));
}

TEST(CertCommand, OutNeeded) {
  const auto r = run_enchufe({"cert"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_TRUE(contains(r.err, "--out")) << r;
}

TEST(CertCommand, UnwritableOutIsARuntimeErrorNamingIt) {
  const TempDir temp;
  std::ofstream(temp.path / "file") << "a regular file";
  const auto out = (temp.path / "file" / "certs").string();
  const auto r = run_enchufe({"cert", "--out", out});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(r.err.starts_with("enchufe cert: ")) << r;
  EXPECT_TRUE(contains(r.err, out)) << r;
  EXPECT_EQ(split_lines(r.err).size(), 1u) << "one line\n" << r;
}

}  // namespace
