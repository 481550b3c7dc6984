#pragma once
// What `enchufe connect` was asked to do.

#include <chrono>
#include <cstdint>
#include <string>

namespace enchufe::client {

enum class LineEnding { lf, crlf, none };

// `connect --tls`: whom to trust. With neither a CA file, a pin nor
// --insecure: the system's CAs, for a certificate that names the host.
struct TlsOptions {
  bool enabled = false;
  std::string ca_file;      // trust the CAs in this PEM file instead of the system's
  std::string fingerprint;  // trust exactly the certificate with this SHA-256, whoever signed it, whatever it names
  bool insecure = false;    // trust anything (a warning says so)
};

struct ClientOptions {
  std::string host;
  std::uint16_t port = 0;
  LineEnding line_ending = LineEnding::lf;  // TCP only; UDP sends the bare line
  std::string prompt = "Tú: ";              // shown only when stdin is a terminal
  std::string quit_word = "salir";          // sent, then the client leaves
  std::chrono::milliseconds udp_timeout{2000};
  bool verbose = false;                     // status lines even when not interactive
  bool trace = false;                       // narrate each socket operation (--trace)
  std::string path = "/";                   // WebSocket: the request target of ws://HOST:PORT/PATH
  bool deflate = true;                      // WebSocket: offer permessage-deflate
  TlsOptions tls;                           // TCP only
  bool reconnect = false;                   // TCP chat: come back after a drop and resume (chat_resume.hpp)
};

// Each returns the process exit code: 0 ok, 1 on a connection failure.
int run_tcp_client(const ClientOptions& options);
int run_udp_client(const ClientOptions& options);
int run_websocket_client(const ClientOptions& options);

}  // namespace enchufe::client
