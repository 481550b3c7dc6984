#include "net/tls_describe.hpp"

#include "net/openssl_owned.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <memory>

namespace enchufe::net::tls {

std::string fingerprint(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest, &size) != 1) return "?";
  std::string out;
  out.reserve(size * 3);
  for (unsigned int i = 0; i < size; ++i) {
    if (i > 0) out += ':';
    out += fmt::format("{:02X}", digest[i]);
  }
  return out;
}

std::string subject(X509* certificate) {
  if (certificate == nullptr) return "?";
  const Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) return "?";
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  const std::string text = memory_text(bio.get());
  return text.empty() ? std::string("(empty)") : text;
}

std::string version_and_cipher(const SSL* ssl) {
  return fmt::format("{}, {}", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

std::string take_error(const char* fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? std::string(reason) : fmt::format("OpenSSL error {:#x}", code);
}

namespace {

// Only the hex digits, upper case; empty when anything else is in the way.
std::string hex_digits(std::string_view text) {
  for (std::string_view prefix : {"sha256:", "SHA256:", "sha256=", "SHA256="}) {
    if (text.starts_with(prefix)) text.remove_prefix(prefix.size());
  }
  std::string out;
  for (const char c : text) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

bool same_fingerprint(std::string_view typed, std::string_view actual) {
  const std::string a = hex_digits(typed);
  return a.size() == 64 && a == hex_digits(actual);
}

bool looks_like_client_hello(std::string_view first_bytes) {
  // Record type 22 (handshake), then the record's version: 3.1 for every
  // TLS client today, 3.0-3.4 allowed.
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(first_bytes[i]); };
  if (first_bytes.empty() || byte(0) != 0x16) return false;
  if (first_bytes.size() >= 2 && byte(1) != 0x03) return false;
  if (first_bytes.size() >= 3 && byte(2) > 0x04) return false;
  return true;
}

}  // namespace enchufe::net::tls
