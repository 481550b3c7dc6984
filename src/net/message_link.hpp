#pragma once
// What a service sees of one client, whatever carries its messages: a
// Connection (lines over TCP) or a WebSocketSession (frames). A service
// written against these sees messages, never sockets, so a new transport
// (TLS, WebSocket) needs no change in it.

#include "net/asio.hpp"
#include "net/outbox.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace enchufe::net {

enum class CloseReason {
  peer_closed,      // the client closed (or half-closed) its side
  quit,             // the client asked to leave ("salir")
  done,             // the service had nothing more to say (greet)
  line_too_long,    // a line exceeded --max-line
  idle_timeout,     // silent longer than --idle-timeout
  reset,            // connection reset or broken pipe
  io_error,         // any other socket error
  server_shutdown,  // SIGINT/SIGTERM
  too_slow,         // owed more than --max-output: it does not read
  flooding,         // kept sending faster than allowed
  bad_input,        // broke the transport's rules (a WebSocket binary frame, bad UTF-8)
};
std::string_view describe(CloseReason reason);

// A new client id, from one counter shared by every transport (a service
// may key its clients by id, whatever door they came in by).
std::uint64_t next_client_id();

class MessageLink {
 public:
  // Unique among the clients of this process, for the life of the process.
  virtual std::uint64_t id() const = 0;
  // The client's address, as accept() gave it (bans and limits by address).
  virtual asio::ip::address remote_address() const = 0;
  // True when its bytes cross the network encrypted (TLS, wss://).
  virtual bool encrypted() const = 0;
  // Queues one whole message: its pieces back to back, copied.
  virtual void send(std::initializer_list<std::string_view> pieces) = 0;
  // The same for a message shared with other clients (not copied).
  virtual void send(SharedText message) = 0;
  // Queues one binary message (a WebSocket binary frame). A transport
  // without message types (a line connection) sends the bytes as they are.
  virtual void send_binary(std::initializer_list<std::string_view> pieces) = 0;
  // Stops reading; what is queued is still delivered, then the link closes.
  // Safe to call more than once (the first reason wins).
  virtual void close_after_flush(CloseReason reason) = 0;

 protected:
  ~MessageLink() = default;
};

// A service's behaviour on a message transport; one instance per client.
// Called only from the client's loop.
class MessageProtocol {
 public:
  virtual ~MessageProtocol() = default;
  virtual void on_open(MessageLink& link) = 0;
  virtual void on_message(MessageLink& link, std::string_view text) = 0;
  // A binary message (WebSocket only). By default the client is closed with
  // bad_input: a text service cannot read it (1003 on a WebSocket).
  virtual void on_binary(MessageLink& link, std::string_view bytes) { link.close_after_flush(CloseReason::bad_input); }
  // About to close (idle timeout, shutdown, ...): a goodbye sent now is
  // still delivered.
  virtual void on_closing(MessageLink& link, CloseReason reason) {}
  virtual void on_close(MessageLink& link, CloseReason reason) {}
};

}  // namespace enchufe::net
