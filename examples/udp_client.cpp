// Example 4 of the tutorial, the UDP client, with enchufe's library. Unlike
// the tutorial's, it does not wait forever for a reply UDP may have lost.
#include "net/endpoint.hpp"
#include "net/text.hpp"

#include "net/asio.hpp"

#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <iostream>
#include <string>

using namespace enchufe;

int main() {
  asio::io_context io;
  const asio::ip::udp::endpoint servidor(net::resolve("localhost", false).front(), 7000);
  asio::ip::udp::socket cliente(io, servidor.protocol());  // no connect(): UDP has no connection

  std::string mensaje;
  while (std::cout << "Tú: " << std::flush, std::getline(std::cin, mensaje)) {
    cliente.send_to(asio::buffer(mensaje), servidor);
    if (net::is_word(mensaje, "salir")) break;

    // Wait for the reply for two seconds at most.
    char datos[65536];
    std::size_t n = 0;
    bool llego = false;
    cliente.async_receive(asio::buffer(datos), [&](const error_code& ec, std::size_t len) {
      llego = !ec;
      n = len;
    });
    io.restart();
    io.run_for(std::chrono::seconds(2));
    if (!llego) {
      std::cout << "(sin respuesta: UDP no garantiza la entrega)\n";
      cliente.cancel();
      io.run();  // let the cancelled receive finish before the next one
      continue;
    }
    std::cout << std::string_view(datos, n) << '\n';
  }
}
