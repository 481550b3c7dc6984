// Example 3 of the tutorial, the echo server, with enchufe's library.
// It serves many clients at once (Challenge 1): each connection runs on the
// event loop, none blocks the others.
#include "net/endpoint.hpp"
#include "net/log.hpp"
#include "net/tcp_server.hpp"
#include "net/text.hpp"

#include <cstdio>

using namespace enchufe;

class Eco : public net::Protocol {
 public:
  void on_open(net::Connection& c) override { std::printf("Conectado con %s\n", net::to_string(c.peer()).c_str()); }

  // Called for every message: a line, or what the client sent before pausing
  // (the tutorial's client sends no newline).
  void on_message(net::Connection& c, std::string_view datos, std::string_view fin) override {
    if (net::is_word(datos, "salir")) {
      std::puts("Cerrando conexión...");
      c.close_after_flush(net::CloseReason::quit);
      return;
    }
    std::printf("Cliente: %.*s\n", static_cast<int>(datos.size()), datos.data());
    c.send({"Eco: ", datos, fin});
  }
};

int main() {
  log::set_level(log::Level::warn);          // the example prints its own lines
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // ...promptly, even into a pipe
  net::Runtime runtime(1);
  net::TcpServer server(runtime, "echo", {.host = "localhost", .port = 6000},
                        [] { return std::make_unique<Eco>(); });
  std::puts("Servidor de eco esperando conexiones...");
  server.start();
  runtime.run();
}
