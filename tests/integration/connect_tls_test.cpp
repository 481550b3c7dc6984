// `enchufe connect --tls`: against a real `openssl s_server`, with
// certificates the suite makes with the openssl command (a self-signed one,
// a CA and leaves it signed: for localhost, expired, for another host).

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace enchufe::test;
namespace fs = std::filesystem;

namespace {

const std::string kOpenssl = "/usr/bin/openssl";
constexpr auto kRun = 10'000ms;
constexpr auto kIo = 5000ms;

// Runs `openssl ARGS...`; its stdout, or a std::runtime_error with its stderr.
std::string openssl(const std::vector<std::string>& args) {
  const auto r = run_program(kOpenssl, args, {.timeout = 15'000ms});
  if (!r.exited_with(0)) throw std::runtime_error(r.describe());
  return r.out;
}

// The files the suite's servers and clients use, made once in a temp dir.
struct Certificates {
  fs::path dir;
  std::string self_signed, self_key;  // CN=localhost, DNS:localhost, IP:127.0.0.1
  std::string ca;
  std::string leaf_key;               // the key of the three below
  std::string leaf, expired, other;   // signed by `ca`: localhost, localhost expired yesterday, CN=otherhost
  std::string self_signed_fingerprint;

  std::string file(const std::string& name) const { return (dir / name).string(); }

  static Certificates make() {
    Certificates c;
    std::string dir_template = (fs::temp_directory_path() / "enchufe-tls-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    c.dir = dir_template;
    const std::vector<std::string> p256{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
      a.insert(a.end(), b.begin(), b.end());
      return a;
    };
    c.self_signed = c.file("self.crt");
    c.self_key = c.file("self.key");
    openssl(with({"req", "-x509"}, with(p256, {"-keyout", c.self_key, "-out", c.self_signed, "-days", "30", "-subj",
                                               "/CN=localhost", "-addext",
                                               "subjectAltName=DNS:localhost,IP:127.0.0.1"})));
    c.ca = c.file("ca.crt");
    openssl(with({"req", "-x509"},
                 with(p256, {"-keyout", c.file("ca.key"), "-out", c.ca, "-days", "30", "-subj", "/CN=enchufe test CA",
                             "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                             "keyUsage=critical,keyCertSign,cRLSign"})));
    c.leaf_key = c.file("leaf.key");
    auto sign = [&c](const std::string& name, const std::string& cn, const std::string& days) {
      const std::string extensions = c.file(name + ".ext"), request = c.file(name + ".csr");
      std::ofstream(extensions) << "subjectAltName=DNS:" << cn << (cn == "localhost" ? ",IP:127.0.0.1" : "") << "\n";
      openssl({"req", "-new", "-key", c.leaf_key, "-out", request, "-subj", "/CN=" + cn});
      // -days -1: valid from now until yesterday, i.e. expired.
      openssl({"x509", "-req", "-in", request, "-CA", c.ca, "-CAkey", c.file("ca.key"), "-out", c.file(name + ".crt"),
               "-days", days, "-extfile", extensions});
      return c.file(name + ".crt");
    };
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", c.leaf_key});
    c.leaf = sign("leaf", "localhost", "30");
    c.expired = sign("expired", "localhost", "-1");
    c.other = sign("other", "otherhost", "30");
    // "sha256 Fingerprint=AB:CD:..."
    const std::string printed = openssl({"x509", "-in", c.self_signed, "-noout", "-fingerprint", "-sha256"});
    c.self_signed_fingerprint = printed.substr(printed.find('=') + 1, 95);
    return c;
  }
};

// A free loopback port: bound, then let go (another process may take it
// before s_server does; then the caller tries another).
std::uint16_t free_port() {
  return hold_tcp_port("127.0.0.1", /*listen=*/false).port;
}

// `openssl s_server` for one connection on a free port. In -rev mode it
// sends back every line reversed; otherwise what it receives goes to its
// stdout and its stdin goes to the client.
struct SServer {
  std::unique_ptr<Process> process;
  std::uint16_t port = 0;

  static SServer start(const std::string& cert, const std::string& key, const std::vector<std::string>& extra) {
    std::string why;
    for (int attempt = 0; attempt < 5; ++attempt) {
      SServer s;
      s.port = free_port();
      std::vector<std::string> args{"s_server", "-accept", "127.0.0.1:" + std::to_string(s.port), "-cert", cert,
                                    "-key", key, "-naccept", "1"};
      args.insert(args.end(), extra.begin(), extra.end());
      s.process = std::make_unique<Process>(kOpenssl, args);
      if (s.process->wait_stdout_contains("ACCEPT", kIo)) return s;
      why = s.process->diagnostics();  // most likely the port was taken meanwhile
    }
    throw std::runtime_error("openssl s_server did not start: " + why);
  }
  std::string port_text() const { return std::to_string(port); }
};

RunResult connect_tls(const std::vector<std::string>& args, const std::string& input = "hola\n",
                      Duration timeout = kRun) {
  std::vector<std::string> full{"connect", "--tls"};
  full.insert(full.end(), args.begin(), args.end());
  return run_enchufe(full, RunOptions{input, true, timeout});
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// One line on stderr: what the issue asks of every failure.
void expect_one_line(const RunResult& r) {
  EXPECT_EQ(split_lines(r.err).size(), 1u) << r;
}

class ConnectTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      certs_ = std::make_unique<Certificates>(Certificates::make());
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    if (certs_) fs::remove_all(certs_->dir);
    certs_.reset();
  }
  void SetUp() override { ASSERT_EQ(setup_error_, "") << "making the certificates failed"; }

  // An s_server that answers each line reversed, with `cert`.
  SServer rev(const std::string& cert, const std::string& key, std::vector<std::string> extra = {}) {
    extra.push_back("-rev");
    return SServer::start(cert, key, extra);
  }
  const Certificates& certs() const { return *certs_; }

  static inline std::unique_ptr<Certificates> certs_;
  static inline std::string setup_error_;
};

}  // namespace

// Both ways through a server s_server's stdin and stdout show: a line typed
// reaches the server, a line the server sends is printed, and end of input
// (our close_notify) lets the server finish.
TEST_F(ConnectTls, CaFileTrustsTheServerBothWays) {
  auto server = SServer::start(certs().leaf, certs().leaf_key, {});
  Process client(enchufe_binary(), {"connect", "--tls", "--ca", certs().ca, "localhost", server.port_text()});
  ASSERT_TRUE(client.write_stdin("hola servidor\n"));
  EXPECT_TRUE(server.process->wait_stdout_contains("hola servidor\n", kIo))
      << server.process->diagnostics() << "\n" << client.diagnostics();
  ASSERT_TRUE(server.process->write_stdin("hola cliente\n"));
  EXPECT_TRUE(client.wait_stdout_contains("hola cliente\n", kIo)) << client.diagnostics();
  client.close_stdin();
  const auto status = client.wait_exit(kIo);
  ASSERT_TRUE(status) << "end of input must end the session\n" << client.diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << client.diagnostics();
  EXPECT_EQ(client.stdout_text(), "hola cliente\n");
  EXPECT_EQ(client.stderr_text(), "");
}

TEST_F(ConnectTls, CaFileWithTheAddressChecksIpNames) {
  auto server = rev(certs().leaf, certs().leaf_key);
  const auto r = connect_tls({"--ca", certs().ca, "127.0.0.1", server.port_text()});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "aloh\n") << r;
}

// Replies that come after our close_notify are still printed (TLS 1.2 too).
TEST_F(ConnectTls, EndOfInputStillReadsTheReplies) {
  for (const std::string version : {"-tls1_2", "-tls1_3"}) {
    auto server = rev(certs().leaf, certs().leaf_key, {version});
    const auto r = connect_tls({"--ca", certs().ca, "localhost", server.port_text()}, "uno\ndos\ntres\n");
    EXPECT_TRUE(r.exited_with(0)) << version << "\n" << r;
    EXPECT_EQ(r.out, "onu\nsod\nsert\n") << version << "\n" << r;
  }
}

TEST_F(ConnectTls, SelfSignedIsNotTrustedByDefault) {
  auto server = rev(certs().self_signed, certs().self_key);
  const auto r = connect_tls({"localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "TLS: certificate not trusted: self-signed")) << r;
  EXPECT_TRUE(contains(r.err, "--fingerprint")) << "the way out is named\n" << r;
  expect_one_line(r);
}

TEST_F(ConnectTls, RightFingerprintTrustsASelfSignedCertificate) {
  auto server = rev(certs().self_signed, certs().self_key);
  const auto r = connect_tls({"--fingerprint", certs().self_signed_fingerprint, "localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "aloh\n") << r;
  EXPECT_EQ(r.err, "") << r;
}

// A pin replaces the CA and the name checks: the leaf for "otherhost" is
// accepted on "localhost" when pinned.
TEST_F(ConnectTls, FingerprintIgnoresTheHostName) {
  auto server = rev(certs().other, certs().leaf_key);
  const std::string printed = openssl({"x509", "-in", certs().other, "-noout", "-fingerprint", "-sha256"});
  // Lower case, no colons, prefixed: the forms same_fingerprint() accepts.
  std::string typed = "sha256:";
  for (char c : printed.substr(printed.find('=') + 1, 95)) {
    if (c != ':') typed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const auto r = connect_tls({"--fingerprint", typed, "localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "aloh\n") << r;
}

TEST_F(ConnectTls, WrongFingerprintIsRefused) {
  auto server = rev(certs().self_signed, certs().self_key);
  const std::string wrong =
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  const auto r = connect_tls({"--fingerprint", wrong, "localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "certificate fingerprint mismatch: got " + certs().self_signed_fingerprint +
                                  ", expected " + wrong))
      << r;
  expect_one_line(r);
}

TEST_F(ConnectTls, ExpiredCertificateIsRefused) {
  auto server = rev(certs().expired, certs().leaf_key);
  const auto r = connect_tls({"--ca", certs().ca, "localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "TLS: certificate not trusted: certificate has expired")) << r;
  expect_one_line(r);
}

TEST_F(ConnectTls, CertificateForAnotherHostIsRefused) {
  auto server = rev(certs().other, certs().leaf_key);
  const auto r = connect_tls({"--ca", certs().ca, "localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "TLS: certificate not trusted: it is for CN=otherhost, DNS:otherhost, not localhost"))
      << r;
  expect_one_line(r);

  // The same for an address: the certificate names none.
  auto again = rev(certs().other, certs().leaf_key);
  const auto by_address = connect_tls({"--ca", certs().ca, "127.0.0.1", again.port_text()});
  EXPECT_TRUE(by_address.exited_with(1)) << by_address;
  EXPECT_TRUE(contains(by_address.err, "not 127.0.0.1")) << by_address;
}

TEST_F(ConnectTls, InsecureWorksButWarns) {
  auto server = rev(certs().other, certs().leaf_key);
  const auto r = connect_tls({"--insecure", "localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "aloh\n") << r;
  EXPECT_TRUE(contains(r.err, "warning: --insecure")) << r;
}

TEST_F(ConnectTls, TraceNarratesTheSession) {
  auto server = rev(certs().self_signed, certs().self_key, {"-tls1_3"});
  const auto r =
      connect_tls({"--trace", "--fingerprint", certs().self_signed_fingerprint, "localhost", server.port_text()});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "aloh\n") << r;
  const std::vector<std::string> steps{
      "[tls handshake] ClientHello, TLS 1.2 or newer, SNI localhost",
      "[tls established] TLSv1.3, TLS_",
      "[tls certificate] CN=localhost, SHA-256 " + certs().self_signed_fingerprint + "; matches the pinned fingerprint",
      "[tls close] close_notify sent",
      "[tls close] the server sent close_notify",
  };
  for (const auto& step : steps) {
    EXPECT_TRUE(contains(r.err, step)) << "missing: " << step << "\n" << r;
  }
}

// A server that vanishes without close_notify (killed here) ends the
// session as a plain EOF would; only --trace tells the difference.
TEST_F(ConnectTls, CloseWithoutCloseNotifyIsAnOrdinaryClose) {
  auto server = SServer::start(certs().leaf, certs().leaf_key, {});
  Process client(enchufe_binary(),
                 {"connect", "--tls", "--trace", "--ca", certs().ca, "localhost", server.port_text()});
  ASSERT_TRUE(client.wait_stderr_contains("[tls established]", kIo)) << client.diagnostics();
  ASSERT_TRUE(server.process->write_stdin("adios\n"));
  ASSERT_TRUE(client.wait_stdout_contains("adios\n", kIo)) << client.diagnostics();
  server.process->kill();
  const auto status = client.wait_exit(kIo);
  ASSERT_TRUE(status) << client.diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << client.diagnostics();
  EXPECT_TRUE(contains(client.stderr_text(), "[tls close] the server closed without close_notify"))
      << client.diagnostics();
}

TEST_F(ConnectTls, PlaintextServerIsNamed) {
  const auto listener = hold_tcp_port("127.0.0.1");
  std::thread server([&] {
    pollfd p{listener.fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return;
    TcpClient peer{Fd(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC))};
    peer.send_all("hola\n");
    peer.recv_for(1000ms);  // the ClientHello; then close
  });
  const auto r = connect_tls({"localhost", std::to_string(listener.port)});
  server.join();
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "TLS: localhost:" + std::to_string(listener.port) +
                                  " does not speak TLS (it answered in plaintext)"))
      << r;
  expect_one_line(r);
}

// Accepted by the kernel (a listening socket nobody accepts from) and never
// answered: the client gives up after its 10 s handshake timeout.
TEST_F(ConnectTls, SilentServerTimesOutTheHandshake) {
  const auto listener = hold_tcp_port("127.0.0.1");
  const auto r = connect_tls({"localhost", std::to_string(listener.port)}, "", 20'000ms);
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "TLS handshake timed out")) << r;
  EXPECT_GE(r.elapsed, 9500ms) << r;
  EXPECT_LT(r.elapsed, 15'000ms) << r;
  expect_one_line(r);
}

// wss:// is the WebSocket client over the same TLS. s_server -www answers
// "GET / " with a status page, not an upgrade: the HTTP went both ways
// inside TLS (the CA checked), and the refusal is reported.
TEST_F(ConnectTls, WssSpeaksHttpInsideTls) {
  auto server = SServer::start(certs().leaf, certs().leaf_key, {"-www"});
  const auto r = run_enchufe({"connect", "--ca", certs().ca, "wss://localhost:" + server.port_text() + "/"},
                             RunOptions{"", true, kRun});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "the server did not upgrade to WebSocket: it answered 200 ok")) << r;
}

TEST_F(ConnectTls, WssChecksTheCertificate) {
  auto server = SServer::start(certs().self_signed, certs().self_key, {"-www"});
  const auto r =
      run_enchufe({"connect", "wss://localhost:" + server.port_text() + "/"}, RunOptions{"", true, kRun});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "TLS: certificate not trusted: self-signed")) << r;
  expect_one_line(r);
}

// Our own wss:// door, with the certificate --tls-self-signed made at start
// pinned by the fingerprint the server printed: what a learner does.
TEST_F(ConnectTls, WssToOurEchoWithThePrintedFingerprint) {
  auto server = Server::start_args({"serve", "echo", "--host", "127.0.0.1", "--port", "0", "--web-port", "0",
                                    "--tls-self-signed"},
                                   {"echo", "echo wss"});
  const std::string stdout_text = server.process().stdout_text();
  const std::string marker = "SHA-256 fingerprint ";
  const auto at = stdout_text.find(marker);
  ASSERT_NE(at, std::string::npos) << server.process().diagnostics();
  const std::string fingerprint = stdout_text.substr(at + marker.size(), 95);
  const std::string url = "wss://localhost:" + std::to_string(server.socket("echo", "wss").port) + "/";
  const auto r = run_enchufe({"connect", "--fingerprint", fingerprint, url}, RunOptions{"hola\nsalir\n", true, kRun});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, "Eco: hola\n") << r;
  // Without the pin the self-signed certificate is not trusted.
  const auto refused = run_enchufe({"connect", url}, RunOptions{"hola\n", true, kRun});
  EXPECT_TRUE(refused.exited_with(1)) << refused;
  EXPECT_TRUE(contains(refused.err, "TLS: certificate not trusted: self-signed")) << refused;
}

TEST_F(ConnectTls, UnreadableCaFileIsOneLine) {
  const auto r = connect_tls({"--ca", certs().file("missing.crt"), "localhost", "443"});
  EXPECT_TRUE(r.exited_with(1)) << r;
  EXPECT_TRUE(contains(r.err, "missing.crt")) << r;
  expect_one_line(r);
}

TEST_F(ConnectTls, UsageErrors) {
  const std::string pin = certs().self_signed_fingerprint;
  const std::vector<std::vector<std::string>> cases{
      {"connect", "--tls", "--udp", "localhost", "7000"},
      {"connect", "--ca", certs().ca, "localhost", "443"},
      {"connect", "--fingerprint", pin, "localhost", "443"},
      {"connect", "--insecure", "localhost", "443"},
      {"connect", "--tls", "--insecure", "--fingerprint", pin, "localhost", "443"},
      {"connect", "--tls", "--insecure", "--ca", certs().ca, "localhost", "443"},
      {"connect", "--tls", "--fingerprint", "AB:CD", "localhost", "443"},
      {"connect", "--tls", "ws://localhost:8081/"},
      {"connect", "--insecure", "ws://localhost:8081/"},
  };
  for (const auto& args : cases) {
    const auto r = run_enchufe(args, RunOptions{"", true, kRun});
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_NE(r.err, "") << r;
  }
}
