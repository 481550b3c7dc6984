// Example 3 of the tutorial, the echo client, with enchufe's library. Like
// the tutorial's, it sends each line without a newline and waits for the
// reply; `enchufe connect` is the full-duplex version.
#include "net/endpoint.hpp"
#include "net/text.hpp"

#include "net/asio.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <iostream>
#include <string>

using namespace enchufe;

int main() {
  asio::io_context io;
  asio::ip::tcp::socket cliente(io);
  error_code ec;
  for (const auto& address : net::resolve("localhost", false)) {
    cliente.close(ec);
    cliente.connect({address, 6000}, ec);
    if (!ec) break;
  }
  if (ec) {
    std::cerr << "No se pudo conectar: " << ec.message() << '\n';
    return 1;
  }
  std::string mensaje;
  while (std::cout << "Tú: " << std::flush, std::getline(std::cin, mensaje)) {
    asio::write(cliente, asio::buffer(mensaje), ec);
    if (ec || net::is_word(mensaje, "salir")) break;
    char respuesta[1024];
    const std::size_t n = cliente.read_some(asio::buffer(respuesta), ec);
    if (ec) {
      std::cout << "El servidor cerró la conexión\n";
      break;
    }
    std::cout << std::string_view(respuesta, n) << '\n';
  }
}
