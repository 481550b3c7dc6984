#pragma once
// TLS in front of a line service: each accepted client first completes a
// TLS handshake (bounded by a timeout, refused with one log line when it
// speaks plaintext or garbage), then becomes an ordinary Connection whose
// bytes go through TLS. The Protocol never knows.

#include "net/limits.hpp"
#include "net/tcp_server.hpp"
#include "net/tls_context.hpp"

#include <chrono>
#include <memory>

namespace enchufe::net {

struct TlsSessionOptions {
  std::chrono::milliseconds handshake_timeout = limits::kTlsHandshakeTimeout;
};

Sessions tls_line_sessions(std::shared_ptr<tls::ServerCertificates> certificates, TlsSessionOptions options = {});

}  // namespace enchufe::net
