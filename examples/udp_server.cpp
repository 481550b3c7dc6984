// Example 4 of the tutorial, the UDP server, with enchufe's library.
// Unlike the tutorial's, "salir" does not stop it: anyone can send a
// datagram, so a stranger must not be able to shut it down.
#include "net/endpoint.hpp"
#include "net/log.hpp"
#include "net/text.hpp"
#include "net/udp_server.hpp"

#include <cstdio>
#include <cstring>

using namespace enchufe;

int main() {
  log::set_level(log::Level::warn);          // the example prints its own lines
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // ...promptly, even into a pipe
  net::Runtime runtime(1);
  auto eco = [](std::string_view datos, const asio::ip::udp::endpoint& direccion,
                std::span<char> respuesta) -> std::optional<std::size_t> {
    std::printf("Mensaje de %s: %.*s\n", net::to_string(direccion).c_str(), static_cast<int>(datos.size()),
                datos.data());
    if (net::is_word(datos, "salir")) return std::nullopt;  // no reply
    constexpr std::string_view prefijo = "Eco UDP: ";
    const std::size_t n = std::min(datos.size(), respuesta.size() - prefijo.size());
    std::memcpy(respuesta.data(), prefijo.data(), prefijo.size());
    std::memcpy(respuesta.data() + prefijo.size(), datos.data(), n);
    return prefijo.size() + n;
  };
  net::UdpServer server(runtime, "udp-echo", {.host = "localhost", .port = 7000}, eco);
  std::puts("Servidor UDP listo...");
  server.start();
  runtime.run();
}
