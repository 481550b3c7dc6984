#include "net/tls_context.hpp"

#include "net/errors.hpp"
#include "net/log.hpp"
#include "net/openssl_owned.hpp"
#include "net/tls_describe.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace enchufe::net::tls {

namespace {

// TLS 1.2 suites with forward secrecy and authenticated encryption only
// (TLS 1.3's are all of that already, and OpenSSL's defaults stand).
constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";
// TLS 1.3's suites, AES-128 first: as safe as AES-256 against anything but a
// quantum computer, and about a third cheaper per byte (bulk transfers).
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";
// Key-exchange groups, fastest first.
constexpr const char* kGroups = "X25519:P-256:P-384";

[[noreturn]] void fail(std::string message) {
  ERR_clear_error();
  throw RuntimeError(std::move(message));
}

std::shared_ptr<SSL_CTX> new_server_context() {
  std::shared_ptr<SSL_CTX> context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!context) fail("cannot create a TLS context: " + take_error());
  SSL_CTX* c = context.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  // A FIN without close_notify ends the stream like close_notify does,
  // instead of failing the session: a client that sends its last line and
  // closes is still owed the reply (as over plain TCP), and every message
  // here is a whole line, so a truncation cannot change one's meaning.
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes and a moving buffer: the connection's queue hands
  // OpenSSL what is at its head, which may sit elsewhere on a retry.
  // Released buffers: an idle connection holds no 34 KiB of record buffers.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read(2) takes every record that has arrived, instead of
  // two per record (header, then body). What it holds shows in SSL_has_pending.
  SSL_CTX_set_read_ahead(c, 1);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 || SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(c, kGroups) != 1) {
    fail("cannot set the TLS ciphers: " + take_error());
  }
  return context;
}

std::string read_file(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(fmt::format("cannot read {} {}: {}", flag, path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void warn_if_key_exposed(const std::string& key_file) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0) return;
  if ((st.st_mode & (S_IRGRP | S_IROTH)) == 0) return;
  log::warn("the TLS key {} is readable by {} (mode {:04o}): anyone who can read it can pose as this server; "
            "chmod 600 {}",
            key_file, (st.st_mode & S_IROTH) != 0 ? "everyone" : "its group", st.st_mode & 07777, key_file);
}

ServerIdentity load(const std::string& certificate_file, const std::string& key_file) {
  const std::string certificate = read_file(certificate_file, "--tls-cert");
  const std::string key = read_file(key_file, "--tls-key");
  return make_server_identity(certificate, key, "--tls-cert " + certificate_file, "--tls-key " + key_file);
}

}  // namespace

ServerIdentity make_server_identity(std::string_view certificate_pem, std::string_view key_pem,
                                    std::string_view certificate_from, std::string_view key_from) {
  auto context = new_server_context();
  SSL_CTX* c = context.get();
  const Bio certificates = memory_bio(certificate_pem);
  const Owned<X509, X509_free> leaf(PEM_read_bio_X509(certificates.get(), nullptr, nullptr, nullptr));
  if (!leaf) fail(fmt::format("{} holds no PEM certificate ({})", certificate_from, take_error()));
  if (SSL_CTX_use_certificate(c, leaf.get()) != 1) {
    fail(fmt::format("{}: unusable certificate: {}", certificate_from, take_error()));
  }
  // Whatever follows the leaf is its chain, in order.
  while (X509* next = PEM_read_bio_X509(certificates.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(c, next) != 1) {
      X509_free(next);
      fail(fmt::format("{}: unusable chain certificate: {}", certificate_from, take_error()));
    }
  }
  ERR_clear_error();  // the end of the chain reads as "no start line"

  const Bio key_text = memory_bio(key_pem);
  const Owned<EVP_PKEY, EVP_PKEY_free> key(PEM_read_bio_PrivateKey(key_text.get(), nullptr, nullptr, nullptr));
  if (!key) fail(fmt::format("{} holds no PEM private key ({})", key_from, take_error()));
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
    fail(fmt::format("{} is not the key of {} ({})", key_from, certificate_from, take_error()));
  }
  return {std::move(context), fingerprint(leaf.get()), subject(leaf.get())};
}

ServerCertificates::ServerCertificates(std::string certificate_file, std::string key_file, ServerIdentity identity)
    : certificate_file_(std::move(certificate_file)), key_file_(std::move(key_file)), current_(std::move(identity)) {}

std::shared_ptr<ServerCertificates> ServerCertificates::from_files(std::string certificate_file, std::string key_file) {
  auto identity = load(certificate_file, key_file);
  warn_if_key_exposed(key_file);
  return std::shared_ptr<ServerCertificates>(
      new ServerCertificates(std::move(certificate_file), std::move(key_file), std::move(identity)));
}

std::shared_ptr<ServerCertificates> ServerCertificates::from_identity(ServerIdentity identity) {
  return std::shared_ptr<ServerCertificates>(new ServerCertificates({}, {}, std::move(identity)));
}

std::shared_ptr<SSL_CTX> ServerCertificates::context() const {
  std::lock_guard lock(mutex_);
  return current_.context;
}

ServerIdentity ServerCertificates::identity() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void ServerCertificates::reload() {
  if (certificate_file_.empty()) {
    log::info("SIGHUP: the certificate was made in memory (--tls-self-signed); nothing to reload");
    return;
  }
  try {
    auto identity = load(certificate_file_, key_file_);
    warn_if_key_exposed(key_file_);
    log::at(log::Level::info, {.event = "tls_reloaded"},
            "SIGHUP: new TLS handshakes use {} ({}, SHA-256 {}); connections already open keep theirs",
            certificate_file_, identity.subject, identity.fingerprint);
    std::lock_guard lock(mutex_);
    current_ = std::move(identity);
  } catch (const RuntimeError& e) {
    log::at(log::Level::warn, {.event = "tls_reload_failed"}, "SIGHUP: {}; keeping the current certificate",
            e.what());
  }
}

}  // namespace enchufe::net::tls
