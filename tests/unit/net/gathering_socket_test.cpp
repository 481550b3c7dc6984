// GatheringSocket against a real loopback TCP peer: what Beast writes is
// taken at once, leaves together on the next loop turn, in order; a burst the
// kernel will not take stays owed; teardown waits for it.

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

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    peer.connect(acceptor.local_endpoint());
    ours = std::make_unique<GatheringSocket>(TcpSocket(acceptor.accept(io.get_executor())));
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

}  // namespace
}  // namespace enchufe::net
