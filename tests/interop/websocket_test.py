"""The echo's WebSocket door against a second, independent client: the
`websockets` library (Debian's python3-websockets, 10.4, its asyncio API).

    python3 websocket_test.py [--enchufe build/enchufe] [unittest arguments]

Each test starts `enchufe serve echo --host 127.0.0.1 --port 0 --web-port 0`
and talks to the port of its "listening: echo ws" line: text, binary, 1 MiB,
a fragmented send, pings, close codes, the quit word, and permessage-deflate
(which websockets offers by default) with and without the server's
--no-deflate. EchoOverSecureWebSocket runs every one of them again over
wss:// (the "echo wss" line), with a certificate from `enchufe cert` that
the client verifies (Python's ssl module: the CA file and the host name).

Without the websockets module the whole run is skipped (exit code 77, which
CTest reports as skipped), except under CI (the environment variable CI set):
there it fails, so a machine that lost the package cannot pass by skipping.
The module may live in Debian's /usr/bin/python3 and not in the python3 found
first (pyenv): the script then runs itself again with that one.
"""

import asyncio
import os
import pathlib
import ssl
import sys
import tempfile
import unittest

import harness

SKIP = 77


def import_websockets():
    try:
        import websockets  # noqa: F401
        import websockets.exceptions  # noqa: F401

        return websockets
    except ImportError:
        pass
    debian = "/usr/bin/python3"
    if os.path.exists(debian) and os.path.realpath(sys.executable) != os.path.realpath(debian) \
            and not os.environ.get("ENCHUFE_WS_REEXEC"):
        os.environ["ENCHUFE_WS_REEXEC"] = "1"
        os.execv(debian, [debian, *sys.argv])
    message = ("websocket interop: the Python module 'websockets' is missing "
               "(Debian package python3-websockets; scripts/setup.sh installs it)")
    if os.environ.get("CI"):
        sys.exit(message + "; failing under CI")
    print(message + "; skipped", file=sys.stderr)
    sys.exit(SKIP)


websockets = import_websockets()
from websockets.exceptions import ConnectionClosed  # noqa: E402

STEP = 5.0  # seconds any one exchange may take
MIB = 1 << 20


def run(coroutine, timeout=30.0):
    """Runs one test's coroutine with an overall deadline."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


async def step(awaitable):
    return await asyncio.wait_for(awaitable, STEP)


class EchoOverWebSocket(unittest.TestCase):
    """`enchufe serve echo --web-port 0` with a websockets client."""

    extra = ()
    door, scheme = "echo ws", "ws"  # the listening line's, the URI's
    client_tls = None  # an ssl.SSLContext for wss://

    def setUp(self):
        self.server = harness.start_enchufe(
            self, "echo", "--host", "127.0.0.1", "--port", "0", "--web-port", "0", *self.extra,
            *self.server_tls(), services=[self.door])
        host, port = self.server.address(self.door)
        self.uri = f"{self.scheme}://{host}:{port}/"

    def server_tls(self):
        """The server's TLS options (none: plain ws://)."""
        return ()

    def connect(self, **options):
        # Replies carry the prefix: allow past the library's 1 MiB default.
        options.setdefault("max_size", 4 * MIB)
        options.setdefault("open_timeout", STEP)
        options.setdefault("close_timeout", STEP)
        if self.client_tls:
            options.setdefault("ssl", self.client_tls)
        return websockets.connect(self.uri, **options)

    async def expect_still_echoing(self):
        async with self.connect() as other:
            await step(other.send("sigo aqui"))
            self.assertEqual(await step(other.recv()), "Eco: sigo aqui")

    def test_text(self):
        async def go():
            async with self.connect() as ws:
                for text in ("hola", "¿Qué tal? ñandú", "", "linea\n"):
                    await step(ws.send(text))
                    reply = await step(ws.recv())
                    self.assertIsInstance(reply, str, "a text message is answered with text")
                    self.assertEqual(reply, "Eco: " + text)
        run(go())

    def test_binary(self):
        async def go():
            async with self.connect() as ws:
                data = bytes(range(256)) * 40
                await step(ws.send(data))
                reply = await step(ws.recv())
                self.assertIsInstance(reply, bytes, "a binary message is answered with binary")
                self.assertEqual(reply, b"Eco: " + data)
                await step(ws.send(b""))
                self.assertEqual(await step(ws.recv()), b"Eco: ")
        run(go())

    def test_one_mebibyte(self):
        async def go():
            async with self.connect() as ws:
                data = os.urandom(MIB)
                await step(ws.send(data))
                self.assertEqual(await asyncio.wait_for(ws.recv(), 20), b"Eco: " + data)
                text = "ñ" * (MIB // 2)  # 1 MiB of UTF-8
                await step(ws.send(text))
                self.assertEqual(await asyncio.wait_for(ws.recv(), 20), "Eco: " + text)
            # One byte more is refused with 1009, and the server goes on.
            async with self.connect() as ws:
                try:
                    await step(ws.send(b"x" * (MIB + 1)))
                    await step(ws.recv())
                    self.fail("a message of 1 MiB + 1 byte was answered")
                except ConnectionClosed:
                    pass
                await step(ws.wait_closed())
                self.assertEqual(ws.close_code, 1009)
            await self.expect_still_echoing()
        run(go(), timeout=50)

    def test_fragmented_send(self):
        async def go():
            async with self.connect() as ws:
                async def fragments():
                    for piece in ("Ho", "la ", "mun", "do"):
                        yield piece
                        await asyncio.sleep(0.05)
                await step(ws.send(fragments()))
                self.assertEqual(await step(ws.recv()), "Eco: Hola mundo")

                async def binary_fragments():
                    yield b"\x00\x01"
                    yield b"\xfe\xff"
                await step(ws.send(binary_fragments()))
                self.assertEqual(await step(ws.recv()), b"Eco: \x00\x01\xfe\xff")
        run(go())

    def test_ping(self):
        async def go():
            async with self.connect() as ws:
                for payload in (b"abc", b"", b"p" * 125):
                    pong = await step(ws.ping(payload))
                    # The waiter completes only for a pong with this very payload.
                    await step(pong)
                await step(ws.send("sigue"))
                self.assertEqual(await step(ws.recv()), "Eco: sigue")
        run(go())

    def test_close_codes_are_echoed(self):
        async def go():
            for code in (1000, 1001, 1003, 1008, 1011, 3000, 3999, 4000, 4999):
                async with self.connect() as ws:
                    await step(ws.send("adios"))
                    self.assertEqual(await step(ws.recv()), "Eco: adios")
                    await step(ws.close(code=code, reason="fin"))
                    self.assertEqual(ws.close_code, code, f"close {code}: the server answered {ws.close_code}")
            await self.expect_still_echoing()
        run(go())

    def test_quit_word(self):
        async def go():
            for word in ("salir", " SALIR "):
                async with self.connect() as ws:
                    await step(ws.send(word))
                    with self.assertRaises(ConnectionClosed, msg=f"{word!r} must close without a reply"):
                        await step(ws.recv())
                    await step(ws.wait_closed())
                    self.assertEqual(ws.close_code, 1000)
            await self.expect_still_echoing()
        run(go())

    def test_deflate(self):
        async def go():
            async with self.connect() as ws:  # websockets offers permessage-deflate by default
                names = [e.name for e in ws.extensions]
                self.assertIn("permessage-deflate", names,
                              f"negotiated: {names}; answered: {ws.response_headers.get('Sec-WebSocket-Extensions')}")
                text = "El veloz murcielago hindu comia feliz cardillo y kiwi. " * 5000
                await step(ws.send(text))
                self.assertEqual(await step(ws.recv()), "Eco: " + text)
                data = os.urandom(100_000)
                await step(ws.send(data))
                self.assertEqual(await step(ws.recv()), b"Eco: " + data)
            async with self.connect(compression=None) as ws:
                self.assertEqual(ws.extensions, [])
                await step(ws.send("sin"))
                self.assertEqual(await step(ws.recv()), "Eco: sin")
        run(go())


class EchoOverSecureWebSocket(EchoOverWebSocket):
    """Every test above over wss://, the certificate verified as a browser would."""

    door, scheme = "echo wss", "wss"

    def server_tls(self):
        directory = tempfile.TemporaryDirectory(prefix="enchufe-wss-")
        self.addCleanup(directory.cleanup)
        made = harness.run([harness.enchufe_path(), "cert", "--out", directory.name])
        self.assertEqual(made.popen.returncode, 0, made.describe())
        cert, key = pathlib.Path(directory.name) / "cert.pem", pathlib.Path(directory.name) / "key.pem"
        self.client_tls = ssl.create_default_context(cafile=str(cert))  # and the host name, 127.0.0.1
        return ("--tls-cert", str(cert), "--tls-key", str(key))

    def test_plain_ws_on_the_wss_port_is_refused(self):
        async def go():
            plain = self.uri.replace("wss://", "ws://", 1)
            with self.assertRaises((ConnectionClosed, OSError, asyncio.TimeoutError, EOFError,
                                    websockets.exceptions.InvalidHandshake, websockets.exceptions.InvalidMessage)):
                async with websockets.connect(plain, open_timeout=STEP):
                    pass
            await self.expect_still_echoing()
        run(go())


class EchoOverWebSocketNoDeflate(unittest.TestCase):
    """`--no-deflate`: the offer is declined, messages still go through."""

    def setUp(self):
        self.server = harness.start_enchufe(
            self, "echo", "--host", "127.0.0.1", "--port", "0", "--web-port", "0", "--no-deflate",
            services=["echo ws"])
        host, port = self.server.address("echo ws")
        self.uri = f"ws://{host}:{port}/"

    def test_deflate_declined(self):
        async def go():
            async with websockets.connect(self.uri, open_timeout=STEP, close_timeout=STEP) as ws:
                self.assertEqual([e.name for e in ws.extensions], [],
                                 f"answered: {ws.response_headers.get('Sec-WebSocket-Extensions')}")
                text = "abc" * 10000
                await step(ws.send(text))
                self.assertEqual(await step(ws.recv()), "Eco: " + text)
        run(go())


if __name__ == "__main__":
    harness.run_tests("websocket interop", __name__)
