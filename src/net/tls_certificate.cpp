#include "net/tls_certificate.hpp"

#include "net/endpoint.hpp"
#include "net/errors.hpp"
#include "net/openssl_owned.hpp"
#include "net/tls_describe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <memory>
#include <system_error>

namespace enchufe::net::tls {

namespace {

using Certificate = Owned<X509, X509_free>;
using Key = Owned<EVP_PKEY, EVP_PKEY_free>;

[[noreturn]] void fail(std::string_view step) { throw RuntimeError(fmt::format("cannot {}: {}", step, take_error())); }

// 128 random bits with the top one set, so the serial is always 16 bytes and
// positive (RFC 5280: positive, at most 20 bytes). Random, because clients
// refuse two certificates with the same issuer and serial, and every
// `enchufe cert` is its own issuer "CN=localhost".
void set_random_serial(X509* certificate) {
  const Owned<BIGNUM, BN_free> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate)) == nullptr) {
    fail("make a serial number");
  }
}

// From an hour ago, so that a peer whose clock is a little behind accepts it.
void set_validity(X509* certificate, int days) {
  if (X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(certificate), days, 0, nullptr) == nullptr) {
    fail(fmt::format("set a validity of {} days", days));
  }
}

// Self-signed: the subject is also the issuer.
void set_subject(X509* certificate, const std::string& common_name) {
  X509_NAME* subject = X509_get_subject_name(certificate);
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 -1, -1, 0) != 1 ||
      X509_set_issuer_name(certificate, subject) != 1) {
    fail(fmt::format("use '{}' as the subject's name", common_name));
  }
}

// A DNS name is an IA5String (ASCII): anything else no client would match.
bool is_dns_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '*' || c == '_';
  });
}

// IP:address when `name` is an IPv4 or IPv6 address, else DNS:name. An
// address must be an IP entry: clients never match one against DNS entries.
Owned<GENERAL_NAME, GENERAL_NAME_free> general_name(const std::string& name) {
  unsigned char address[16];
  const int address_size = inet_pton(AF_INET, name.c_str(), address) == 1    ? 4
                           : inet_pton(AF_INET6, name.c_str(), address) == 1 ? 16
                                                                             : 0;
  if (address_size == 0 && !is_dns_name(name)) {
    throw UsageError(fmt::format("bad certificate name '{}': not a host name (letters, digits, '-', '.', '*') "
                                 "or an IP address", name));
  }
  Owned<ASN1_STRING, ASN1_STRING_free> value(ASN1_STRING_type_new(address_size > 0 ? V_ASN1_OCTET_STRING
                                                                                   : V_ASN1_IA5STRING));
  const bool set = value && (address_size > 0 ? ASN1_STRING_set(value.get(), address, address_size)
                                              : ASN1_STRING_set(value.get(), name.data(), static_cast<int>(name.size())));
  Owned<GENERAL_NAME, GENERAL_NAME_free> general(GENERAL_NAME_new());
  if (!set || !general) fail(fmt::format("add '{}' to the certificate", name));
  GENERAL_NAME_set0_value(general.get(), address_size > 0 ? GEN_IPADD : GEN_DNS, value.release());
  return general;
}

// Built entry by entry rather than from "DNS:a,IP:b" text, so that a comma
// in a name cannot smuggle in another entry.
void add_subject_alt_names(X509* certificate, const std::vector<std::string>& names) {
  const Owned<GENERAL_NAMES, GENERAL_NAMES_free> list(sk_GENERAL_NAME_new_null());
  if (!list) fail("list the certificate's names");
  for (const auto& name : names) {
    auto entry = general_name(name);
    if (sk_GENERAL_NAME_push(list.get(), entry.get()) == 0) fail(fmt::format("add '{}' to the certificate", name));
    entry.release();  // the list owns it now
  }
  if (X509_add1_ext_i2d(certificate, NID_subject_alt_name, list.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    fail("add the subjectAltName extension");
  }
}

// An extension from OpenSSL's configuration syntax, e.g. "critical,CA:FALSE".
void add_extension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  const Owned<X509_EXTENSION, X509_EXTENSION_free> extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    fail(fmt::format("add the extension {} {}", OBJ_nid2sn(nid), value));
  }
}

// What `write` (a PEM_write_bio_* call) writes, as text.
template <typename Write>
std::string pem_text(Write write) {
  const Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) fail("write PEM text");
  return memory_text(bio.get());
}

std::error_code last_error() { return {errno, std::generic_category()}; }

// Writes `text` to a new file beside `path` (created 0600 by mkostemp, then
// given `mode`) and renames it over `path`: a reader sees the old file or the
// whole new one, and a process that still holds the old file open (a key.pem
// once readable by others) cannot read the new key through it.
std::error_code replace_file(const std::filesystem::path& path, std::string_view text, mode_t mode) {
  std::string temporary = path.string() + ".XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) return last_error();
  std::error_code error;
  if (::fchmod(fd, mode) != 0) error = last_error();
  for (std::size_t done = 0; !error && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
    } else if (errno != EINTR) {
      error = last_error();
    }
  }
  // On disk before the rename: a crash must not leave an empty key in place of the old one.
  if (!error && ::fsync(fd) != 0) error = last_error();
  if (::close(fd) != 0 && !error) error = last_error();
  if (!error && ::rename(temporary.c_str(), path.c_str()) != 0) error = last_error();
  if (error) ::unlink(temporary.c_str());
  return error;
}

void write_file(const std::filesystem::path& path, std::string_view text, mode_t mode) {
  if (const auto error = replace_file(path, text, mode)) {
    throw RuntimeError(fmt::format("cannot write {}: {}", path.string(), error.message()));
  }
}

}  // namespace

PemPair make_self_signed(const std::vector<std::string>& names, int days) {
  if (names.empty()) throw UsageError("a certificate needs at least one name");
  if (days < 1) throw UsageError(fmt::format("a certificate must be valid for at least one day, not {}", days));
  std::vector<std::string> normalized;  // "[::1]" as "::1"
  std::transform(names.begin(), names.end(), std::back_inserter(normalized), normalize_host);

  const Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("make an ECDSA P-256 key");
  const Certificate certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1) fail("make a certificate");
  set_random_serial(certificate.get());
  set_validity(certificate.get(), days);
  set_subject(certificate.get(), normalized.front());
  add_subject_alt_names(certificate.get(), normalized);
  add_extension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(certificate.get(), NID_ext_key_usage, "serverAuth");
  if (X509_set_pubkey(certificate.get(), key.get()) != 1 || X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    fail("sign the certificate");
  }
  return {pem_text([&](BIO* bio) { return PEM_write_bio_X509(bio, certificate.get()); }),
          pem_text([&](BIO* bio) {
            return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

std::vector<std::string> default_certificate_names() { return {"localhost", "127.0.0.1", "::1"}; }

std::string pem_fingerprint(std::string_view pem_certificate) {
  const Bio bio = memory_bio(pem_certificate);
  const Certificate certificate(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!certificate) fail("read a PEM certificate");
  return fingerprint(certificate.get());
}

void write_pem_pair(const std::filesystem::path& dir, const PemPair& pair) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw RuntimeError(fmt::format("cannot create {}: {}", dir.string(), error.message()));
  write_file(dir / "key.pem", pair.private_key, 0600);
  write_file(dir / "cert.pem", pair.certificate, 0644);
}

}  // namespace enchufe::net::tls
