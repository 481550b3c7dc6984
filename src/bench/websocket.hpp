#pragma once
// The pieces the bench's WebSocket clients (`fanout --ws`, `echo --ws`) are
// made of, so that they cost no more per message than Beast and Boost.JSON
// themselves do:
//
//  - StampedSocket: the TCP socket under Beast's websocket::stream: larger
//    reads than Beast's own, each timed, so that every message Beast takes
//    out of one read is timed from the same instant as the TCP mode times
//    the lines of one read; and, for `echo --ws`, writes gathered so that a
//    pipeline of messages leaves in one write(2).
//  - WsStream and its set-up: the options every client sets, the upgrade
//    and how it failed, the close frame's reason.
//  - ChatEventParser (`fanout --ws`): a Boost.JSON SAX handler that keeps just the top-level
//    `type`, `nick`, `text` and `room` of an event (whatever is nested, such
//    as a `joined` event's history, is parsed and skipped). No DOM, and no
//    allocation once its strings have grown to the longest value seen.

#include "bench/engine.hpp"

#include "net/asio.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enchufe::bench {

// ---- the stream under websocket::stream ----------------------------------------

// Beast reads a socket at most 1,536 bytes at a time (its frame-header
// buffer) when messages are small; this layer reads up to its own buffer's
// size (16 KiB, like a TCP mode connection) and hands Beast the bytes from
// there, so a backlog of small messages costs one system call per 16 KiB
// rather than one per 1.5. It also notes when each read from the socket
// completed and how many bytes it brought: every message Beast takes out of
// those bytes is timed from that instant, as the lines of one read are in
// the TCP mode.
class StampedSocket {
 public:
  using executor_type = Executor;

  StampedSocket(Executor ex, std::uint64_t& bytes_in, std::size_t buffer = 16 * 1024)
      : socket_(ex), bytes_in_(bytes_in), data_(buffer) {}

  TcpSocket& socket() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  // When the last read from the socket completed (now_ns()).
  std::uint64_t arrived() const { return arrived_; }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(ReadOp<Buffers>{*this, buffers}, token);
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(WriteOp<Buffers>{*this, buffers}, token);
  }

  // From now on, what Beast writes (each message framed and masked) is
  // appended to `*into` instead of sent: the caller sends it, so that a
  // pipeline of messages leaves in one write(2) as the TCP mode's requests
  // do, instead of one system call (and, with TCP_NODELAY, one segment) per
  // message. Whatever Beast writes by itself (a pong) leaves with the next
  // batch. nullptr: write through again.
  void gather(std::string* into) { gathered_ = into; }

 private:
  // From the buffer when it holds something (completing through the
  // executor's queue, as an asynchronous operation must), else from the
  // socket into the buffer. async_compose keeps the caller's (Beast's)
  // allocator and executor for the socket's operation.
  template <typename Buffers>
  struct ReadOp {
    StampedSocket& s;
    Buffers buffers;
    bool posted = false;

    template <typename Self>
    void operator()(Self& self) {
      if (s.begin_ == s.end_) {
        s.socket_.async_read_some(asio::buffer(s.data_), std::move(self));
      } else if (!posted) {
        posted = true;
        asio::post(s.socket_.get_executor(), std::move(self));
      } else {
        self.complete(error_code{}, s.take(buffers));
      }
    }
    template <typename Self>
    void operator()(Self& self, error_code ec, std::size_t n) {
      if (n == 0) {
        self.complete(ec, 0);
        return;
      }
      s.arrived_ = now_ns();
      s.bytes_in_ += n;
      s.begin_ = 0;
      s.end_ = n;
      self.complete(error_code{}, s.take(buffers));
    }
  };

  // To the socket, or (gathering) into the caller's buffer, completing
  // through the executor's queue.
  template <typename Buffers>
  struct WriteOp {
    StampedSocket& s;
    Buffers buffers;

    template <typename Self>
    void operator()(Self& self) {
      if (s.gathered_ == nullptr) {
        s.socket_.async_write_some(buffers, std::move(self));
        return;
      }
      std::size_t n = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
        const asio::const_buffer b(*it);
        s.gathered_->append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      asio::post(s.socket_.get_executor(), asio::append(std::move(self), error_code{}, n));
    }
    template <typename Self>
    void operator()(Self& self, error_code ec, std::size_t n) {
      self.complete(ec, n);
    }
  };

  template <typename Buffers>
  std::size_t take(const Buffers& buffers) {
    const std::size_t n = asio::buffer_copy(buffers, asio::buffer(data_.data() + begin_, end_ - begin_));
    begin_ += n;
    return n;
  }

  TcpSocket socket_;
  std::uint64_t& bytes_in_;
  std::uint64_t arrived_ = 0;
  std::vector<char> data_;
  std::size_t begin_ = 0, end_ = 0;  // what data_ holds that Beast has not taken
  std::string* gathered_ = nullptr;
};

// How Beast closes the connection under a websocket::stream<StampedSocket>
// (found by argument-dependent lookup): as for a plain TCP socket.
inline void beast_close_socket(StampedSocket& s) {
  error_code ignored;
  s.socket().close(ignored);
}

inline void teardown(boost::beast::role_type role, StampedSocket& s, error_code& ec) {
  boost::beast::websocket::teardown(role, s.socket(), ec);
}

template <typename TeardownHandler>
void async_teardown(boost::beast::role_type role, StampedSocket& s, TeardownHandler&& handler) {
  boost::beast::websocket::async_teardown(role, s.socket(), std::forward<TeardownHandler>(handler));
}

// ---- the client -------------------------------------------------------------

using WsStream = boost::beast::websocket::stream<StampedSocket>;

// What every bench client sets on its stream. Messages go whole (one frame
// each, as the servers it loads send theirs), masks come from Beast's fast
// generator (the masks of a load generator's frames guard nothing), and
// there are no Beast timeouts (its default for a client): the set-up is
// bounded by the engine, and a timer left armed would hold the loop at the
// end. `deflate`: offer permessage-deflate (Beast's defaults: 15-bit
// windows, context takeover both ways).
inline void configure_client(WsStream& ws, std::size_t max_message, bool deflate = false) {
  namespace websocket = boost::beast::websocket;
  ws.read_message_max(max_message);
  ws.auto_fragment(false);
  ws.secure_prng(false);
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
    request.set(boost::beast::http::field::user_agent, "enchufe-bench");
  }));
  if (deflate) {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    ws.set_option(pmd);
  }
}

// The upgrade to ws://HOST/PATH on a connected stream, the server's answer
// in `response`. Empty when it worked, else what went wrong, for the report:
// the HTTP status of a refusal, and `not_http` (which port to use instead)
// when what answered was not HTTP at all.
inline asio::awaitable<std::string> upgrade(WsStream& ws, const std::string& host, const std::string& path,
                                           boost::beast::websocket::response_type& response,
                                           std::string_view not_http) {
  namespace beast = boost::beast;
  auto [ec] = co_await ws.async_handshake(response, host, path, net::use_tuple);
  if (!ec) co_return std::string();
  if (ec == beast::websocket::error::upgrade_declined) {
    co_return fmt::format("WebSocket upgrade refused: HTTP {} {}", response.result_int(),
                          std::string_view(response.reason()));
  }
  const bool http = ec.category() != beast::http::make_error_code(beast::http::error::bad_version).category();
  co_return fmt::format("WebSocket upgrade: {}{}", ec.message(), http ? "" : fmt::format(" ({})", not_http));
}

// Whether the server's answer to the upgrade accepted permessage-deflate.
inline bool deflate_accepted(const boost::beast::websocket::response_type& response) {
  const auto extensions = response[boost::beast::http::field::sec_websocket_extensions];
  return std::string_view(extensions.data(), extensions.size()).find("permessage-deflate") != std::string_view::npos;
}

// " (close 1001: going away)" from the close frame the server sent, or empty.
inline std::string close_reason(const WsStream& ws) {
  const auto& reason = ws.reason();
  if (reason.code == boost::beast::websocket::close_code::none) return {};
  return fmt::format(" (close {}{}{})", static_cast<unsigned>(reason.code), reason.reason.empty() ? "" : ": ",
                     std::string_view(reason.reason.data(), reason.reason.size()));
}

// ---- the events ---------------------------------------------------------------

struct ChatEvent {
  enum class Type { other, welcome, nick, joined, message, error, info };
  Type type = Type::other;
  // Top-level fields as received (unescaped); empty when absent.
  std::string nick, text, room;
};

// Keeps the top-level "type", "nick", "text" and "room" of one event. A
// `message` event stops the parse as soon as it has its type, nick and text
// (the chat and the Node.js peer send them first; the timestamp after them
// is not needed).
class ChatEventHandler {
 public:
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);

  using sv = boost::json::string_view;

  ChatEvent event;

  bool on_document_begin(error_code&) {
    event.type = ChatEvent::Type::other;
    event.nick.clear();
    event.text.clear();
    event.room.clear();
    type_.clear();
    key_.clear();
    depth_ = 0;
    want_ = none;
    seen_ = 0;
    top_object_ = stopped_ = false;
    return true;
  }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return enter(false); }
  bool on_array_end(std::size_t, error_code&) { return leave(); }
  bool on_object_begin(error_code&) { return enter(true); }
  bool on_object_end(std::size_t, error_code&) { return leave(); }
  bool on_string_part(sv s, std::size_t, error_code&) {
    if (want_ != none && depth_ == 1) field(want_).append(s.data(), s.size());
    return true;
  }
  bool on_string(sv s, std::size_t, error_code&) {
    if (want_ == none || depth_ != 1) return true;
    field(want_).append(s.data(), s.size());
    seen_ |= want_;
    if (want_ == type) event.type = type_of(type_);
    want_ = none;
    // All a delivery needs: stop here (parse() knows it from stopped()).
    constexpr unsigned delivery = type | nick | text;
    if (event.type == ChatEvent::Type::message && (seen_ & delivery) == delivery) {
      stopped_ = true;
      return false;
    }
    return true;
  }
  bool on_key_part(sv s, std::size_t, error_code&) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(sv s, std::size_t, error_code&) {
    want_ = none;
    if (depth_ != 1) return true;
    std::string_view key(s.data(), s.size());
    if (!key_.empty()) key = key_.append(key);  // a key with escapes, in parts
    if (key.size() == 4) {
      want_ = key == "type" ? type : key == "nick" ? nick : key == "text" ? text : key == "room" ? room : none;
    }
    key_.clear();
    return true;
  }
  bool on_number_part(sv, error_code&) { return true; }
  bool on_int64(std::int64_t, sv, error_code&) { return scalar(); }
  bool on_uint64(std::uint64_t, sv, error_code&) { return scalar(); }
  bool on_double(double, sv, error_code&) { return scalar(); }
  bool on_bool(bool, error_code&) { return scalar(); }
  bool on_null(error_code&) { return scalar(); }
  bool on_comment_part(sv, error_code&) { return true; }
  bool on_comment(sv, error_code&) { return true; }

  bool stopped() const { return stopped_; }
  bool was_object() const { return top_object_; }

 private:
  enum : unsigned { none = 0, type = 1, nick = 2, text = 4, room = 8 };

  std::string& field(unsigned which) {
    switch (which) {
      case type: return type_;
      case nick: return event.nick;
      case text: return event.text;
      default: return event.room;
    }
  }

  static ChatEvent::Type type_of(std::string_view t) {
    using T = ChatEvent::Type;
    if (t == "message") return T::message;
    if (t == "nick") return T::nick;
    if (t == "joined") return T::joined;
    if (t == "error") return T::error;
    if (t == "info") return T::info;
    if (t == "welcome") return T::welcome;
    return T::other;
  }

  bool enter(bool object) {
    if (depth_ == 0 && object) top_object_ = true;
    ++depth_;
    want_ = none;  // a wanted key whose value is not a string
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }
  bool scalar() {
    if (depth_ == 1) want_ = none;
    return true;
  }

  std::string type_, key_;
  unsigned want_ = none;  // the field the string value being parsed goes to
  unsigned seen_ = 0;     // the fields seen
  int depth_ = 0;
  bool top_object_ = false;
  bool stopped_ = false;
};

// One event per WebSocket message: parse(), then event().
class ChatEventParser {
 public:
  ChatEventParser() : parser_(options()) {}

  // False when `message` is not one JSON object.
  bool parse(std::string_view message) {
    parser_.reset();
    error_code ec;
    parser_.write_some(false, message.data(), message.size(), ec);
    if (parser_.handler().stopped()) return true;
    return !ec && parser_.done() && parser_.handler().was_object();
  }
  const ChatEvent& event() const { return parser_.handler().event; }

 private:
  static boost::json::parse_options options() {
    boost::json::parse_options o;
    o.allow_invalid_utf8 = true;  // Beast has checked it: a text frame is UTF-8
    return o;
  }

  boost::json::basic_parser<ChatEventHandler> parser_;
};

}  // namespace enchufe::bench
