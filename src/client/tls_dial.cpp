#include "client/tls_dial.hpp"

#include "net/coroutine.hpp"
#include "net/errors.hpp"
#include "net/openssl_owned.hpp"
#include "net/tls_describe.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>
#include <system_error>

namespace enchufe::client {

namespace {

namespace tls = net::tls;
using namespace asio::experimental::awaitable_operators;

// A server that accepts and never answers would hold the client forever.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

bool is_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// OpenSSL's reason alone ("wrong version number"), without the library name
// Asio appends; errno's words for a system error.
std::string reason(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return ec.message();
  const unsigned long code = static_cast<unsigned int>(ec.value());
  if (ERR_SYSTEM_ERROR(code)) return std::system_category().message(ERR_GET_REASON(code));
  const char* text = ERR_reason_error_string(code);
  return text != nullptr ? text : ec.message();
}

bool has_reason(const error_code& ec, int reason) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned int>(ec.value())) == reason;
}

// What a plaintext server's first bytes look like to a record parser:
// neither a TLS content type nor version, or an absurd record length.
bool answered_in_plaintext(const error_code& ec) {
  return has_reason(ec, SSL_R_WRONG_VERSION_NUMBER) || has_reason(ec, SSL_R_PACKET_LENGTH_TOO_LONG);
}

std::string trusted(const TlsOptions& tls) {
  if (tls.insecure) return "nothing (--insecure)";
  if (!tls.fingerprint.empty()) return "the pinned fingerprint only";
  return tls.ca_file.empty() ? "the system's CAs" : fmt::format("the CAs in {}", tls.ca_file);
}

// Whom a certificate is for: its subject, then its alternative names as
// OpenSSL prints them ("DNS:localhost, IP Address:127.0.0.1").
std::string names(X509* certificate) {
  std::string out = tls::subject(certificate);
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  const tls::Bio bio(BIO_new(BIO_s_mem()));
  for (int i = 0; bio && i < sk_GENERAL_NAME_num(sans); ++i) {
    BIO_puts(bio.get(), ", ");
    GENERAL_NAME_print(bio.get(), sk_GENERAL_NAME_value(sans, i));
  }
  GENERAL_NAMES_free(sans);
  return out + tls::memory_text(bio.get());
}

// What the verify callback saw: the server's own certificate, and whether
// it missed the pin.
struct Verification {
  tls::Owned<X509, X509_free> leaf;
  bool pin_missed = false;
};

// OpenSSL's verdict on the chain, or for a pin, the pin's alone: a pinned
// certificate is trusted for what it is, self-signed or not, whatever
// host it names.
bool verify(const TlsOptions& tls, Verification& seen, bool preverified, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return preverified || !tls.fingerprint.empty();
  X509* certificate = X509_STORE_CTX_get_current_cert(store);
  if (!seen.leaf && X509_up_ref(certificate) == 1) seen.leaf.reset(certificate);
  if (tls.fingerprint.empty()) return preverified;
  if (tls::same_fingerprint(tls.fingerprint, tls::fingerprint(certificate))) return true;
  seen.pin_missed = true;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return false;
}

std::string untrusted(long result, X509* leaf, const std::string& host) {
  switch (result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return fmt::format("it is for {}, not {}", leaf != nullptr ? names(leaf) : "another name", host);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return fmt::format("{} (use --ca FILE or --fingerprint SHA256 to trust it)",
                         X509_verify_cert_error_string(result));
    default: return X509_verify_cert_error_string(result);
  }
}

std::string failure(const error_code& ec, TlsStream& stream, const ClientOptions& options, const Verification& seen) {
  if (has_reason(ec, SSL_R_CERTIFICATE_VERIFY_FAILED)) {
    X509* leaf = seen.leaf ? seen.leaf.get() : SSL_get0_peer_certificate(stream.native_handle());
    if (seen.pin_missed) {
      return fmt::format("TLS: certificate fingerprint mismatch: got {}, expected {}", tls::fingerprint(leaf),
                         options.tls.fingerprint);
    }
    return "TLS: certificate not trusted: " +
           untrusted(SSL_get_verify_result(stream.native_handle()), leaf, options.host);
  }
  if (answered_in_plaintext(ec)) {
    return fmt::format("TLS: {}:{} does not speak TLS (it answered in plaintext)", options.host, options.port);
  }
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof) {
    return "TLS handshake failed: the server closed the connection";
  }
  return fmt::format("TLS handshake failed: {}", reason(ec));
}

}  // namespace

asio::ssl::context tls_context(const TlsOptions& tls) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.set_verify_mode(tls.insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
  // A pin needs no CA, and --insecure trusts none.
  if (tls.insecure || !tls.fingerprint.empty()) return context;
  error_code ec;
  if (tls.ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    context.load_verify_file(tls.ca_file, ec);
  }
  if (ec) {
    throw RuntimeError(tls.ca_file.empty() ? fmt::format("TLS: cannot load the system's CAs: {}", reason(ec))
                                           : fmt::format("TLS: cannot load --ca {}: {}", tls.ca_file, reason(ec)));
  }
  return context;
}

asio::awaitable<bool> tls_handshake(TlsStream& stream, const ClientOptions& options, Console& console) {
  const TlsOptions& tls = options.tls;
  SSL* ssl = stream.native_handle();
  const bool address = is_address(options.host);
  // SNI tells a server with many certificates which one we want; an
  // address is not a name, so none is sent for one (RFC 6066).
  if (!address) SSL_set_tlsext_host_name(ssl, options.host.c_str());
  if (tls.insecure) {
    console.notice("warning: --insecure: the server's certificate is not checked; "
                   "anyone on the path could read and change this connection");
  } else if (tls.fingerprint.empty()) {
    // Trusted CAs sign certificates for any host: it must name this one.
    if (address) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), options.host.c_str());
    } else {
      SSL_set1_host(ssl, options.host.c_str());
    }
  }
  // Shared with the callback, which the stream keeps (a TLS 1.2 server may
  // renegotiate, and verify again, after this coroutine is over).
  const auto seen = std::make_shared<Verification>();
  stream.set_verify_callback([&tls, seen](bool preverified, asio::ssl::verify_context& context) {
    return verify(tls, *seen, preverified, context.native_handle());
  });
  if (options.trace) {
    trace(console, "tls handshake", "ClientHello, TLS 1.2 or newer, {}; trusting {}",
          address ? "no SNI (an address is not a name)" : fmt::format("SNI {}", options.host), trusted(tls));
  }

  asio::steady_timer timer(stream.get_executor(), kHandshakeTimeout);
  auto result = co_await (stream.async_handshake(asio::ssl::stream_base::client, net::use_tuple) ||
                          timer.async_wait(net::use_tuple));
  if (result.index() == 1) {
    console.notice(fmt::format("TLS handshake timed out: {}:{} accepted the connection but said nothing for {} s",
                               options.host, options.port, kHandshakeTimeout.count()));
    co_return false;
  }
  if (auto [ec] = std::get<0>(result); ec) {
    console.notice(failure(ec, stream, options, *seen));
    co_return false;
  }
  if (options.trace) {
    X509* certificate = SSL_get0_peer_certificate(ssl);
    trace(console, "tls established", "{}", tls::version_and_cipher(ssl));
    trace(console, "tls certificate", "{}, SHA-256 {}; {}", tls::subject(certificate),
          tls::fingerprint(certificate),
          tls.insecure                ? "not verified (--insecure)"
          : !tls.fingerprint.empty()  ? "matches the pinned fingerprint"
                                      : fmt::format("verified: signed by {}, for {}", trusted(tls), options.host));
  }
  co_return true;
}

// Asio's async_shutdown sends our close_notify, then waits for the server's
// and throws away the data that comes before it: the replies to our last
// lines. A client done sending must keep reading (TLS 1.3 allows that
// half-close, and servers that close at once lose nothing). So for the one
// call the session pretends the server's close_notify came already:
// SSL_shutdown then only writes ours. The flag is put back as soon as the
// call has started that write, before the read loop's SSL_read can run.
asio::awaitable<error_code> send_close_notify(TlsStream& stream) {
  auto [ec] = co_await asio::async_initiate<decltype(net::use_tuple), void(error_code)>(
      [&stream](auto handler) {
        SSL* ssl = stream.native_handle();
        SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
        stream.async_shutdown(std::move(handler));
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN);
      },
      net::use_tuple);
  co_return ec;
}

}  // namespace enchufe::client
