#pragma once
// The server's TLS set-up: one OpenSSL context per certificate, with
// enchufe's posture (TLS 1.2 at least, 1.3 preferred; ECDHE key exchange and
// AEAD ciphers only; no compression, no renegotiation; buffers released by
// idle connections), and the certificate that new handshakes use, swapped
// whole on reload (SIGHUP) while the connections already up keep theirs.

#include <openssl/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace enchufe::net::tls {

// A context ready for handshakes, and what to tell people about it.
struct ServerIdentity {
  std::shared_ptr<SSL_CTX> context;
  std::string fingerprint;  // of the leaf certificate (tls_describe.hpp)
  std::string subject;
};

// From PEM text: the certificate (then any chain certificates) and its key.
// `certificate_from` and `key_from` name where the text came from, for the
// message of the RuntimeError thrown when either is unusable.
ServerIdentity make_server_identity(std::string_view certificate_pem, std::string_view key_pem,
                                    std::string_view certificate_from, std::string_view key_from);

class ServerCertificates {
 public:
  // From --tls-cert/--tls-key files (reloadable); throws RuntimeError with
  // a line naming the file and what is wrong. Warns when the key file is
  // readable by group or others.
  static std::shared_ptr<ServerCertificates> from_files(std::string certificate_file, std::string key_file);
  // From memory (--tls-self-signed): nothing to reload.
  static std::shared_ptr<ServerCertificates> from_identity(ServerIdentity identity);

  // What a new handshake uses. Thread-safe.
  std::shared_ptr<SSL_CTX> context() const;
  ServerIdentity identity() const;

  // Reads the files again: a good pair replaces the current one (logged
  // with its fingerprint); a bad one is refused with a log line and the
  // current one stays. Thread-safe.
  void reload();

 private:
  ServerCertificates(std::string certificate_file, std::string key_file, ServerIdentity identity);

  const std::string certificate_file_, key_file_;  // empty: from memory
  mutable std::mutex mutex_;
  ServerIdentity current_;
};

}  // namespace enchufe::net::tls
