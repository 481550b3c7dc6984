#pragma once
// A TLS client for the fault suite: OpenSSL on memory BIOs, its bytes
// carried by a TcpClient, so a case can stop after any flight, put any bytes
// on the wire and see every byte the server sent. Shared by tls_test.cpp
// (the TLS line ports) and web_tls_test.cpp (https:// and wss://).

#include "fault_support.hpp"

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::test::faults {

// The oldest error OpenSSL queued, as text (the queue is then cleared).
std::string openssl_error();

// The test's client context: any certificate is taken (the server makes its
// own at start; these cases are about what it does with bytes, not trust).
SSL_CTX* client_context();

// What is left until `deadline`, at least 1 ms.
Duration left_until(Clock::time_point deadline);

// How the server names a client in its log: "127.0.0.1:PORT".
std::string peer(std::uint16_t client_port);

class TlsClient {
 public:
  // `tcp` may be unconnected (TcpClient{}) to only make bytes (first_flight).
  explicit TlsClient(TcpClient tcp);
  static TlsClient connect(std::uint16_t port) { return TlsClient(TcpClient::connect("127.0.0.1", port)); }
  // The same without throwing: nothing, and why in `error`, if the connect failed.
  static std::optional<TlsClient> try_connect(std::uint16_t port, std::string& error);

  TcpClient& tcp() { return tcp_; }
  std::uint16_t local_port() const { return tcp_.local_port(); }
  // Every byte the server sent, as it came off the wire.
  const std::string& received() const { return received_; }
  // Why the last read ended in a TLS error (ReadEnd::error, EPROTO).
  const std::string& tls_error() const { return tls_error_; }

  // The client's first flight (the ClientHello), not sent.
  std::string first_flight();

  // The whole handshake within `timeout`: "" once done, else why not.
  std::string handshake(Duration timeout);

  // `text` as TLS records, not sent (once the handshake is done).
  std::string seal(std::string_view text);
  bool send(std::string_view text) { return tcp_.send_all(seal(text), kIo); }

  // Decrypted text up to and including `delimiter`.
  ReadResult recv_until(std::string_view delimiter, Duration timeout);
  // Exactly `n` decrypted bytes.
  ReadResult recv_exact(std::size_t n, Duration timeout);
  // Decrypted text until the server ends the session (close_notify or
  // FIN): complete() once it has.
  ReadResult recv_until_end(Duration timeout);

  // Our close_notify alert, not sent.
  std::string close_notify();

  // close_notify, then close.
  void close();

 private:
  // How much of the decrypted text to return; npos: not yet.
  using Take = std::function<std::size_t(const std::string&)>;

  std::string take_output();
  // The next bytes from the server, handed to OpenSSL.
  ReadResult feed(Clock::time_point deadline);
  // Decrypts until `take(plain_)` says how much to return, the session
  // ends (eof), or the deadline.
  ReadResult read(Duration timeout, const Take& take);

  TcpClient tcp_;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_;
  BIO* in_ = nullptr;   // from the server; owned by ssl_
  BIO* out_ = nullptr;  // to the server; owned by ssl_
  std::string plain_;   // decrypted, not yet returned
  std::string received_;
  std::string tls_error_;
};

// Connections to `port` that stall a handshake: the odd ones send the first
// half of a real ClientHello, the even ones nothing. The time each connected
// goes to *connected.
std::vector<TcpClient> stall_handshakes(std::uint16_t port, std::size_t n,
                                        std::vector<Clock::time_point>* connected = nullptr);

// `n` connections stall their handshake on `port` (stall_handshakes) while
// `steady` keeps being served; then each is closed without a word at the
// --tls-handshake-timeout of 2 s the server was started with, not before,
// and logged with its address. The stalled connections are closed after.
void expect_stalled_handshakes_cut(FaultServer& server, std::uint16_t port, Steady& steady, std::size_t n);

// SIGTERM while `stalled` handshakes are pending: the server exits 0 within
// 2 s, logs each as ended by the shutdown, and closes each without a word.
void expect_sigterm_ends_stalled_handshakes(FaultServer& server, std::vector<TcpClient>& stalled);

}  // namespace enchufe::test::faults
