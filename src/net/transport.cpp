#include "net/transport.hpp"

namespace enchufe::net {

namespace {

class PlainTransport final : public Transport {
 public:
  bool reads_are_the_sockets() const override { return true; }
  std::size_t read_some(TcpSocket& socket, asio::mutable_buffer buffer, error_code& ec) override {
    return socket.read_some(buffer, ec);
  }
  std::size_t write_some(TcpSocket& socket, std::span<const asio::const_buffer> buffers, error_code& ec) override {
    return socket.write_some(buffers, ec);
  }
};

}  // namespace

Transport& plain_transport() {
  static PlainTransport plain;
  return plain;
}

}  // namespace enchufe::net
