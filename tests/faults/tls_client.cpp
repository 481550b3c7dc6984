#include "tls_client.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace enchufe::test::faults {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error queued";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

SSL_CTX* client_context() {
  static const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context = [] {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> c(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!c) throw std::runtime_error("SSL_CTX_new: " + openssl_error());
    SSL_CTX_set_verify(c.get(), SSL_VERIFY_NONE, nullptr);
    return c;
  }();
  return context.get();
}

Duration left_until(Clock::time_point deadline) {
  return std::max(Duration(1), std::chrono::duration_cast<Duration>(deadline - Clock::now()));
}

std::string peer(std::uint16_t client_port) { return "127.0.0.1:" + std::to_string(client_port); }

// ---- TlsClient ---------------------------------------------------------------------

TlsClient::TlsClient(TcpClient tcp) : tcp_(std::move(tcp)), ssl_(SSL_new(client_context()), SSL_free) {
  if (!ssl_) throw std::runtime_error("SSL_new: " + openssl_error());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_.get(), in_, out_);  // the SSL owns both
  SSL_set_connect_state(ssl_.get());
}

std::string TlsClient::first_flight() {
  SSL_do_handshake(ssl_.get());
  return take_output();
}

std::string TlsClient::handshake(Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_.get());
    const int error = SSL_get_error(ssl_.get(), result);
    const std::string why = result == 1 || error == SSL_ERROR_WANT_READ ? "" : openssl_error();
    // An alert we raise goes out too.
    if (const auto out = take_output(); !out.empty() && !tcp_.send_all(out, left_until(deadline))) {
      return "cannot send: " + std::string(std::strerror(tcp_.last_error()));
    }
    if (result == 1) return {};
    if (error != SSL_ERROR_WANT_READ) return "TLS: " + why;
    if (const auto r = feed(deadline); !r.complete()) return "the server's next flight did not come: " + r.describe();
  }
}

std::string TlsClient::seal(std::string_view text) {
  std::size_t written = 0;
  if (SSL_write_ex(ssl_.get(), text.data(), text.size(), &written) != 1 || written != text.size()) {
    throw std::runtime_error("SSL_write: " + openssl_error());
  }
  return take_output();
}

ReadResult TlsClient::recv_until(std::string_view delimiter, Duration timeout) {
  return read(timeout, [delimiter](const std::string& s) {
    const auto at = s.find(delimiter);
    return at == std::string::npos ? at : at + delimiter.size();
  });
}

ReadResult TlsClient::recv_exact(std::size_t n, Duration timeout) {
  return read(timeout, [n](const std::string& s) { return s.size() >= n ? n : std::string::npos; });
}

ReadResult TlsClient::recv_until_end(Duration timeout) {
  auto r = read(timeout, [](const std::string&) { return std::string::npos; });
  if (r.end == ReadEnd::eof) r.end = ReadEnd::complete;
  return r;
}

std::string TlsClient::close_notify() {
  SSL_shutdown(ssl_.get());
  return take_output();
}

void TlsClient::close() {
  tcp_.send_all(close_notify(), 100ms);
  tcp_.close();
}

std::string TlsClient::take_output() {
  std::string out(BIO_ctrl_pending(out_), '\0');
  if (!out.empty()) BIO_read(out_, out.data(), static_cast<int>(out.size()));
  return out;
}

ReadResult TlsClient::feed(Clock::time_point deadline) {
  auto r = tcp_.recv_some(left_until(deadline));
  if (r.complete()) {
    received_ += r.data;
    BIO_write(in_, r.data.data(), static_cast<int>(r.data.size()));
  }
  return r;
}

ReadResult TlsClient::read(Duration timeout, const Take& take) {
  const auto deadline = Clock::now() + timeout;
  ReadResult r;
  tls_error_.clear();
  for (;;) {
    if (const auto taken = take(plain_); taken != std::string::npos) {
      r.end = ReadEnd::complete;
      r.data = plain_.substr(0, taken);
      plain_.erase(0, taken);
      return r;
    }
    char buffer[16 * 1024];
    std::size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_.get(), buffer, sizeof buffer, &n) == 1) {
      plain_.append(buffer, n);
      continue;
    }
    const int error = SSL_get_error(ssl_.get(), 0);
    if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify
      r.end = ReadEnd::eof;
      break;
    }
    if (error != SSL_ERROR_WANT_READ) {
      r.end = ReadEnd::error;
      r.error = EPROTO;
      tls_error_ = openssl_error();
      break;
    }
    if (const auto got = feed(deadline); !got.complete()) {
      r.end = got.end;
      r.error = got.error;
      break;
    }
  }
  r.data = std::exchange(plain_, {});
  return r;
}

// ---- stalled handshakes ------------------------------------------------------------

std::vector<TcpClient> stall_handshakes(std::uint16_t port, std::size_t n, std::vector<Clock::time_point>* connected) {
  const std::string hello = TlsClient(TcpClient{}).first_flight();
  std::vector<TcpClient> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(TcpClient::connect("127.0.0.1", port));
    if (connected) connected->push_back(Clock::now());
    if (i % 2 == 1 && !out.back().send_all(std::string_view(hello).substr(0, hello.size() / 2))) {
      throw std::runtime_error("cannot send half a ClientHello: " +
                               std::string(std::strerror(out.back().last_error())));
    }
  }
  return out;
}

void expect_stalled_handshakes_cut(FaultServer& server, std::uint16_t port, Steady& steady, std::size_t n) {
  std::vector<Clock::time_point> connected;
  auto stalled = stall_handshakes(port, n, &connected);
  ASSERT_TRUE(steady.wait_rounds(5, kIo)) << "no new handshake while " << n << " stall\n" << server.diagnostics();

  std::size_t cut = 0, early = 0;
  std::string example;
  const auto deadline = connected.back() + 2000ms + kIo;
  for (std::size_t i = 0; i < stalled.size(); ++i) {
    const auto r = stalled[i].recv_until_eof(left_until(deadline));
    // A timer never fires early: a close seen before the timeout had
    // passed since connect (less slack for the accept) came from elsewhere.
    if (Clock::now() < connected[i] + 1900ms) ++early;
    if (r.complete() && r.data.empty()) {
      ++cut;
    } else if (example.empty()) {
      example = r.describe();
    }
  }
  EXPECT_EQ(cut, n) << "closed without a word; e.g. " << example << "\n" << server.diagnostics();
  EXPECT_EQ(early, 0u) << "closed before --tls-handshake-timeout";
  ASSERT_TRUE(server.wait_stderr_count("no TLS handshake within 2 s (--tls-handshake-timeout)", n, kIo))
      << server.diagnostics();
  const std::string log = server.process().stderr_text();
  std::size_t logged = 0;
  for (const auto& s : stalled) {
    if (log.find(peer(s.local_port()) + ": no TLS handshake within 2 s") != std::string::npos) ++logged;
  }
  EXPECT_EQ(logged, n) << "a timeout line for each, with its address";
}

void expect_sigterm_ends_stalled_handshakes(FaultServer& server, std::vector<TcpClient>& stalled) {
  ASSERT_TRUE(server.process().send_signal(SIGTERM));
  const auto signalled = Clock::now();
  const auto status = server.process().wait_exit(3000ms);
  const auto took = std::chrono::duration_cast<Duration>(Clock::now() - signalled);
  report_figure("shutdown", "exited " + std::to_string(took.count()) + " ms after SIGTERM");
  ASSERT_TRUE(status) << "still running 3 s after SIGTERM\n" << server.diagnostics();
  EXPECT_TRUE(status->is_exit_code(0)) << server.diagnostics();
  EXPECT_LE(took, 2000ms) << server.diagnostics();
  EXPECT_EQ(server.stderr_count("server shutting down during the TLS handshake"), stalled.size())
      << server.diagnostics();
  std::size_t closed = 0;
  for (auto& s : stalled) {
    const auto r = s.recv_until_eof(kIo);
    if ((r.complete() || r.end == ReadEnd::error) && r.data.empty()) ++closed;
  }
  EXPECT_EQ(closed, stalled.size());
}

std::optional<TlsClient> TlsClient::try_connect(std::uint16_t port, std::string& error) {
  int e = 0;
  auto tcp = TcpClient::try_connect("127.0.0.1", port, kIo, &e);
  if (!tcp) {
    error = "connect failed: " + std::string(std::strerror(e));
    return std::nullopt;
  }
  return TlsClient(std::move(*tcp));
}

}  // namespace enchufe::test::faults
