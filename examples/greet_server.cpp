// Example 1 of the tutorial, the greeting server, with enchufe's library.
// Unlike the tutorial's, it greets any number of clients, at the same time,
// until Ctrl-C.
#include "net/endpoint.hpp"
#include "net/log.hpp"
#include "net/tcp_server.hpp"

#include <cstdio>

using namespace enchufe;

// What the server does with each client: the tutorial's steps 5 and 6.
class Greeting : public net::Protocol {
 public:
  void on_open(net::Connection& c) override {
    std::printf("Conectado con %s\n", net::to_string(c.peer()).c_str());
    c.send({"Hola, cliente. Bienvenido al servidor enchufe!"});  // 5. enviar
    c.close_after_flush(net::CloseReason::done);                 // 6. cerrar
  }
  void on_message(net::Connection&, std::string_view, std::string_view) override {}
};

int main() {
  log::set_level(log::Level::warn);          // the example prints its own lines
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // ...promptly, even into a pipe
  net::Runtime runtime(1);  // one event loop on one thread serves everyone
  // 1-3. create the socket, bind it to localhost:5000 and listen.
  net::TcpServer server(runtime, "greet", {.host = "localhost", .port = 5000},
                        [] { return std::make_unique<Greeting>(); });
  std::puts("Servidor en espera de conexiones...");
  server.start();  // 4. accept, for every client
  runtime.run();
}
