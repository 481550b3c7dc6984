#pragma once
// What the chat tests share: a line-reading chat client over the blocking
// TcpClient (every read has a deadline), the normalisation of timestamps,
// and a fixture that starts `enchufe serve chat` and logs clients in while
// checking the notices everyone else in the room gets.
//
// Lines are compared with their "[HH:MM:SS] " stamp replaced by "[t] ", so
// an expectation says whether a line is stamped ("[t] <ana> hola") or not
// ("* you are ana now").

#include "support/enchufe.hpp"
#include "support/net.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enchufe::test::chat {

// Every single read waits at most this long.
inline constexpr auto kIo = 3000ms;
// How long "nothing more arrives" is watched for.
inline constexpr auto kQuiet = 250ms;

// True when `line` starts with "[HH:MM:SS] " (a valid time of day).
bool has_stamp(std::string_view line);
// The stamp of a stamped line as seconds since midnight.
int stamp_seconds(std::string_view line);
// A stamped line with "[t] " instead of its stamp; other lines unchanged.
std::string normalized(std::string_view line);

class ChatClient {
 public:
  static std::unique_ptr<ChatClient> connect(std::uint16_t port);
  explicit ChatClient(TcpClient tcp) : tcp_(std::move(tcp)) {}

  // The next line as received, without its "\n". On timeout, EOF or error:
  // "<timeout>", "<eof>" or "<error>", then what was received, so that a
  // comparison with the expected line fails with everything in view.
  std::string raw_line(Duration timeout = kIo);
  // The next line, normalized().
  std::string next(Duration timeout = kIo);
  // Reads lines until one (normalized) equals `wanted`; false if none does
  // in time. The lines before it go to *skipped.
  bool wait_for(std::string_view wanted, Duration timeout = kIo, std::vector<std::string>* skipped = nullptr);
  // Reads lines until one (normalized) starts with `prefix`; returns it, or
  // "<none>" followed by what arrived.
  std::string wait_for_prefix(std::string_view prefix, Duration timeout = kIo);

  bool send(std::string_view line) { return tcp_.send_all(std::string(line) + "\n"); }
  bool send_raw(std::string_view bytes) { return tcp_.send_all(bytes); }

  // Whatever arrives during `window` (normally nothing: ""). A connection
  // the server closed is never "quiet": the text then ends in "<eof>" or
  // "<error>", so that a comparison with "" fails.
  std::string drain(Duration window = kQuiet);
  // True when the server closes the connection (EOF or reset) within `timeout`;
  // what arrived before goes to *rest.
  bool closed_within(Duration timeout, std::string* rest = nullptr);

  // Reads the three greeting lines (welcome, guest name, room) and returns
  // the guest name, or "" if they were not as expected (with a test failure).
  std::string read_welcome(std::string_view server_name = "enchufe");

  TcpClient& tcp() { return tcp_; }

  std::string nick;            // what the tests believe the nickname is
  std::string room = "general";

 private:
  TcpClient tcp_;
};

// Starts the server in SetUp-less style (each test picks its flags) and keeps
// a roster of logged-in clients so that notices are checked, not skipped.
class ChatTest : public ::testing::Test {
 protected:
  // Every chat test ends by checking that the server is still running and
  // still welcomes a newcomer: a server that died (or stopped answering)
  // half-way through must not pass for a quiet one.
  void TearDown() override;

  // `enchufe serve chat --host 127.0.0.1 --port 0 -q --threads 2 EXTRA...`
  // (no --threads 2 if EXTRA has --threads)
  void start(const std::vector<std::string>& extra = {});
  std::uint16_t port() const { return server_->port("chat"); }
  Server& server() { return *server_; }

  // A new client that takes `nick` with its first line. Everyone already in
  // general must see "* guest-N joined general" and "* guest-N is now known
  // as NICK", and nothing else.
  // `client`: one already connected (e.g. with a small receive buffer).
  ChatClient& login(const std::string& nick, std::unique_ptr<ChatClient> client = nullptr);
  // A new client that is still guest-N (welcome read, nothing sent); the
  // others' "joined" notice is consumed.
  ChatClient& guest(std::unique_ptr<ChatClient> client = nullptr);
  // /join ROOM, checking the reply and the notices in both rooms.
  void move(ChatClient& who, const std::string& room);
  // Clients in `room`, other than `except`.
  std::vector<ChatClient*> in_room(const std::string& room, const ChatClient* except = nullptr);
  // Checks that none of the logged-in clients (other than `except`) has any
  // line waiting, nor lost its connection.
  void expect_all_quiet(const ChatClient* except = nullptr);
  // Forgets a client (it quit or was cut) so later checks skip it.
  void forget(ChatClient& who);

  std::optional<Server> server_;
  std::vector<std::unique_ptr<ChatClient>> clients_;
};

// A TCP connection to 127.0.0.1:port whose receive buffer is set to
// `rcvbuf` bytes before connecting (the kernel doubles it), so that a client
// that does not read stops taking bytes early.
TcpClient connect_with_small_receive_buffer(std::uint16_t port, int rcvbuf);

// Many chat clients driven from one thread: non-blocking sockets and epoll.
// Sends are queued and written as the sockets take them; every complete
// line received goes to on_line (without its "\n"), and a close to on_close.
class Crowd {
 public:
  using OnLine = std::function<void(std::size_t client, std::string_view line)>;
  using OnClose = std::function<void(std::size_t client)>;

  explicit Crowd(std::uint16_t port) : port_(port) {}
  ~Crowd();
  Crowd(const Crowd&) = delete;
  Crowd& operator=(const Crowd&) = delete;

  void on_line(OnLine f) { on_line_ = std::move(f); }
  void on_close(OnClose f) { on_close_ = std::move(f); }

  // Connects one more client; returns its index. Throws on failure.
  std::size_t add();
  std::size_t size() const { return clients_.size(); }
  // Queues bytes for client i.
  void send(std::size_t i, std::string_view bytes);
  bool is_closed(std::size_t i) const { return clients_[i].fd < 0; }
  // Bytes queued and not yet taken by the sockets.
  std::size_t unsent() const;

  // Moves bytes both ways until done() holds (checked after every round of
  // events) or the timeout passes; returns done().
  bool pump(const std::function<bool()>& done, Duration timeout);

 private:
  struct Client {
    int fd = -1;
    std::string in;   // an unfinished line
    std::string out;  // queued, unsent
    std::size_t out_at = 0;
    bool want_write = false;
  };
  void update_interest(std::size_t i);
  void write_some(std::size_t i);
  void read_some(std::size_t i);
  void close_client(std::size_t i);

  std::uint16_t port_;
  int epoll_ = -1;
  std::vector<Client> clients_;
  OnLine on_line_;
  OnClose on_close_;
};

}  // namespace enchufe::test::chat
