#!/usr/bin/env python3
"""Interop tests: the tutorial's Python programs against enchufe, both directions.

    python3 interop_test.py [--enchufe build/enchufe] [unittest arguments, e.g. a class name]

Each example of the tutorial (greeting, echo, UDP echo) is checked

  * with the tutorial's own programs (tutorial/, verbatim, fixed ports 5000,
    6000 and 7000: the CTest tests running them hold the RESOURCE_LOCK
    "tutorial_ports"): its clients against `enchufe serve`, its servers against
    `enchufe connect`;
  * with programs in the tutorial's style (style/: blocking sockets,
    recv(1024), no newline sent, host and port from argv) on free ports, so
    those tests run in parallel;
  * with tutorial-style socket snippets for the details (no newline, `salir`
    in any case, UDP `salir` and empty datagrams).

Every server started is stopped at the end of its test (SIGTERM, wait, kill)
and every wait has a timeout. Standard library only.
"""

import hashlib
import re
import socket
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import harness  # noqa: E402
from harness import (  # noqa: E402
    PYTHON,
    SILENCE,
    STYLE,
    TUTORIAL,
    Proc,
    enchufe_path,
    require_tutorial_ports,
    run,
    start_enchufe,
    start_python_server,
    start_style_server,
    tcp_client,
    udp_client,
)

# --- what the tutorial's programs print ------------------------------------

OUR_GREETING = "Hola, cliente. Bienvenido al servidor enchufe!"
PY_GREETING = "Hola, cliente. Bienvenido al servidor Python!"

GREET_CLIENT_OUT = f"Mensaje recibido: {OUR_GREETING}\n"

# The echo client's input("Tú: ") prompt goes to stdout; stdin being a pipe,
# nothing echoes the typed text, so prompts and replies interleave.
ECO_INPUT = "Hola servidor\n¿Cómo estás?\nsalir\n"
ECO_CLIENT_OUT = "Tú: Eco: Hola servidor\nTú: Eco: ¿Cómo estás?\nTú: "

UDP_INPUT = "hola\nsalir\n"
UDP_CLIENT_OUT = "Tú: Eco UDP: hola\nTú: "
# An empty line is an empty datagram: the reply is the prefix alone.
UDP_INPUT_LONG = "uno\n\n¿Qué tal?\nsalir\n"
UDP_CLIENT_OUT_LONG = "Tú: Eco UDP: uno\nTú: Eco UDP: \nTú: Eco UDP: ¿Qué tal?\nTú: "

CONECTADO = r"Conectado con \('127\.0\.0\.1', \d+\)"

# SHA-256 of tutorial/*.py: the six programs exactly as the tutorial prints
# them (copied from its code blocks). A change here is a change of the
# tutorial, not of a test.
TUTORIAL_SHA256 = {
    "greet_server.py": "0ebe414c7dd95afb7a430e87897f0a13a5c5d8f9b2d51411d2dca019e770a358",
    "greet_client.py": "fe123f7aa463a96342cfe2b93f3d829c830d676ccfa0a90778dcefc94983c8d7",
    "eco_server.py": "d03a1a790ebefc1efb0c193bdc0f4b4cce01faa055367e160ed7095d66c26107",
    "eco_client.py": "b1f37c25b965a594ab18145341f4b383571c3dfc4c4ba7a7ace4fd21e25de7d7",
    "udp_server.py": "3c9ab66a89ef9b90fa999eafea2bf2498f29a021fb5969b8f947a666eea9f38f",
    "udp_client.py": "4b2e138b18626c831896f602a2c3a220cc77d9337da2447eed0e7344a081aa45",
}


def connect(*args):
    return [enchufe_path(), "connect", *[str(a) for a in args]]


class InteropCase(unittest.TestCase):
    maxDiff = None

    def assertClient(self, proc, expected_out, rc=0):
        """A client ended with `rc` and printed exactly `expected_out` on stdout."""
        self.assertEqual(proc.text(), expected_out, proc.describe())
        self.assertEqual(proc.popen.returncode, rc, proc.describe())

    def assertServerExits(self, server, rc=0):
        """The tutorial's servers serve once and end by themselves."""
        got = server.proc.wait_exit(harness.CLIENT_TIMEOUT)
        self.assertEqual(got, rc, server.proc.describe())
        return server.proc.text().splitlines()


# ===========================================================================
# The six programs themselves
# ===========================================================================

class TutorialFiles(InteropCase):
    def test_programs_are_verbatim(self):
        for name, digest in TUTORIAL_SHA256.items():
            data = (TUTORIAL / name).read_bytes()
            self.assertEqual(hashlib.sha256(data).hexdigest(), digest,
                             f"tutorial/{name} is no longer the tutorial's program character for character")

    def test_programs_use_the_fixed_ports(self):
        for name, port in [("greet", 5000), ("eco", 6000), ("udp", 7000)]:
            for side in ("server", "client"):
                text = (TUTORIAL / f"{name}_{side}.py").read_text(encoding="utf-8")
                self.assertIn(f'("localhost", {port})', text)


# ===========================================================================
# Direction 1: Python clients against our servers
# ===========================================================================

class PythonClientsVsEnchufe:
    """Tests shared by the tutorial's clients (fixed ports) and the style clients (free ports)."""

    def serve(self, service):
        raise NotImplementedError

    def serve_all(self):
        raise NotImplementedError

    def client(self, server, service, name):
        """argv of the client program `name` (greet|eco|udp) for `service` of `server`."""
        raise NotImplementedError

    def test_greet_client_gets_the_greeting(self):
        server = self.serve("greet")
        for _ in range(2):  # unlike the tutorial's, our server keeps serving
            proc = run(self.client(server, "greet", "greet"))
            self.assertClient(proc, GREET_CLIENT_OUT)

    def test_eco_client_session(self):
        server = self.serve("echo")
        for _ in range(2):  # a client saying `salir` ends its session, not the server
            proc = run(self.client(server, "echo", "eco"), ECO_INPUT)
            self.assertClient(proc, ECO_CLIENT_OUT)

    def test_eco_clients_at_once(self):
        # The tutorial's Desafío 1: several clients at the same time.
        server = self.serve("echo")
        procs = []
        for i in range(4):
            proc = Proc(self.client(server, "echo", "eco"), name=f"eco client {i}")
            procs.append(proc)
            self.addCleanup(proc.kill)
        for i, proc in enumerate(procs):
            proc.write(f"cliente {i}\nmensaje {i}\n")
        for i, proc in enumerate(procs):
            proc.wait_stdout(f"Eco: mensaje {i}\n")
        for proc in procs:
            proc.write("salir\n")
            proc.close_stdin()
        for i, proc in enumerate(procs):
            proc.wait_exit()
            self.assertClient(proc, f"Tú: Eco: cliente {i}\nTú: Eco: mensaje {i}\nTú: ")

    def test_udp_client_session(self):
        server = self.serve("udp-echo")
        proc = run(self.client(server, "udp-echo", "udp"), UDP_INPUT)
        self.assertClient(proc, UDP_CLIENT_OUT)
        # The tutorial's UDP server stops at `salir`; ours keeps answering.
        proc = run(self.client(server, "udp-echo", "udp"), UDP_INPUT_LONG)
        self.assertClient(proc, UDP_CLIENT_OUT_LONG)

    def test_all_clients_against_serve_all(self):
        server = self.serve_all()
        self.assertClient(run(self.client(server, "greet", "greet")), GREET_CLIENT_OUT)
        self.assertClient(run(self.client(server, "echo", "eco"), ECO_INPUT), ECO_CLIENT_OUT)
        self.assertClient(run(self.client(server, "udp-echo", "udp"), UDP_INPUT), UDP_CLIENT_OUT)


class TutorialClientsVsEnchufe(PythonClientsVsEnchufe, InteropCase):
    """The tutorial's clients, unchanged, against `enchufe serve` on the default ports."""

    PORTS = {"greet": 5000, "echo": 6000, "udp-echo": 7000}

    def serve(self, service):
        require_tutorial_ports(self, self.PORTS[service])
        server = start_enchufe(self, service, services=[service])  # no --port: the defaults
        self.assertEqual(server.address(service), ("127.0.0.1", self.PORTS[service]), server.proc.describe())
        return server

    def serve_all(self):
        require_tutorial_ports(self, 5000, 6000, 7000)
        server = start_enchufe(self, "all", services=list(self.PORTS))
        for service, port in self.PORTS.items():
            self.assertEqual(server.port(service), port, server.proc.describe())
        return server

    def client(self, server, service, name):
        return [PYTHON, TUTORIAL / f"{name}_client.py"]


class StyleClientsVsEnchufe(PythonClientsVsEnchufe, InteropCase):
    """Tutorial-style clients against `enchufe serve --port 0` (free ports, run in parallel)."""

    def serve(self, service):
        return start_enchufe(self, service, "--port", "0", services=[service])

    def serve_all(self):
        return start_enchufe(self, "all", "--port", "0", services=["greet", "echo", "udp-echo"])

    def client(self, server, service, name):
        # "localhost" as in the tutorial: an AF_INET socket resolves it to 127.0.0.1.
        return [PYTHON, STYLE / f"{name}_client.py", "localhost", server.port(service)]


# ===========================================================================
# Direction 2: Python servers against `enchufe connect`
# ===========================================================================

class EnchufeConnectVsPythonServers:
    """Tests shared by the tutorial's servers (fixed ports) and the style servers (free ports).

    Those servers accept one client and end; the echo one compares
    `datos.lower() == "salir"` on each recv(1024) and answers with no newline.
    """

    def server(self, name):
        """Starts the server `name` (greet|eco|udp); returns (server, host, port)."""
        raise NotImplementedError

    def check_first_line(self, lines, name):
        raise NotImplementedError

    def assertServerLog(self, server, name, expected_rest):
        """The server ended by itself (exit 0) and printed `expected_rest` after its first line."""
        lines = self.assertServerExits(server)
        self.check_first_line(lines, name)
        self.assertGreaterEqual(len(lines), 2, server.proc.describe())
        if name != "udp":
            self.assertRegex(lines[1], "^" + CONECTADO + "$", server.proc.describe())
            lines = lines[1:]
        rest = [re.sub(CONECTADO if name != "udp" else r"\('127\.0\.0\.1', \d+\)", "<peer>", line)
                for line in lines[1:]]
        self.assertEqual(rest, expected_rest, server.proc.describe())

    # --- greeting ------------------------------------------------------------
    def test_greet_server_stdin_at_end(self):
        server, host, port = self.server("greet")
        proc = run(connect(host, port), "")
        self.assertClient(proc, PY_GREETING)
        self.assertServerLog(server, "greet", [])

    def test_greet_server_stdin_left_open(self):
        # A user who types nothing: the server's close ends the client.
        server, host, port = self.server("greet")
        proc = Proc(connect(host, port))
        self.addCleanup(proc.kill)
        proc.wait_exit()
        self.assertClient(proc, PY_GREETING)
        self.assertServerLog(server, "greet", [])
        # The tutorial's server served its one client and is gone.
        proc = run(connect(host, port), "")
        self.assertClient(proc, "", rc=1)
        self.assertIn(b"refused", proc.err.lower(), proc.describe())

    # --- echo, --raw: exactly what the tutorial's client sends ----------------
    def test_eco_server_raw_line_by_line(self):
        # As a user types: each line once the previous reply is in, so each
        # recv(1024) of the server gets exactly one message.
        server, host, port = self.server("eco")
        proc = Proc(connect("--raw", host, port))
        self.addCleanup(proc.kill)
        proc.write("Hola servidor\n")
        proc.wait_stdout("Eco: Hola servidor")
        proc.write("¿Cómo estás?\n")
        proc.wait_stdout("Eco: Hola servidorEco: ¿Cómo estás?")
        proc.write("salir\n")  # recognised by the tutorial's server: it closes, no reply
        proc.close_stdin()
        self.assertEqual(proc.wait_exit(), 0, proc.describe())
        self.assertClient(proc, "Eco: Hola servidorEco: ¿Cómo estás?")
        # The tutorial's "Resultado" shows "Cliente: salir"; its code prints this.
        self.assertServerLog(server, "eco", [
            "Cliente: Hola servidor", "Cliente: ¿Cómo estás?", "Cerrando conexión..."])

    def test_eco_server_raw_salir(self):
        server, host, port = self.server("eco")
        proc = run(connect("--raw", host, port), "salir\n")
        self.assertClient(proc, "")
        self.assertServerLog(server, "eco", ["Cerrando conexión..."])

    def test_eco_server_raw_one_line_then_end_of_input(self):
        server, host, port = self.server("eco")
        proc = run(connect("--raw", host, port), "Hola servidor\n")
        self.assertClient(proc, "Eco: Hola servidor")
        self.assertServerLog(server, "eco", ["Cliente: Hola servidor", "Cerrando conexión..."])

    def test_eco_server_raw_all_lines_at_once(self):
        # Piped in one go, the lines may reach the server's recv(1024) together
        # ("Hola servidor¿Cómo estás?"): then it echoes them together, and
        # "salir" glued to text is no longer the quit word (the half-close at
        # end of input ends the session then). Whatever the split, each recv
        # gets one echo, in order, and nothing is lost or invented.
        server, host, port = self.server("eco")
        proc = run(connect("--raw", host, port), ECO_INPUT)
        self.assertEqual(proc.popen.returncode, 0, proc.describe())
        out = proc.text()
        self.assertTrue(out.startswith("Eco: "), proc.describe())
        chunks = out.split("Eco: ")[1:]
        self.assertTrue(all(chunks), proc.describe())
        sent = "Hola servidor¿Cómo estás?salir"
        self.assertIn("".join(chunks), (sent, sent[:-len("salir")]), proc.describe())
        lines = self.assertServerExits(server)
        self.assertEqual([line[len("Cliente: "):] for line in lines if line.startswith("Cliente: ")], chunks,
                         server.proc.describe())
        self.assertEqual(lines[-1], "Cerrando conexión...", server.proc.describe())

    # --- echo, default newline mode ----------------------------------------
    def test_eco_server_newline_mode(self):
        # The tutorial's server echoes the newline too, and "salir\n" is not
        # its quit word: it echoes it; our half-close after `salir` then makes
        # its recv return b"" and it closes.
        server, host, port = self.server("eco")
        proc = Proc(connect(host, port))
        self.addCleanup(proc.kill)
        proc.write("hola\n")
        proc.wait_stdout("Eco: hola\n")
        proc.write("salir\n")
        proc.close_stdin()
        self.assertEqual(proc.wait_exit(), 0, proc.describe())
        self.assertClient(proc, "Eco: hola\nEco: salir\n")
        self.assertServerLog(server, "eco", [
            "Cliente: hola", "", "Cliente: salir", "", "Cerrando conexión..."])

    def test_eco_server_newline_mode_end_of_input(self):
        server, host, port = self.server("eco")
        proc = run(connect(host, port), "hola\n")
        self.assertClient(proc, "Eco: hola\n")
        self.assertServerLog(server, "eco", ["Cliente: hola", "", "Cerrando conexión..."])

    def test_eco_server_crlf_mode(self):
        server, host, port = self.server("eco")
        proc = run(connect("--crlf", host, port), "¿Cómo estás?\n")
        self.assertClient(proc, "Eco: ¿Cómo estás?\r\n")
        self.assertServerExits(server)

    # --- UDP -------------------------------------------------------------------
    def test_udp_server(self):
        server, host, port = self.server("udp")
        proc = run(connect("--udp", host, port), UDP_INPUT_LONG)
        self.assertClient(proc, "Eco UDP: uno\nEco UDP: \nEco UDP: ¿Qué tal?\n")
        # `salir` ends the tutorial's UDP server.
        self.assertServerLog(server, "udp", [
            "Mensaje de <peer>: uno", "Mensaje de <peer>: ", "Mensaje de <peer>: ¿Qué tal?",
            "Mensaje de <peer>: salir"])

    def test_udp_server_host_colon_port(self):
        server, host, port = self.server("udp")
        proc = run(connect("--udp", f"{host}:{port}"), "hola\nsalir\n")
        self.assertClient(proc, "Eco UDP: hola\n")
        self.assertServerLog(server, "udp", ["Mensaje de <peer>: hola", "Mensaje de <peer>: salir"])

    def test_udp_server_end_of_input(self):
        server, host, port = self.server("udp")
        proc = run(connect("--udp", host, port), "hola\n")
        self.assertClient(proc, "Eco UDP: hola\n")
        self.assertIsNone(server.proc.popen.poll(), "no `salir`: the server must still run" + server.proc.describe())


class TutorialServersVsEnchufeConnect(EnchufeConnectVsPythonServers, InteropCase):
    """The tutorial's servers, unchanged, on their fixed ports, against `enchufe connect localhost PORT`."""

    FILES = {"greet": ("greet_server.py", 5000, "Servidor en espera de conexiones..."),
             "eco": ("eco_server.py", 6000, "Servidor de eco esperando conexión..."),
             "udp": ("udp_server.py", 7000, "Servidor UDP listo...")}

    def server(self, name):
        script, port, ready = self.FILES[name]
        require_tutorial_ports(self, port)
        # reuseaddr.py: see there (TIME_WAIT on the fixed ports between tests).
        server = start_python_server(self, TUTORIAL / script, ready_line=ready, reuseaddr=True)
        return server, "localhost", port

    def check_first_line(self, lines, name):
        self.assertEqual(lines[0], self.FILES[name][2])


class EnchufeConnectVsStyleServers(EnchufeConnectVsPythonServers, InteropCase):
    """Tutorial-style servers on free ports against `enchufe connect` (run in parallel)."""

    FIRST = {"greet": r"Servidor en espera de conexiones en 127\.0\.0\.1:\d+\.\.\.",
             "eco": r"Servidor de eco esperando conexión en 127\.0\.0\.1:\d+\.\.\.",
             "udp": r"Servidor UDP listo en 127\.0\.0\.1:\d+\.\.\."}

    def server(self, name):
        return start_style_server(self, f"{name}_server.py")

    def check_first_line(self, lines, name):
        self.assertRegex(lines[0], "^" + self.FIRST[name] + "$")


# ===========================================================================
# Details, with tutorial-style socket code against `enchufe serve all --port 0`
# ===========================================================================

class MixedChecks(InteropCase):
    def setUp(self):
        self.server = start_enchufe(self, "all", "--port", "0", services=["greet", "echo", "udp-echo"])

    def test_greet_in_one_recv_then_close(self):
        s = tcp_client(self, *self.server.address("greet"))
        self.assertEqual(s.recv(1024), OUR_GREETING.encode())
        self.assertEqual(s.recv(1024), b"", "the greeting server closes after greeting")

    def test_echo_message_without_newline(self):
        # The tutorial's client: send without newline, one blocking recv(1024).
        s = tcp_client(self, *self.server.address("echo"))
        s.send("Hola".encode("utf-8"))
        self.assertEqual(s.recv(1024).decode("utf-8"), "Eco: Hola")
        s.send("¿Cómo estás?".encode("utf-8"))
        self.assertEqual(s.recv(1024).decode("utf-8"), "Eco: ¿Cómo estás?")
        # Nothing else follows (no newline added later).
        s.settimeout(SILENCE)
        with self.assertRaises(socket.timeout):
            s.recv(1024)

    def test_echo_lines_keep_their_terminator(self):
        s = tcp_client(self, *self.server.address("echo"))
        s.send(b"hola\n")
        self.assertEqual(s.recv(1024), b"Eco: hola\n")
        s.send(b"hola\r\n")
        self.assertEqual(s.recv(1024), b"Eco: hola\r\n")

    def test_echo_salir_in_any_case_closes_without_reply(self):
        for word in (b"salir", b"SALIR", b"Salir", b"salir\n", b"SALIR\r\n"):
            with self.subTest(word=word):
                s = tcp_client(self, *self.server.address("echo"))
                s.send(b"hola")
                self.assertEqual(s.recv(1024), b"Eco: hola")
                s.send(word)
                self.assertEqual(s.recv(1024), b"", f"{word!r} must close the connection without a reply")
                s.close()

    def test_echo_line_then_unfinished_text(self):
        # A line gets its reply at once; the unfinished rest after the pause.
        s = tcp_client(self, *self.server.address("echo"))
        s.send("Hola\nmundo".encode("utf-8"))
        got = b""
        while len(got) < len(b"Eco: Hola\nEco: mundo"):
            chunk = s.recv(1024)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, b"Eco: Hola\nEco: mundo")

    def test_echo_salir_first(self):
        s = tcp_client(self, *self.server.address("echo"))
        s.send(b"SALIR")
        self.assertEqual(s.recv(1024), b"")

    def test_udp_salir_gets_no_reply_and_server_goes_on(self):
        address = self.server.address("udp-echo")
        s = udp_client(self)
        for word in (b"salir", b"SALIR"):
            s.sendto(word, address)
            s.settimeout(SILENCE)
            with self.assertRaises(socket.timeout, msg=f"{word!r} must get no reply"):
                s.recvfrom(1024)
        s.settimeout(harness.REPLY_TIMEOUT)
        s.sendto("hola".encode(), address)
        datos, origen = s.recvfrom(1024)
        self.assertEqual(datos.decode(), "Eco UDP: hola")
        self.assertEqual(origen, address)
        # Another client too.
        t = udp_client(self)
        t.sendto(b"otro", address)
        self.assertEqual(t.recvfrom(1024)[0], b"Eco UDP: otro")

    def test_udp_empty_datagram(self):
        s = udp_client(self)
        s.sendto(b"", self.server.address("udp-echo"))
        self.assertEqual(s.recvfrom(1024)[0].decode(), "Eco UDP: ")

    def test_udp_utf8(self):
        s = udp_client(self)
        s.sendto("¿Qué tal?".encode(), self.server.address("udp-echo"))
        self.assertEqual(s.recvfrom(1024)[0].decode(), "Eco UDP: ¿Qué tal?")

    def test_sigterm_with_clients_connected(self):
        # A tutorial client waiting in recv(1024) does not keep the server
        # alive: SIGTERM -> exit 0 within 2 s, and the client sees the close.
        echo = tcp_client(self, *self.server.address("echo"))
        echo.send(b"hola")
        self.assertEqual(echo.recv(1024), b"Eco: hola")
        udp = udp_client(self)
        udp.sendto(b"hola", self.server.address("udp-echo"))
        self.assertEqual(udp.recvfrom(1024)[0], b"Eco UDP: hola")
        self.server.stop_and_check(self)  # asserts: exit code 0, no SIGKILL needed
        try:
            self.assertEqual(echo.recv(1024), b"", "the client must see the connection end")
        except ConnectionResetError:
            pass  # a reset is an end too

    def test_enchufe_connect_refused(self):
        # A port nobody listens on: bind one, learn its number, close it.
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        proc = run(connect("127.0.0.1", port), "hola\n")
        self.assertClient(proc, "", rc=1)
        self.assertTrue(proc.err.strip(), "a refused connection must be explained on stderr" + proc.describe())


if __name__ == "__main__":
    harness.run_tests("interop", __name__)
