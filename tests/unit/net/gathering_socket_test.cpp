// GatheringSocket against a real loopback TCP peer: what Beast writes is
// taken at once, leaves together on the next loop turn, in order; a burst the
// kernel will not take stays owed; teardown waits for it; input a transport
// already holds is read without waiting for the socket; a cancelled read
// ends.

#include "net/gathering_socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

namespace enchufe::net {
namespace {

using asio::ip::tcp;

struct Pair {
  asio::io_context io;
  tcp::socket peer{io};
  std::unique_ptr<GatheringSocket> ours;

  explicit Pair(std::unique_ptr<Transport> transport = nullptr) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    peer.connect(acceptor.local_endpoint());
    ours = std::make_unique<GatheringSocket>(TcpSocket(acceptor.accept(io.get_executor())), std::move(transport));
  }

  std::string receive(std::size_t n) {
    std::string out(n, '\0');
    asio::read(peer, asio::buffer(out));
    return out;
  }
};

std::size_t write(GatheringSocket& s, std::string_view bytes) {
  error_code ec;
  const std::size_t n = s.write_some(asio::buffer(bytes), ec);
  EXPECT_FALSE(ec) << ec.message();
  return n;
}

TEST(GatheringSocket, TakesEveryWriteWholeAndSendsThemTogetherOnTheNextTurn) {
  Pair p;
  EXPECT_EQ(write(*p.ours, "uno "), 4u);
  EXPECT_EQ(write(*p.ours, "dos "), 4u);
  EXPECT_EQ(write(*p.ours, "tres"), 4u);
  EXPECT_EQ(p.ours->owed(), 12u) << "nothing leaves inside the call";
  p.io.poll();
  EXPECT_EQ(p.ours->owed(), 0u);
  EXPECT_EQ(p.receive(12), "uno dos tres");
}

TEST(GatheringSocket, WhatTheKernelWillNotTakeStaysOwedAndTeardownWaitsForIt) {
  Pair p;
  const std::string burst(32 << 20, 'x');  // far more than loopback buffers hold
  write(*p.ours, burst);
  p.io.poll();
  ASSERT_GT(p.ours->owed(), 0u) << "the peer reads nothing: the kernel cannot have taken 32 MiB";
  bool flushed = false;
  p.ours->when_flushed([&] { flushed = true; });
  p.io.poll();
  EXPECT_FALSE(flushed);
  std::thread reader([&] { EXPECT_EQ(p.receive(burst.size()), burst); });
  while (!flushed) p.io.run_one();
  reader.join();
  EXPECT_EQ(p.ours->owed(), 0u);
}

TEST(GatheringSocket, AfterCloseWritesFailAndNothingIsOwed) {
  Pair p;
  write(*p.ours, "hola");
  p.ours->close();
  EXPECT_EQ(p.ours->owed(), 0u);
  error_code ec;
  EXPECT_EQ(p.ours->write_some(asio::buffer(std::string_view("x")), ec), 0u);
  EXPECT_TRUE(ec);
}

// Input taken from the socket before the session began, as TLS reads the
// first request along with the handshake's last flight: the socket will not
// signal it again. Then the transport reads the socket as plain TCP does.
class HoldingTransport final : public Transport {
 public:
  explicit HoldingTransport(std::string held) : held_(std::move(held)) {}
  std::size_t read_some(TcpSocket& socket, asio::mutable_buffer buffer, error_code& ec) override {
    if (held_.empty()) return plain_transport().read_some(socket, buffer, ec);
    const std::size_t n = asio::buffer_copy(buffer, asio::buffer(held_));
    held_.erase(0, n);
    ec = {};
    return n;
  }
  std::size_t write_some(TcpSocket& socket, std::span<const asio::const_buffer> buffers, error_code& ec) override {
    return plain_transport().write_some(socket, buffers, ec);
  }

 private:
  std::string held_;
};

// Reads once; what it got, or the error's message.
std::string read_once(Pair& p) {
  std::string got;
  char buffer[64];
  p.ours->async_read_some(asio::buffer(buffer), [&](error_code ec, std::size_t n) {
    got = ec ? "error: " + ec.message() : std::string(buffer, n);
  });
  p.io.run_for(std::chrono::milliseconds(500));
  p.io.restart();
  return got;
}

TEST(GatheringSocket, FirstReadTakesWhatTheTransportHoldsWithoutWaitingForTheSocket) {
  Pair p(std::make_unique<HoldingTransport>("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(read_once(p), "GET / HTTP/1.1\r\n\r\n") << "the peer sent nothing: the socket never becomes readable";
  p.peer.send(asio::buffer(std::string_view("hola")));
  EXPECT_EQ(read_once(p), "hola");
}

TEST(GatheringSocket, CancelledReadEndsWithOperationAborted) {
  Pair p;
  std::string got;
  char buffer[64];
  p.ours->async_read_some(asio::buffer(buffer), [&](error_code ec, std::size_t) { got = ec.message(); });
  p.ours->cancel_read();  // the first read had not waited on the socket yet
  p.io.run_for(std::chrono::milliseconds(500));
  EXPECT_EQ(got, error_code(asio::error::operation_aborted).message());
}

}  // namespace
}  // namespace enchufe::net
