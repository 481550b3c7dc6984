#pragma once
// Redis's protocol (RESP2) through hiredis: its reply reader parses what a
// server sends, its formatter frames the commands we send. Nothing here
// does I/O, so any transport (our Asio sockets, TLS) can carry it.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace enchufe::net::redis {

// One reply, owned (hiredis's reply object is freed once copied here).
struct Reply {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  std::string text;  // string, status, error
  long long integer = 0;
  std::vector<Reply> elements;  // array

  bool is_error() const { return type == Type::error; }
  // "message" for ["message", channel, payload]: the first element of an
  // array when it is a string, else empty.
  std::string_view kind() const;
  bool operator==(const Reply&) const = default;
};

// A reply made on our side: the error given to a command that never
// reached Redis or whose answer was lost ("not connected", "timed out").
Reply local_error(std::string text);

class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Bytes as they come from the server.
  void feed(std::string_view bytes);
  // Forgets what was fed (a new connection starts clean).
  void reset();
  // The next whole reply, if the bytes fed hold one. Throws
  // std::runtime_error when they are not RESP (the connection must go).
  std::optional<Reply> next();

 private:
  struct Free {
    void operator()(redisReader* reader) const;
  };
  std::unique_ptr<redisReader, Free> reader_;
};

// Appends one command, framed as a RESP array of bulk strings (binary safe:
// the arguments may hold spaces or newlines).
void append_command(std::string& out, std::initializer_list<std::string_view> args);
void append_command(std::string& out, const std::vector<std::string_view>& args);

}  // namespace enchufe::net::redis
