#pragma once
// TLS for `enchufe connect --tls`: the trust the user chose (the system's
// CAs, --ca FILE, a pinned --fingerprint, or --insecure) set on a context,
// the handshake over a socket dial() connected, and the one line that says
// why it failed.

#include "client/console.hpp"
#include "client/options.hpp"

#include "net/asio.hpp"
#include "net/runtime.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace enchufe::client {

using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

// TLS 1.2 or newer, trusting what `tls` says. Throws RuntimeError when the
// --ca file cannot be loaded.
asio::ssl::context tls_context(const TlsOptions& tls);

// SNI, the name (or address) the certificate must carry, the handshake (at
// most 10 s) and, under --trace, the version, cipher and certificate agreed.
// False after one line saying why it failed.
asio::awaitable<bool> tls_handshake(TlsStream& stream, const ClientOptions& options, Console& console);

// Our close_notify, without waiting for the server's: sending is over, the
// replies may still come.
asio::awaitable<error_code> send_close_notify(TlsStream& stream);

// Runs a client over a plain socket, or over TLS when the options ask for
// it: Client<tcp::socket>(context, options) or Client<TlsStream>(context,
// options, tls_context), then its run(), whose exit code it returns.
template <template <typename> class Client>
int run_over_tcp_or_tls(const ClientOptions& options) {
  net::ignore_sigpipe();
  asio::io_context context;
  if (!options.tls.enabled) return Client<asio::ip::tcp::socket>(context, options).run();
  asio::ssl::context tls = tls_context(options.tls);
  return Client<TlsStream>(context, options, tls).run();
}

}  // namespace enchufe::client
