// Example 2 of the tutorial, the greeting client, with enchufe's library.
#include "net/endpoint.hpp"

#include "net/asio.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>

#include <cstdio>
#include <string>

using namespace enchufe;

int main() {
  asio::io_context io;
  asio::ip::tcp::socket cliente(io);  // 1. crear el socket
  error_code ec;
  for (const auto& address : net::resolve("localhost", false)) {  // 2. conectarse
    cliente.close(ec);
    cliente.connect({address, 5000}, ec);
    if (!ec) break;
  }
  if (ec) {
    std::fprintf(stderr, "No se pudo conectar: %s\n", ec.message().c_str());
    return 1;
  }
  // 3. recibir: the server closes after its greeting, so read until then
  // (a single recv(1024) could stop halfway through a longer message).
  std::string mensaje;
  asio::read(cliente, asio::dynamic_buffer(mensaje), ec);
  std::printf("Mensaje recibido: %s\n", mensaje.c_str());
}  // 4. cerrar: the socket closes when it goes out of scope
