#pragma once
// Self-signed certificates for `enchufe cert`, so a TLS server can be tried
// without a CA: the key pair, the certificate, their PEM text and the files.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::net::tls {

struct PemPair {
  std::string certificate;  // "-----BEGIN CERTIFICATE-----..."
  std::string private_key;  // "-----BEGIN PRIVATE KEY-----..." (PKCS#8, unencrypted)
};

// A self-signed certificate: ECDSA P-256 key, SHA-256 signature, X.509 v3,
// random 128-bit serial, subject CN = first name, every name as a
// subjectAltName (IP:addr when it parses as an IPv4/IPv6 address, "[::1]"
// too, else DNS:name), valid from one hour ago (clock skew) until `days` days
// from now, basicConstraints CA:FALSE (critical), keyUsage digitalSignature
// (critical), extendedKeyUsage serverAuth.
// Throws UsageError for no names, days < 1 or a name that is neither a host
// name nor an address; RuntimeError with OpenSSL's reason if OpenSSL fails.
PemPair make_self_signed(const std::vector<std::string>& names, int days);

// The names used when none are given: localhost, 127.0.0.1, ::1.
std::vector<std::string> default_certificate_names();

// SHA-256 fingerprint of a PEM certificate, as tls::fingerprint() gives it.
// Throws RuntimeError when `pem_certificate` holds no certificate.
std::string pem_fingerprint(std::string_view pem_certificate);

// Writes DIR/key.pem (mode 0600, never readable by others even for an
// instant) and DIR/cert.pem (mode 0644), replacing them if they exist and
// creating DIR and its parents if needed. Throws RuntimeError naming the file
// and the reason ("cannot write certs/key.pem: Permission denied").
void write_pem_pair(const std::filesystem::path& dir, const PemPair& pair);

}  // namespace enchufe::net::tls
