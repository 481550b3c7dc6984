// The server's TLS set-up: a certificate and key become a context with
// enchufe's posture; every way a pair can be unusable is one clear message;
// a reload keeps the old pair when the new one is bad.

#include "net/errors.hpp"
#include "net/openssl_owned.hpp"
#include "net/tls_certificate.hpp"
#include "net/tls_context.hpp"
#include "net/tls_describe.hpp"

#include "support/files.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace enchufe;
using namespace enchufe::net;
using enchufe::test::TempDir;

namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "(no error)";
}


}  // namespace

TEST(TlsContext, APairBecomesAContextWithItsFingerprintAndThePosture) {
  const auto pair = tls::make_self_signed({"localhost"}, 1);
  const auto identity = tls::make_server_identity(pair.certificate, pair.private_key, "cert", "key");
  ASSERT_TRUE(identity.context);
  EXPECT_EQ(identity.fingerprint, tls::pem_fingerprint(pair.certificate));
  EXPECT_EQ(identity.subject, "CN=localhost");
  SSL_CTX* c = identity.context.get();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c), TLS1_2_VERSION);
  const auto options = SSL_CTX_get_options(c);
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_NE(SSL_CTX_get_mode(c) & SSL_MODE_RELEASE_BUFFERS, 0u);
  // TLS 1.2's suites: every one has ECDHE key exchange.
  const tls::Owned<SSL, SSL_free> ssl(SSL_new(c));
  STACK_OF(SSL_CIPHER)* ciphers = SSL_get1_supported_ciphers(ssl.get());
  ASSERT_NE(ciphers, nullptr);
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    if (SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any) continue;  // TLS 1.3: key exchange apart
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe) << SSL_CIPHER_get_name(cipher);
    EXPECT_EQ(SSL_CIPHER_is_aead(cipher), 1) << SSL_CIPHER_get_name(cipher);
  }
  sk_SSL_CIPHER_free(ciphers);
  EXPECT_GT(tls12, 0);
}

TEST(TlsContext, EveryUnusablePairIsOneClearMessage) {
  const auto pair = tls::make_self_signed({"localhost"}, 1);
  const auto other = tls::make_self_signed({"localhost"}, 1);
  EXPECT_EQ(message_of([&] { tls::make_server_identity("not pem", pair.private_key, "--tls-cert a.pem", "k"); })
                .find("--tls-cert a.pem holds no PEM certificate"),
            0u);
  EXPECT_EQ(message_of([&] { tls::make_server_identity(pair.certificate, "not pem", "c", "--tls-key k.pem"); })
                .find("--tls-key k.pem holds no PEM private key"),
            0u);
  EXPECT_EQ(message_of([&] {
              tls::make_server_identity(pair.certificate, other.private_key, "--tls-cert a.pem", "--tls-key b.pem");
            }).find("--tls-key b.pem is not the key of --tls-cert a.pem"),
            0u);
  EXPECT_EQ(message_of([] { tls::ServerCertificates::from_files("/nonexistent/cert.pem", "/nonexistent/key.pem"); }),
            "cannot read --tls-cert /nonexistent/cert.pem: No such file or directory");
}

TEST(TlsContext, ReloadTakesAGoodPairAndKeepsTheOldOneOverABadOne) {
  TempDir dir;
  const auto first = tls::make_self_signed({"localhost"}, 1);
  tls::write_pem_pair(dir.path, first);
  const auto certificates =
      tls::ServerCertificates::from_files(dir.path / "cert.pem", dir.path / "key.pem");
  EXPECT_EQ(certificates->identity().fingerprint, tls::pem_fingerprint(first.certificate));
  const SSL_CTX* before = certificates->context().get();

  const auto second = tls::make_self_signed({"localhost"}, 1);
  tls::write_pem_pair(dir.path, second);
  certificates->reload();
  EXPECT_EQ(certificates->identity().fingerprint, tls::pem_fingerprint(second.certificate));
  EXPECT_NE(certificates->context().get(), before);

  std::ofstream(dir.path / "key.pem") << "garbage";
  certificates->reload();
  EXPECT_EQ(certificates->identity().fingerprint, tls::pem_fingerprint(second.certificate));
}

TEST(TlsDescribe, FingerprintsCompareWhateverTheirSpelling) {
  const std::string actual =
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
  EXPECT_TRUE(tls::same_fingerprint(actual, actual));
  EXPECT_TRUE(tls::same_fingerprint("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", actual));
  EXPECT_TRUE(tls::same_fingerprint("sha256:" + actual, actual));
  EXPECT_FALSE(tls::same_fingerprint(actual.substr(0, actual.size() - 1) + "0", actual));
  EXPECT_FALSE(tls::same_fingerprint("ABCD", "ABCD"));  // too short to be SHA-256
  EXPECT_FALSE(tls::same_fingerprint(actual + "zz", actual));
}

TEST(TlsDescribe, AClientHelloIsToldFromTextAndGarbage) {
  EXPECT_TRUE(tls::looks_like_client_hello(std::string("\x16\x03\x01\x02\x00", 5)));
  EXPECT_TRUE(tls::looks_like_client_hello(std::string("\x16", 1)));  // all that has arrived
  EXPECT_FALSE(tls::looks_like_client_hello("hola\n"));
  EXPECT_FALSE(tls::looks_like_client_hello("GET / HTTP/1.1\r\n"));
  EXPECT_FALSE(tls::looks_like_client_hello(std::string("\x16\x02\x01", 3)));
  EXPECT_FALSE(tls::looks_like_client_hello(std::string("\x16\x03\x05", 3)));
  EXPECT_FALSE(tls::looks_like_client_hello(""));
}
