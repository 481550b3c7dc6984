#pragma once
// Words for what OpenSSL knows about a TLS session, shared by the server's
// and the client's logs and --trace: a certificate's fingerprint and subject,
// the version and cipher a handshake chose, OpenSSL's last error.

#include <openssl/types.h>

#include <string>
#include <string_view>

namespace enchufe::net::tls {

// SHA-256 of the certificate (its DER form), as `openssl x509 -fingerprint
// -sha256` prints it: 32 upper-case hex pairs joined by colons.
std::string fingerprint(X509* certificate);

// The subject's one-line form, e.g. "CN=localhost".
std::string subject(X509* certificate);

// "TLSv1.3, TLS_AES_256_GCM_SHA384" for an established session.
std::string version_and_cipher(const SSL* ssl);

// The oldest error on this thread's OpenSSL error queue, in words, and the
// queue cleared (so it does not leak into the next connection's report);
// `fallback` when the queue is empty.
std::string take_error(const char* fallback = "unknown TLS error");

// Compares a fingerprint typed by a user with one from fingerprint(): case,
// colons and spaces do not matter; "sha256:" or "SHA256=" prefixes are
// allowed. False when `typed` is not 64 hex digits.
bool same_fingerprint(std::string_view typed, std::string_view actual);

// Whether a stream's first bytes are a TLS ClientHello's record header
// (handshake record, version 3.x), judged on as many of its three bytes as
// have arrived.
bool looks_like_client_hello(std::string_view first_bytes);

}  // namespace enchufe::net::tls
