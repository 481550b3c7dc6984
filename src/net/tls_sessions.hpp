#pragma once
// TLS in front of any TCP service: each accepted client first completes a
// TLS handshake (bounded by a timeout, refused with one log line when it
// speaks plaintext or garbage), then runs as the service's own sessions say
// (a line Connection, an HTTP session), its bytes going through TLS. The
// Protocol never knows.

#include "net/limits.hpp"
#include "net/tcp_server.hpp"
#include "net/tls_context.hpp"

#include <chrono>
#include <memory>

namespace enchufe::net {

struct TlsSessionOptions {
  std::chrono::milliseconds handshake_timeout = limits::kTlsHandshakeTimeout;
};

// `then`'s sessions behind a TLS handshake with `certificates`.
Sessions tls_sessions(std::shared_ptr<tls::ServerCertificates> certificates, TlsSessionOptions options,
                      Sessions then);

}  // namespace enchufe::net
