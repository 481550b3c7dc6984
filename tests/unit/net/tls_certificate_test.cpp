#include "net/tls_certificate.hpp"

#include "net/errors.hpp"
#include "net/openssl_owned.hpp"
#include "net/tls_describe.hpp"
#include "support/files.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace enchufe::net::tls {
using enchufe::test::mode_of;
using enchufe::test::read_file;
using enchufe::test::TempDir;

namespace {

namespace fs = std::filesystem;

using Certificate = Owned<X509, X509_free>;
using Key = Owned<EVP_PKEY, EVP_PKEY_free>;

Certificate parse_certificate(const std::string& pem) {
  auto bio = memory_bio(pem);
  return Certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Key parse_key(const std::string& pem) {
  auto bio = memory_bio(pem);
  return Key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// Every subjectAltName as "DNS:name" or "IP:address", in order.
std::vector<std::string> alt_names(X509* certificate) {
  Owned<GENERAL_NAMES, GENERAL_NAMES_free> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> out;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    const auto* data = ASN1_STRING_get0_data(name->d.ia5);
    const int size = ASN1_STRING_length(name->d.ia5);
    if (name->type == GEN_DNS) {
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)));
    } else if (name->type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN] = "?";
      inet_ntop(size == 4 ? AF_INET : AF_INET6, data, text, sizeof text);
      out.push_back(std::string("IP:") + text);
    } else {
      out.push_back("other");
    }
  }
  return out;
}

std::string common_name(X509* certificate) {
  char text[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, text, sizeof text);
  return text;
}

bool critical(X509* certificate, int nid) {
  const int at = X509_get_ext_by_NID(certificate, nid, -1);
  return at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(certificate, at)) == 1;
}

// Seconds from now to `time` (negative: in the past).
long seconds_from_now(const ASN1_TIME* time) {
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, time) != 1) return -1'000'000'000;
  return days * 86400L + seconds;
}


TEST(SelfSignedCertificate, ParsesBackAsPem) {
  const auto pair = make_self_signed({"localhost"}, 30);
  EXPECT_TRUE(pair.certificate.starts_with("-----BEGIN CERTIFICATE-----\n")) << pair.certificate;
  EXPECT_TRUE(pair.private_key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_NE(parse_certificate(pair.certificate), nullptr);
  EXPECT_NE(parse_key(pair.private_key), nullptr);
}

TEST(SelfSignedCertificate, KeyIsEcdsaP256AndMatchesTheCertificate) {
  const auto pair = make_self_signed({"localhost"}, 30);
  const auto key = parse_key(pair.private_key);
  const auto certificate = parse_certificate(pair.certificate);
  ASSERT_TRUE(key && certificate);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  char group[64] = "";
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof group, nullptr), 1);
  EXPECT_EQ(OBJ_sn2nid(group), NID_X9_62_prime256v1) << group;
  EXPECT_EQ(X509_check_private_key(certificate.get(), key.get()), 1);

  const auto other = parse_key(make_self_signed({"localhost"}, 30).private_key);
  EXPECT_NE(X509_check_private_key(certificate.get(), other.get()), 1) << "another key must not match";
}

TEST(SelfSignedCertificate, IsSelfSignedV3WithSha256) {
  const auto certificate = parse_certificate(make_self_signed({"chat.example.test", "localhost"}, 30).certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(X509_get_version(certificate.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(certificate.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(certificate.get(), X509_get0_pubkey(certificate.get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(certificate.get()), X509_get_issuer_name(certificate.get())), 0);
  EXPECT_EQ(common_name(certificate.get()), "chat.example.test");

  const auto stranger = parse_key(make_self_signed({"localhost"}, 30).private_key);
  EXPECT_NE(X509_verify(certificate.get(), stranger.get()), 1) << "another key's check must fail";
}

TEST(SelfSignedCertificate, EveryNameIsASubjectAltNameOfItsType) {
  const auto certificate = parse_certificate(
      make_self_signed({"localhost", "127.0.0.1", "::1", "[2001:db8::7]", "chat.example.test", "*.example.test",
                        "1.2.3.4.example.test"},
                       30)
          .certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(alt_names(certificate.get()),
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1", "IP:2001:db8::7",
                                      "DNS:chat.example.test", "DNS:*.example.test", "DNS:1.2.3.4.example.test"}));
}

TEST(SelfSignedCertificate, IsForServersAndNotACa) {
  const auto certificate = parse_certificate(make_self_signed({"localhost"}, 30).certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(X509_check_ca(certificate.get()), 0);
  EXPECT_TRUE(critical(certificate.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(certificate.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_TRUE(critical(certificate.get(), NID_key_usage));
  EXPECT_EQ(X509_get_extended_key_usage(certificate.get()), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_purpose(certificate.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_NE(X509_check_purpose(certificate.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
}

TEST(SelfSignedCertificate, ValidFromAnHourAgoForTheDaysAsked) {
  const auto certificate = parse_certificate(make_self_signed({"localhost"}, 30).certificate);
  ASSERT_TRUE(certificate);
  const ASN1_TIME* not_before = X509_get0_notBefore(certificate.get());
  const ASN1_TIME* not_after = X509_get0_notAfter(certificate.get());
  EXPECT_LT(X509_cmp_current_time(not_before), 0);
  EXPECT_GT(X509_cmp_current_time(not_after), 0);
  EXPECT_NEAR(seconds_from_now(not_before), -3600, 60);
  EXPECT_NEAR(seconds_from_now(not_after), 30 * 86400, 60);
}

TEST(SelfSignedCertificate, EachHasItsOwnSerialAndKey) {
  const auto a = make_self_signed({"localhost"}, 30);
  const auto b = make_self_signed({"localhost"}, 30);
  const auto ca = parse_certificate(a.certificate);
  const auto cb = parse_certificate(b.certificate);
  ASSERT_TRUE(ca && cb);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()), X509_get0_serialNumber(cb.get())), 0);
  Owned<BIGNUM, BN_free> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca.get()), nullptr));
  EXPECT_EQ(BN_num_bits(serial.get()), 128);
  EXPECT_NE(EVP_PKEY_eq(parse_key(a.private_key).get(), parse_key(b.private_key).get()), 1);
  EXPECT_NE(a.private_key, b.private_key);
}

TEST(SelfSignedCertificate, DefaultNamesAreLoopback) {
  EXPECT_EQ(default_certificate_names(), (std::vector<std::string>{"localhost", "127.0.0.1", "::1"}));
}

TEST(SelfSignedCertificate, RefusesWhatCannotBeACertificate) {
  EXPECT_THROW(make_self_signed({}, 30), UsageError);
  EXPECT_THROW(make_self_signed({"localhost"}, 0), UsageError);
  EXPECT_THROW(make_self_signed({"localhost", ""}, 30), UsageError);
  EXPECT_THROW(make_self_signed({"two words"}, 30), UsageError);
  EXPECT_THROW(make_self_signed({"a,IP:10.0.0.1"}, 30), UsageError);
  EXPECT_THROW(make_self_signed({"café.example"}, 30), UsageError);
  try {
    make_self_signed({"localhost", "no/slash"}, 30);
    ADD_FAILURE() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no/slash"), std::string::npos) << e.what();
  }
}

TEST(CertificateFingerprint, IsTheParsedCertificatesSha256) {
  const auto pair = make_self_signed({"localhost"}, 30);
  const auto certificate = parse_certificate(pair.certificate);
  ASSERT_TRUE(certificate);
  const auto fingerprint = pem_fingerprint(pair.certificate);
  EXPECT_EQ(fingerprint, tls::fingerprint(certificate.get()));
  EXPECT_EQ(fingerprint.size(), 95u);  // 32 hex pairs and 31 colons
  EXPECT_NE(fingerprint, pem_fingerprint(make_self_signed({"localhost"}, 30).certificate));
}

TEST(CertificateFingerprint, NeedsACertificate) {
  EXPECT_THROW(pem_fingerprint("not a certificate"), RuntimeError);
  EXPECT_THROW(pem_fingerprint(make_self_signed({"localhost"}, 30).private_key), RuntimeError);
}

TEST(CertificateFiles, WritesBothWithTheirModes) {
  const TempDir temp;
  const auto dir = temp.path / "a" / "b";  // parents created too
  const auto pair = make_self_signed({"localhost"}, 30);
  write_pem_pair(dir, pair);
  EXPECT_EQ(read_file(dir / "cert.pem"), pair.certificate);
  EXPECT_EQ(read_file(dir / "key.pem"), pair.private_key);
  EXPECT_EQ(mode_of(dir / "key.pem"), 0600u);
  EXPECT_EQ(mode_of(dir / "cert.pem"), 0644u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2) << "no temporary left";
}

TEST(CertificateFiles, ReplacesOldFilesAndTightensTheKeysMode) {
  const TempDir temp;
  std::ofstream(temp.path / "key.pem") << "old key";
  fs::permissions(temp.path / "key.pem", fs::perms(0666));
  std::ofstream(temp.path / "cert.pem") << "old certificate";
  const auto pair = make_self_signed({"localhost"}, 30);
  write_pem_pair(temp.path, pair);
  EXPECT_EQ(read_file(temp.path / "key.pem"), pair.private_key);
  EXPECT_EQ(read_file(temp.path / "cert.pem"), pair.certificate);
  EXPECT_EQ(mode_of(temp.path / "key.pem"), 0600u);
}

TEST(CertificateFiles, KeepsModesWhateverTheUmask) {
  const TempDir temp;
  const mode_t old = ::umask(0277);  // would make new files 0400
  write_pem_pair(temp.path, make_self_signed({"localhost"}, 30));
  ::umask(old);
  EXPECT_EQ(mode_of(temp.path / "key.pem"), 0600u);
  EXPECT_EQ(mode_of(temp.path / "cert.pem"), 0644u);
}

TEST(CertificateFiles, FailureNamesThePathAndTheReason) {
  const TempDir temp;
  std::ofstream(temp.path / "file") << "a regular file";
  const auto dir = temp.path / "file" / "certs";
  try {
    write_pem_pair(dir, make_self_signed({"localhost"}, 30));
    ADD_FAILURE() << "no exception";
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dir.string()), std::string::npos) << what;
    EXPECT_NE(what.find("Not a directory"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace enchufe::net::tls
