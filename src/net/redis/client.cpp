#include "net/redis/client.hpp"

#include "net/coroutine.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace enchufe::net::redis {

namespace {

using Clock = std::chrono::steady_clock;

long long milliseconds(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// Backoff with ±20% jitter, so that nodes that lost Redis together do not
// all come back in the same millisecond.
Duration jittered(Duration wait) {
  thread_local std::minstd_rand random{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.8, 1.2);
  return std::chrono::duration_cast<Duration>(wait * factor(random));
}

}  // namespace

std::shared_ptr<Client> Client::start(asio::io_context& context, Options options, Events events) {
  std::shared_ptr<Client> client(new Client(context, std::move(options), std::move(events)));
  net::spawn(context.get_executor(), [client] { return client->run(); });
  return client;
}

Client::Client(asio::io_context& context, Options options, Events events)
    : context_(context),
      options_(std::move(options)),
      events_(std::move(events)),
      socket_(context),
      timer_(context),
      watchdog_(context) {}

Client::~Client() = default;

void Client::stop() {
  if (state_ == State::stopped) return;
  state_ = State::stopped;
  ++generation_;
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  watchdog_.cancel();
  unsent_.clear();
  fail_waiting(fmt::format("{}: stopped", to_string(options_.address)));
}

// ---- the connection's life ---------------------------------------------------

asio::awaitable<void> Client::run() {
  const auto self = shared_from_this();  // the coroutines alone keep the client alive
  Duration backoff = options_.backoff_first;
  while (state_ != State::stopped) {
    if (co_await connect()) {
      handshake();
      net::spawn(context_.get_executor(), [self] { return self->watch(); });
      co_await read_loop();
    }
    if (state_ == State::stopped) break;
    if (was_ready_) backoff = options_.backoff_first;  // it worked for a while: start again quickly
    was_ready_ = false;
    timer_.expires_after(jittered(backoff));
    co_await timer_.async_wait(net::use_tuple);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

asio::awaitable<bool> Client::connect() {
  state_ = State::connecting;
  const std::uint64_t generation = ++generation_;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  error_code numeric;
  const auto address = asio::ip::make_address(options_.address.host, numeric);
  if (!numeric) {
    // No lookup: Asio would start a resolver thread beside this loop for it.
    endpoints.emplace_back(address, options_.address.port);
  } else {
    asio::ip::tcp::resolver resolver(context_);
    auto [rec, results] =
        co_await resolver.async_resolve(options_.address.host, std::to_string(options_.address.port), net::use_tuple);
    if (generation != generation_) co_return false;
    if (rec) {
      drop(fmt::format("cannot resolve {}: {}", options_.address.host, rec.message()));
      co_return false;
    }
    endpoints.assign(results.begin(), results.end());
  }
  // A server that accepts and then says nothing is handled by the watchdog;
  // this bounds a connect that gets no answer at all (a black-holed host).
  timer_.expires_after(options_.connect_timeout);
  timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
    if (!ec && generation == self->generation_) {
      error_code ignored;
      self->socket_.close(ignored);
    }
  });
  auto [ec, endpoint] = co_await asio::async_connect(socket_, endpoints, net::use_tuple);
  timer_.cancel();
  if (generation != generation_) co_return false;
  if (ec) {
    drop(ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor
             ? fmt::format("no answer within {} ms", milliseconds(options_.connect_timeout))
             : ec.message());
    co_return false;
  }
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  reader_.reset();
  last_reply_ = Clock::now();
  co_return true;
}

void Client::handshake() {
  state_ = State::handshake;
  const std::uint64_t generation = generation_;
  const auto refused = [this, generation](std::string what) {
    return [this, generation, what = std::move(what)](const Reply& reply) {
      if (reply.is_error() && generation == generation_) drop(fmt::format("{} refused: {}", what, reply.text));
    };
  };
  if (!options_.address.password.empty()) send({std::string_view("AUTH"), options_.address.password}, refused("AUTH"), 1, true);
  const std::string db = std::to_string(options_.address.db);
  if (options_.address.db != 0) send({std::string_view("SELECT"), std::string_view(db)}, refused("SELECT"), 1, true);
  if (!options_.name.empty()) send({"CLIENT", "SETNAME", options_.name}, refused("CLIENT SETNAME"), 1, true);
  if (!channels_.empty()) {
    std::vector<std::string_view> args{"SUBSCRIBE"};
    args.insert(args.end(), channels_.begin(), channels_.end());
    send(args,
         [refusal = refused("SUBSCRIBE"), waiters = std::exchange(subscribed_waiters_, {})](const Reply& reply) {
           refusal(reply);
           for (const auto& waiter : waiters) waiter(reply);
         },
         channels_.size(), true);
  }
  // The last answer of the handshake: from here on the client is ready.
  send({"PING"}, [this, generation](const Reply& reply) {
    if (generation != generation_ || reply.is_error()) return;  // dropped: the reason is told already
    // Subscribed while down, to channels unsubscribed again since: done.
    for (const auto& waiter : std::exchange(subscribed_waiters_, {})) waiter(reply);
    state_ = State::ready;
    was_ready_ = true;
    told_down_ = false;
    if (events_.up) events_.up();
  }, 1, true);
}

asio::awaitable<void> Client::read_loop() {
  const std::uint64_t generation = generation_;
  char buffer[16 * 1024];
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer), net::use_tuple);
    if (generation != generation_) co_return;
    if (ec) {
      drop(ec == asio::error::eof ? std::string("Redis closed the connection") : ec.message());
      co_return;
    }
    last_reply_ = Clock::now();
    try {
      reader_.feed({buffer, n});
      while (auto reply = reader_.next()) {
        on_reply(std::move(*reply));
        if (generation != generation_) co_return;  // a callback dropped or stopped it
      }
    } catch (const std::runtime_error& e) {
      drop(e.what());
      co_return;
    }
  }
}

asio::awaitable<void> Client::watch() {
  const std::uint64_t generation = generation_;
  const Duration tick = std::min(options_.reply_timeout, options_.ping_every) / 2;
  for (;;) {
    watchdog_.expires_after(tick);
    co_await watchdog_.async_wait(net::use_tuple);
    if (generation != generation_) co_return;
    const auto now = Clock::now();
    if (!waiting_.empty() && now - waiting_.front().sent > options_.reply_timeout) {
      drop(fmt::format("no reply for {} ms", milliseconds(now - waiting_.front().sent)));
      co_return;
    }
    if (waiting_.empty() && state_ == State::ready && now - last_reply_ >= options_.ping_every) {
      send({"PING"}, {}, 1, true);
    }
  }
}

void Client::drop(const std::string& why) {
  if (state_ == State::stopped) return;
  state_ = State::connecting;
  ++generation_;
  error_code ignored;
  socket_.close(ignored);
  watchdog_.cancel();
  unsent_.clear();
  const std::string text = fmt::format("{}: {}", to_string(options_.address), why);
  fail_waiting(text);
  // Subscribed while down: this attempt failed, so they are told so rather
  // than kept waiting for a Redis that may be gone for long.
  const Reply error = local_error(text);
  for (const auto& waiter : std::exchange(subscribed_waiters_, {})) waiter(error);
  if (!told_down_) {
    told_down_ = true;
    if (events_.down) events_.down(text);
  }
}

void Client::fail_waiting(const std::string& why) {
  // Taken first: a callback may send again (and fail at once, posted).
  std::deque<Waiting> failed = std::exchange(waiting_, {});
  const Reply error = local_error(why);
  for (auto& waiting : failed) {
    if (waiting.done) waiting.done(error);
  }
}

// ---- commands -----------------------------------------------------------------

void Client::command(std::initializer_list<std::string_view> args, Callback done) {
  send(args, std::move(done), 1, false);
}

void Client::command(const std::vector<std::string_view>& args, Callback done) { send(args, std::move(done), 1, false); }

void Client::send(std::initializer_list<std::string_view> args, Callback done, std::size_t replies, bool internal) {
  if (!admit(done, internal)) return;
  append_command(unsent_, args);
  queued(std::move(done), replies);
}

void Client::send(const std::vector<std::string_view>& args, Callback done, std::size_t replies, bool internal) {
  if (!admit(done, internal)) return;
  append_command(unsent_, args);
  queued(std::move(done), replies);
}

bool Client::admit(Callback& done, bool internal) {
  const bool open = state_ == State::ready || (internal && state_ == State::handshake);
  std::string refusal;
  if (!open) {
    refusal = fmt::format("not connected to {}", to_string(options_.address));
  } else if (unsent_.size() > options_.max_unsent_bytes) {
    refusal = fmt::format("{}: more than {} bytes of commands wait to be sent", to_string(options_.address),
                          options_.max_unsent_bytes);
  } else {
    return true;
  }
  // Never from inside the caller's own call: it may hold state it is changing.
  if (done) asio::post(context_, [done = std::move(done), error = local_error(std::move(refusal))] { done(error); });
  return false;
}

void Client::queued(Callback done, std::size_t replies) {
  waiting_.push_back({std::move(done), replies, Clock::now()});
  start_writer();
}

void Client::subscribe(const std::vector<std::string>& channels, Callback done) {
  subscriber_ = true;
  std::vector<std::string_view> args{"SUBSCRIBE"};
  for (const std::string& channel : channels) {
    const auto at = std::lower_bound(channels_.begin(), channels_.end(), channel);
    if (at != channels_.end() && *at == channel) continue;
    channels_.insert(at, channel);
    args.push_back(channel);
  }
  // During a handshake too: the SUBSCRIBE it sent may have been without them.
  const bool connected = state_ == State::ready || state_ == State::handshake;
  if (!connected) {
    // The next handshake subscribes to them all, and tells `done`.
    if (done) subscribed_waiters_.push_back(std::move(done));
  } else if (args.size() > 1) {
    send(args, std::move(done), args.size() - 1, true);
  } else if (done) {
    Reply already;
    already.type = Reply::Type::status;
    already.text = "OK";
    asio::post(context_, [done = std::move(done), already = std::move(already)] { done(already); });
  }
}

void Client::unsubscribe(const std::vector<std::string>& channels) {
  std::vector<std::string_view> args{"UNSUBSCRIBE"};
  for (const std::string& channel : channels) {
    const auto at = std::lower_bound(channels_.begin(), channels_.end(), channel);
    if (at == channels_.end() || *at != channel) continue;
    args.push_back(channel);  // a view of the caller's string: appended before it is gone
    channels_.erase(at);
  }
  if (args.size() > 1 && (state_ == State::ready || state_ == State::handshake)) send(args, {}, args.size() - 1, true);
}

void Client::on_reply(Reply reply) {
  if (subscriber_ && reply.kind() == "message" && reply.elements.size() == 3) {
    if (events_.message) events_.message(reply.elements[1].text, reply.elements[2].text);
    return;
  }
  if (waiting_.empty()) {
    drop("a reply no command asked for");
    return;
  }
  if (--waiting_.front().replies > 0) return;  // SUBSCRIBE: one confirmation per channel
  Waiting done = std::move(waiting_.front());
  waiting_.pop_front();
  if (done.done) done.done(reply);
}

void Client::start_writer() {
  if (writer_running_) return;
  writer_running_ = true;
  net::spawn(context_.get_executor(), [self = shared_from_this()] { return self->write_loop(); });
}

asio::awaitable<void> Client::write_loop() {
  // What was asked while the last write was out goes in the next one.
  while (!unsent_.empty() && socket_.is_open() && state_ != State::connecting) {
    const std::uint64_t generation = generation_;
    writing_.clear();
    std::swap(writing_, unsent_);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing_), net::use_tuple);
    if (ec && generation == generation_) drop(fmt::format("cannot send: {}", ec.message()));
  }
  writer_running_ = false;
}

}  // namespace enchufe::net::redis
