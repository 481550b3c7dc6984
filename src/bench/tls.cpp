#include "bench/tls.hpp"

#include "net/errors.hpp"
#include "net/tls_describe.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace enchufe::bench {

namespace {

// The name every connection sends as SNI: the one a --tls-self-signed
// certificate is made for.
constexpr const char* kServerName = "localhost";

// Replaces OpenSSL's chain verification: with SSL_VERIFY_NONE its result
// is ignored but still computed, and building and checking a chain (with a
// signature check per CA) is the client's cost, not the server's.
int accept_any_chain(X509_STORE_CTX*, void*) { return 1; }

std::unique_ptr<asio::ssl::context> client_context() {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* c = context->native_handle();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) {
    throw RuntimeError("cannot set up a TLS client context: " + net::tls::take_error());
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_cert_verify_callback(c, accept_any_chain, nullptr);
  // No resumption: nothing kept, and no session is ever offered again.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // One pass over what arrived instead of a record header, then its body.
  SSL_CTX_set_read_ahead(c, 1);
  return context;
}

}  // namespace

TlsContexts::TlsContexts(std::size_t workers) {
  for (std::size_t i = 0; i < workers; ++i) contexts_.push_back(client_context());
}

asio::awaitable<error_code> tls_handshake(TlsStream& stream) {
  // Asio asks OpenSSL to release a connection's record buffers whenever it
  // is idle, which a bench connection is after every reply: an allocation
  // per read and per write. Kept instead.
  SSL_clear_mode(stream.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  if (SSL_set_tlsext_host_name(stream.native_handle(), kServerName) != 1) {
    co_return error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category());
  }
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, net::use_tuple);
  co_return ec;
}

std::string tls_agreed(TlsStream& stream) { return net::tls::version_and_cipher(stream.native_handle()); }

void report_tls(Report& r, const Engine& engine) {
  const std::string agreed = engine.tls_agreed();
  r.add("tls", agreed.empty() ? std::string("no handshake completed") : agreed, "TLS",
        fmt::format("{} (SNI {}, certificate not verified)", agreed.empty() ? "no handshake completed" : agreed,
                    kServerName));
}

}  // namespace enchufe::bench
