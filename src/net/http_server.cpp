#include "net/http_server.hpp"

#include "net/connection.hpp"
#include "net/coroutine.hpp"
#include "net/endpoint.hpp"
#include "net/gathering_socket.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"
#include "net/tls_describe.hpp"
#include "net/websocket_session.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include <atomic>
#include <memory>

namespace enchufe::net {

namespace {

namespace beast = boost::beast;

struct HttpConfig {
  HttpHandler handler;
  HttpOptions options;
  std::optional<WebSocketRoute> websocket;
};

// The path of a request target ("/ws?x=1" -> "/ws"), as the handlers read it.
std::string path_of(std::string_view target) {
  const auto parsed = boost::urls::parse_origin_form(target);
  return parsed ? std::string(parsed->path()) : std::string();
}

// The status a request that could not be read deserves, if it deserves an
// answer at all (a client that went away or timed out gets none).
std::optional<http::status> status_for(const error_code& ec) {
  if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
  if (ec == http::error::unexpected_body || ec == http::error::body_limit) return http::status::payload_too_large;
  // Beast's other parse errors: the client sent something that is not HTTP.
  if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return http::status::bad_request;
  }
  return std::nullopt;
}

// One HTTP client. Like a Connection it is held only by its coroutine and
// lives on one loop; the loop's member list lets shutdown reach it. Its
// bytes cross a GatheringSocket, plain or TLS, which it hands over whole to
// a WebSocket session on an upgrade.
class HttpSession final : public LoopMember, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Loop& loop, GatheringSocket stream, const asio::ip::tcp::endpoint& peer,
              std::shared_ptr<ServerContext> context, ClientSlot slot, std::shared_ptr<const HttpConfig> config)
      : loop_(loop),
        stream_(std::move(stream)),
        peer_(to_string(peer)),
        context_(std::move(context)),
        slot_(std::move(slot)),
        config_(std::move(config)),
        counters_(context_->metrics->loop(loop.index())),
        id_(next_client_id()),
        deadline_(loop.executor()) {
    loop_.members().add(*this);
  }

  ~HttpSession() {
    loop_.members().remove(*this);
    if (!upgraded_) counters_.add(Counter::closed);  // else the WebSocket session counts it
  }

  void start() {
    spawn(loop_.executor(), [self = shared_from_this()] { return self->run(); });
    if (loop_.stopping()) close_for_shutdown();
  }

  // A request not yet whole is not owed an answer (a trickler must not hold
  // the shutdown up): stop reading it. One being answered is finished first,
  // then the connection closes.
  void close_for_shutdown() override {
    stopping_ = true;
    if (awaiting_request_) stream_.cancel_read();
  }

 private:
  asio::awaitable<void> run() {
    log::at(log::Level::debug, context(), "connected {}", peer_);
    error_code ec;
    while (!stopping_) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(config_->options.max_header_bytes));
      expires_after(config_->options.request_timeout);
      awaiting_request_ = true;
      std::tie(ec, std::ignore) = co_await http::async_read(stream_, buffer_, parser, use_tuple);
      awaiting_request_ = false;
      if (ec) {
        if (tls_client_hello()) break;
        if (const auto status = status_for(ec)) co_await refuse(*status, ec);
        break;
      }
      counters_.add(Counter::messages_in);
      HttpRequest request = parser.release();
      HttpResponse response;
      if (config_->websocket &&
          (config_->websocket->path.empty() || path_of(request.target()) == config_->websocket->path)) {
        auto refusal = upgrade(request);
        if (!refusal) {
          deadline_.cancel();
          co_return;  // a WebSocket session owns the connection now
        }
        response = std::move(*refusal);
        response.keep_alive(false);
      } else {
        response = config_->handler(request);
        response.keep_alive(request.keep_alive() && !stopping_);
      }
      if (co_await send(response)) break;
      if (!response.keep_alive()) break;
    }
    co_await lingering_close();
    deadline_.cancel();
    log::at(log::Level::debug, context(), "closed {}: {}", peer_, ec ? ec.message() : "done");
  }

  // Our side is done. If an answer went out, take what the client still
  // sends for a moment (the rest of an oversized request, say) before the
  // close: closing with unread input sends a reset, which can destroy the
  // answer before the client reads it. Not at shutdown: nothing is owed then.
  asio::awaitable<void> lingering_close() {
    expires_after(limits::kLingeringClose);  // also bounds the flush: a client that reads nothing
    co_await stream_.async_flush(use_tuple);
    error_code ec;
    stream_.shutdown_send(ec);
    if (!answered_ || stopping_) co_return;
    while (!ec) {
      buffer_.clear();
      std::tie(ec, std::ignore) = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
    }
  }

  // Bounds what follows (a request, a lingering close): past it the socket
  // closes, which ends the read or flush under way.
  void expires_after(std::chrono::steady_clock::duration timeout) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = weak_from_this()](const error_code& ec) {
      if (ec) return;
      if (const auto session = self.lock()) session->stream_.close();
    });
  }

  // A TLS client on a plaintext port: any answer would be garbage to it, so
  // it gets none, and the operator hears why (as on the line ports).
  bool tls_client_hello() const {
    const auto data = buffer_.cdata();
    if (!tls::looks_like_client_hello({static_cast<const char*>(data.data()), data.size()})) return false;
    log::at(log::Level::info, context("tls_on_plaintext"),
            "{} sent a TLS handshake to a plaintext HTTP port (https:// is on the TLS port); closing", peer_);
    return true;
  }

  // Hands the connection to a WebSocket session; or returns why not.
  std::optional<HttpResponse> upgrade(HttpRequest& request) {
    const auto refuse = [&](http::status status, std::string_view why) {
      log::at(log::Level::info, context(), "WebSocket upgrade from {} refused: {}", peer_, why);
      return http_response(request, status, "text/plain; charset=utf-8", std::string(why) + "\n");
    };
    if (!boost::beast::websocket::is_upgrade(request)) {
      auto response = refuse(http::status::upgrade_required, "this path speaks WebSocket only");
      response.set(http::field::upgrade, "websocket");
      return response;
    }
    // The client must wait for our 101 before it sends frames.
    if (buffer_.size() != 0) return refuse(http::status::bad_request, "data sent before the upgrade completed");
    auto verdict = config_->websocket->accept(request);
    if (auto* refusal = std::get_if<HttpResponse>(&verdict)) return std::move(*refusal);
    upgraded_ = true;
    start_websocket(loop_, std::move(stream_), std::move(request), peer_, context_, std::move(slot_),
                    std::move(std::get<std::unique_ptr<MessageProtocol>>(verdict)), *config_->websocket->options);
    return std::nullopt;
  }

  // Writes a response; true when the write failed.
  asio::awaitable<bool> send(HttpResponse& response) {
    expires_after(config_->options.request_timeout);
    auto [ec, n] = co_await http::async_write(stream_, response, use_tuple);
    answered_ = true;
    counters_.add(Counter::messages_out);
    counters_.add(Counter::bytes_out, n);
    co_return static_cast<bool>(ec);
  }

  asio::awaitable<void> refuse(http::status status, const error_code& why) {
    log::at(log::Level::info, context(), "bad request from {}: {}", peer_, why.message());
    HttpRequest request;  // the one that could not be read: answer as to HTTP/1.1 GET
    HttpResponse response = http_response(request, status, "text/plain; charset=utf-8", why.message() + "\n");
    response.keep_alive(false);
    co_await send(response);
  }

  log::Context context(std::string_view event = {}) const {
    return {.service = context_->name, .connection = id_, .peer = peer_, .event = event};
  }

  Loop& loop_;
  GatheringSocket stream_;
  std::string peer_;
  std::shared_ptr<ServerContext> context_;
  ClientSlot slot_;  // moves to the WebSocket session on an upgrade
  std::shared_ptr<const HttpConfig> config_;
  LoopCounters& counters_;
  std::uint64_t id_;
  Timer deadline_;
  beast::flat_buffer buffer_;
  bool awaiting_request_ = false;
  bool answered_ = false;  // a response went out: linger before closing
  bool upgraded_ = false;  // a WebSocket session took the connection over
  bool stopping_ = false;
};

}  // namespace

Sessions http_sessions(HttpHandler handler, HttpOptions options, std::optional<WebSocketRoute> websocket) {
  auto config = std::make_shared<const HttpConfig>(HttpConfig{std::move(handler), options, std::move(websocket)});
  return Sessions{
      .start =
          [config](Loop& loop, TcpSocket socket, const asio::ip::tcp::endpoint& peer,
                   const std::shared_ptr<ServerContext>& context, ClientSlot slot,
                   std::unique_ptr<Transport> transport) {
            std::make_shared<HttpSession>(loop, GatheringSocket(std::move(socket), std::move(transport)), peer,
                                          context, std::move(slot), config)
                ->start();
          },
      // The sentence as a 503's body: a browser shows it, a script reads it.
      .refusal =
          [](std::string_view sentence) {
            return fmt::format("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: {}\r\nConnection: close\r\n\r\n{}\n",
                               sentence.size() + 1, sentence);
          },
  };
}

Sessions websocket_sessions(std::function<std::unique_ptr<MessageProtocol>()> make_protocol,
                            const WebSocketOptions& options) {
  return http_sessions({}, {},
                       WebSocketRoute{
                           .path = {},
                           .accept = [make_protocol = std::move(make_protocol)](const HttpRequest&)
                               -> std::variant<std::unique_ptr<MessageProtocol>, HttpResponse> {
                             return make_protocol();
                           },
                           .options = std::make_shared<const WebSocketOptions>(options),
                       });
}

HttpResponse http_response(const HttpRequest& request, http::status status, std::string_view content_type,
                           std::string body) {
  HttpResponse response{status, 11};  // our version, whatever the client's (RFC 9110, 6.2)
  response.set(http::field::server, "enchufe");
  response.set(http::field::content_type, content_type);
  const auto length = body.size();
  if (request.method() != http::verb::head) response.body() = std::move(body);
  response.content_length(length);
  return response;
}

}  // namespace enchufe::net
