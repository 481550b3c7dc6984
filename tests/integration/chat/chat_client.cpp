#include "chat/chat_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace enchufe::test::chat {

namespace {

int two_digits(std::string_view s, std::size_t at) {
  if (!std::isdigit(static_cast<unsigned char>(s[at])) || !std::isdigit(static_cast<unsigned char>(s[at + 1]))) {
    return -1;
  }
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

std::string failure(const char* what, const ReadResult& r) { return std::string(what) + " " + escape(r.data); }

}  // namespace

bool has_stamp(std::string_view line) {
  if (line.size() < 11 || line[0] != '[' || line[3] != ':' || line[6] != ':' || line[9] != ']' || line[10] != ' ') {
    return false;
  }
  const int h = two_digits(line, 1), m = two_digits(line, 4), s = two_digits(line, 7);
  return h >= 0 && h < 24 && m >= 0 && m < 60 && s >= 0 && s <= 60;
}

int stamp_seconds(std::string_view line) {
  if (!has_stamp(line)) return -1;
  return two_digits(line, 1) * 3600 + two_digits(line, 4) * 60 + two_digits(line, 7);
}

std::string normalized(std::string_view line) {
  if (!has_stamp(line)) return std::string(line);
  return "[t] " + std::string(line.substr(11));
}

// ---- ChatClient -----------------------------------------------------------------

std::unique_ptr<ChatClient> ChatClient::connect(std::uint16_t port) {
  return std::make_unique<ChatClient>(TcpClient::connect("127.0.0.1", port));
}

std::string ChatClient::raw_line(Duration timeout) {
  auto r = tcp_.recv_until("\n", timeout);
  if (!r.complete()) {
    switch (r.end) {
      case ReadEnd::eof: return failure("<eof>", r);
      case ReadEnd::timeout: return failure("<timeout>", r);
      default: return failure("<error>", r);
    }
  }
  r.data.pop_back();
  return r.data;
}

std::string ChatClient::next(Duration timeout) { return normalized(raw_line(timeout)); }

bool ChatClient::wait_for(std::string_view wanted, Duration timeout, std::vector<std::string>* skipped) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= 0ms) return false;
    const std::string line = next(left);
    if (line == wanted) return true;
    if (skipped) skipped->push_back(line);
    if (line.starts_with("<timeout>") || line.starts_with("<eof>") || line.starts_with("<error>")) return false;
  }
}

std::string ChatClient::wait_for_prefix(std::string_view prefix, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string seen;
  for (;;) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= 0ms) return "<none> " + seen;
    const std::string line = next(left);
    if (line.starts_with(prefix)) return line;
    seen += line + " | ";
    if (line.starts_with("<timeout>") || line.starts_with("<eof>") || line.starts_with("<error>")) {
      return "<none> " + seen;
    }
  }
}

std::string ChatClient::drain(Duration window) {
  auto r = tcp_.recv_for(window);
  switch (r.end) {
    case ReadEnd::eof: return r.data + "<eof>";
    case ReadEnd::error: return r.data + "<error>";
    default: return r.data;
  }
}

bool ChatClient::closed_within(Duration timeout, std::string* rest) {
  const auto r = tcp_.recv_until_eof(timeout);
  if (rest) *rest = r.data;
  return r.complete() || r.end == ReadEnd::eof || r.end == ReadEnd::error;
}

std::string ChatClient::read_welcome(std::string_view server_name) {
  EXPECT_EQ(next(), "* Welcome to " + std::string(server_name) + " chat! /help lists the commands.");
  const std::string second = next();
  constexpr std::string_view kYou = "* You are ";
  constexpr std::string_view kRest = ". Type a nickname to take it (e.g. ana), or just start talking.";
  if (!second.starts_with(kYou) || !second.ends_with(kRest)) {
    ADD_FAILURE() << "second welcome line: " << escape(second);
    return "";
  }
  const std::string guest = second.substr(kYou.size(), second.size() - kYou.size() - kRest.size());
  EXPECT_TRUE(guest.starts_with("guest-")) << guest;
  EXPECT_EQ(next(), "* you are in general now; /who lists who is here");
  nick = guest;
  return guest;
}

// ---- ChatTest -------------------------------------------------------------------

void ChatTest::start(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"-q"};
  // Two loops unless the test says otherwise: rooms and members then live on
  // different threads.
  if (std::find(extra.begin(), extra.end(), "--threads") == extra.end()) args.insert(args.end(), {"--threads", "2"});
  args.insert(args.end(), extra.begin(), extra.end());
  server_.emplace(Server::start("chat", args));
}

ChatClient& ChatTest::guest(std::unique_ptr<ChatClient> client) {
  if (!server_) start();
  auto others = in_room("general");
  if (!client) client = ChatClient::connect(port());
  const std::string guest = client->read_welcome();
  for (auto* other : others) EXPECT_EQ(other->next(), "[t] * " + guest + " joined general") << other->nick;
  clients_.push_back(std::move(client));
  return *clients_.back();
}

ChatClient& ChatTest::login(const std::string& nick, std::unique_ptr<ChatClient> client) {
  if (!server_) start();
  auto others = in_room("general");
  ChatClient& c = guest(std::move(client));
  const std::string guest = c.nick;
  EXPECT_TRUE(c.send(nick));
  EXPECT_EQ(c.next(), "* you are " + nick + " now");
  c.nick = nick;
  for (auto* other : others) {
    EXPECT_EQ(other->next(), "[t] * " + guest + " is now known as " + nick) << other->nick;
  }
  return c;
}

void ChatTest::move(ChatClient& who, const std::string& room) {
  auto old_room = in_room(who.room, &who);
  auto new_room = in_room(room, &who);
  EXPECT_TRUE(who.send("/join " + room));
  EXPECT_EQ(who.next(), "* you are in " + room + " now; /who lists who is here");
  for (auto* other : old_room) {
    EXPECT_EQ(other->next(), "[t] * " + who.nick + " left " + who.room + " (joined " + room + ")") << other->nick;
  }
  for (auto* other : new_room) EXPECT_EQ(other->next(), "[t] * " + who.nick + " joined " + room) << other->nick;
  who.room = room;
}

std::vector<ChatClient*> ChatTest::in_room(const std::string& room, const ChatClient* except) {
  std::vector<ChatClient*> out;
  for (auto& c : clients_) {
    if (c.get() != except && c->room == room) out.push_back(c.get());
  }
  return out;
}

void ChatTest::expect_all_quiet(const ChatClient* except) {
  // One wait for everyone, then a look at each.
  std::this_thread::sleep_for(kQuiet);
  for (auto& c : clients_) {
    if (c.get() == except || c->room.empty()) continue;
    EXPECT_EQ(escape(c->drain(5ms)), "") << c->nick << " got more";
  }
}

void ChatTest::forget(ChatClient& who) { who.room.clear(); }

void ChatTest::TearDown() {
  if (!server_) return;
  auto& process = server_->process();
  if (const auto status = process.poll_exit()) {
    if (!process.was_signalled()) {
      ADD_FAILURE() << "the chat server died during the test (" << status->describe() << ")\n"
                    << process.diagnostics();
    }
    return;  // the test ended it
  }
  // The members leave (making room under --max-connections and
  // --max-per-address), a newcomer is welcomed, and the server is still there
  // a moment later: a server that falls over when members quit fails here.
  clients_.clear();
  std::string first;
  for (const auto deadline = Clock::now() + 2000ms; Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    auto newcomer = ChatClient::connect(port());
    first = newcomer->next();
    // The leavers are not counted out yet, or the address's rate has to
    // refill ("error: too many connections/new connections from your address").
    if (first.starts_with("error: server full") || first.starts_with("error: too many")) continue;
    const std::string second = newcomer->next();
    EXPECT_TRUE(second.starts_with("* You are guest-"))
        << "the chat server no longer welcomes newcomers: " << escape(first) << " | " << escape(second) << "\n"
        << process.diagnostics();
    std::this_thread::sleep_for(kQuiet);
    EXPECT_EQ(process.poll_exit(), std::nullopt) << "the chat server died after its members left\n"
                                                 << process.diagnostics();
    return;
  }
  ADD_FAILURE() << "no newcomer got in within 2 s of everyone leaving: " << escape(first) << "\n"
                << process.diagnostics();
}

// ---- raw connections ------------------------------------------------------------

namespace {

int connect_raw(std::uint16_t port, int rcvbuf) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(e));
  }
  return fd;
}

}  // namespace

TcpClient connect_with_small_receive_buffer(std::uint16_t port, int rcvbuf) {
  return TcpClient(Fd(connect_raw(port, rcvbuf)));
}

// ---- Crowd ----------------------------------------------------------------------

Crowd::~Crowd() {
  for (auto& c : clients_) {
    if (c.fd >= 0) ::close(c.fd);
  }
  if (epoll_ >= 0) ::close(epoll_);
}

std::size_t Crowd::add() {
  if (epoll_ < 0) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  }
  const int fd = connect_raw(port_, 0);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::size_t i = clients_.size();
  clients_.push_back(Client{fd});
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = i;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
  }
  return i;
}

void Crowd::send(std::size_t i, std::string_view bytes) {
  auto& c = clients_[i];
  if (c.fd < 0) return;
  c.out.append(bytes);
}

std::size_t Crowd::unsent() const {
  std::size_t n = 0;
  for (const auto& c : clients_) {
    if (c.fd >= 0) n += c.out.size() - c.out_at;
  }
  return n;
}

void Crowd::update_interest(std::size_t i) {
  auto& c = clients_[i];
  const bool want = c.out_at < c.out.size();
  if (want == c.want_write || c.fd < 0) return;
  c.want_write = want;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.u64 = i;
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Crowd::write_some(std::size_t i) {
  auto& c = clients_[i];
  while (c.fd >= 0 && c.out_at < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_at, c.out.size() - c.out_at, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      close_client(i);
      return;
    }
    c.out_at += static_cast<std::size_t>(n);
  }
  if (c.out_at == c.out.size()) {
    c.out.clear();
    c.out_at = 0;
  }
  update_interest(i);
}

void Crowd::read_some(std::size_t i) {
  char buffer[65536];
  for (;;) {
    auto& c = clients_[i];
    if (c.fd < 0) return;
    const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      close_client(i);
      return;
    }
    if (n == 0) {
      close_client(i);
      return;
    }
    std::string_view data(buffer, static_cast<std::size_t>(n));
    while (!data.empty()) {
      const auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        clients_[i].in.append(data);
        break;
      }
      if (clients_[i].in.empty()) {
        if (on_line_) on_line_(i, data.substr(0, nl));
      } else {
        std::string line = std::move(clients_[i].in);
        clients_[i].in.clear();
        line.append(data.substr(0, nl));
        if (on_line_) on_line_(i, line);
      }
      data.remove_prefix(nl + 1);
    }
  }
}

void Crowd::close_client(std::size_t i) {
  auto& c = clients_[i];
  if (c.fd < 0) return;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
  if (on_close_) on_close_(i);
}

bool Crowd::pump(const std::function<bool()>& done, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<epoll_event> events(256);
  for (;;) {
    // What the callbacks (or the caller) queued goes out first.
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (clients_[i].out_at < clients_[i].out.size() && !clients_[i].want_write) write_some(i);
    }
    // At least one look at the sockets per call, even when already done, so
    // a caller that only waits for its sends still reads.
    const bool finished = done();
    const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now()).count();
    const int wait = finished || left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 50));
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait);
    if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[k].data.u64;
      if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_some(i);
      if (events[k].events & EPOLLOUT) write_some(i);
    }
    if (finished || done()) return true;
    if (Clock::now() >= deadline) return false;
  }
}

}  // namespace enchufe::test::chat
