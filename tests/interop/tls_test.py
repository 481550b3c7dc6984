#!/usr/bin/env python3
"""The TLS ports against peers nobody here wrote: OpenSSL's `openssl
s_client`, Nmap's `ncat --ssl` and Python's ssl module, with netcat-openbsd's
`nc` on the plaintext side.

    python3 tls_test.py [--enchufe build/enchufe] [unittest arguments, e.g. a class name]

Each test starts `enchufe serve greet|echo|chat|all --port 0` with a
certificate (from `enchufe cert`, from `openssl req`, or --tls-self-signed)
and reads the ports from its "listening: SERVICE tls HOST:PORT" lines:

  * OpensslOnEachService: greet, echo and chat over TLS with s_client, which
    also verifies the certificate against a CA file, and refuses a wrong one;
  * ChatAcrossTlsAndPlaintext: an ncat --ssl member and an nc member of one room;
  * PasswordsOnlyOverTls: --require-tls-for-login takes /register and
    /login over ncat --ssl and refuses them over nc.
  * WebOverTls: the chat's page over HTTPS with curl --cacert (and the
    plain http:// door beside it), plain HTTP sent to the HTTPS port;
  * TlsPosture, TlsPostureRsa: TLS 1.3 by default, TLS 1.2 only with ECDHE
    and AEAD, nothing older, no renegotiation (with an ECDSA and an RSA key);
  * CertificateReload: SIGHUP with 100 clients connected, a broken key file,
    and the warning about a key file others can read;
  * SelfSignedFingerprint: the fingerprint printed is the one clients see.

Without openssl, ncat or nc the whole run is skipped (exit code 77, which
CTest reports as skipped), except under CI (the environment variable CI set):
there it fails, so a machine that lost a package cannot pass by skipping
(scripts/setup.sh installs them).
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import harness  # noqa: E402
from harness import CLIENT_TIMEOUT, REPLY_TIMEOUT, Proc, enchufe_path, run  # noqa: E402

SKIP = 77
PEERS = ("openssl", "ncat", "nc", "curl")

# src/services/greet.hpp's default, sent without a newline.
GREETING = b"Hola, cliente. Bienvenido al servidor enchufe!"
CHAT_WELCOME = b"* Welcome to enchufe chat!"

CLIENTS = 100  # connected through the certificate reload
KEYGEN_TIMEOUT = 20.0  # an RSA key on a loaded machine

CERTIFICATE_LINE = re.compile(r"^tls: certificate (.+), SHA-256 fingerprint ([0-9A-F:]+)$", re.M)
# s_client's summary after a handshake: "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384".
NEGOTIATED = re.compile(r"^New, (\S+), Cipher is (\S+)$", re.M)


# --- servers -----------------------------------------------------------------

def printed_certificate(test, server):
    """(subject, fingerprint) from the server's "tls: certificate ..." line."""
    m = CERTIFICATE_LINE.search(server.proc.text())
    test.assertIsNotNone(m, "no 'tls: certificate' line on stdout" + server.proc.describe())
    return m.group(1), m.group(2)


def log_entries(proc):
    """The JSON log lines (--log-format json) on stderr so far, as dicts."""
    entries = []
    for line in proc.err.decode("utf-8", "replace").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            pass  # not a log line
    return entries


def wait_log(proc, predicate, what, timeout=REPLY_TIMEOUT):
    """The first JSON log line for which predicate(entry) holds."""
    deadline = time.monotonic() + timeout
    while True:
        for entry in log_entries(proc):
            if predicate(entry):
                return entry
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} on stderr" + proc.describe())
        time.sleep(0.05)


def wait_event(proc, event):
    return wait_log(proc, lambda e: e.get("event") == event, f"a log line with event {event!r}")


def key_warnings(proc, key):
    """The warnings naming the key file."""
    return [e for e in log_entries(proc) if e.get("level") == "warning" and str(key) in e.get("message", "")]


# --- certificates ------------------------------------------------------------

def temp_dir(test):
    directory = tempfile.TemporaryDirectory(prefix="enchufe-tls-")
    test.addCleanup(directory.cleanup)
    return pathlib.Path(directory.name)


def openssl_fingerprint(test, pem):
    """SHA-256 fingerprint of the first certificate in `pem`, as `openssl x509` computes it."""
    proc = run(["openssl", "x509", "-fingerprint", "-sha256", "-noout"], stdin_data=pem)
    m = re.search(r"Fingerprint=([0-9A-Fa-f:]+)", proc.text())
    test.assertIsNotNone(m, "openssl x509 found no certificate" + proc.describe())
    return m.group(1).upper()


def enchufe_certificate(test, directory):
    """`enchufe cert --out DIR` (ECDSA P-256, for localhost, 127.0.0.1, ::1): (cert, key).

    The fingerprint it prints must be the one openssl computes."""
    proc = run([enchufe_path(), "cert", "--out", directory])
    test.assertEqual(proc.popen.returncode, 0, proc.describe())
    cert, key = directory / "cert.pem", directory / "key.pem"
    test.assertIn(f"SHA-256 fingerprint: {openssl_fingerprint(test, cert.read_bytes())}", proc.text(),
                  proc.describe())
    return cert, key


def rsa_certificate(test, directory):
    """A self-signed RSA 2048 certificate for localhost, made by `openssl req`: (cert, key)."""
    directory.mkdir(parents=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    proc = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
               timeout=KEYGEN_TIMEOUT)
    test.assertEqual(proc.popen.returncode, 0, proc.describe())
    key.chmod(0o600)  # no warning about it
    return cert, key


# --- peers -------------------------------------------------------------------

def s_client(address, *options):
    host, port = address
    return ["openssl", "s_client", "-connect", f"{host}:{port}", *options]


def start_peer(test, argv, name=None):
    """A client talked to while it runs; killed at the end of the test if still running."""
    proc = Proc(argv, name=name)
    test.addCleanup(proc.kill)
    return proc


def seen_fingerprint(test, address):
    """The fingerprint of the certificate a new s_client handshake gets (stdin at EOF: it then quits)."""
    proc = run(s_client(address, "-showcerts"))
    test.assertIn(b"-----BEGIN CERTIFICATE-----", proc.out, proc.describe())
    return openssl_fingerprint(test, proc.out)


def chat_both_ways(test, ana, beto):
    """Two chat members, already connected, take nicknames and hear each other; then both /quit."""
    for nick, proc in (("ana", ana), ("beto", beto)):  # in turn: ana is in the room before beto renames
        proc.wait_stdout(CHAT_WELCOME, CLIENT_TIMEOUT)  # the handshake included
        proc.write(f"/nick {nick}\n")
        proc.wait_stdout(f"* you are {nick} now\n")
    ana.wait_stdout(b" is now known as beto\n")  # beto is in the room
    ana.write("hola beto\n")
    beto.wait_stdout(b"<ana> hola beto\n")
    beto.write("hola ana\n")
    ana.wait_stdout(b"<beto> hola ana\n")
    for proc in (ana, beto):
        proc.write("/quit\n")
        proc.wait_stdout(b"* bye!\n")
        proc.close_stdin()  # ncat, unlike nc and s_client, waits for the end of its input after the server's
        test.assertEqual(proc.wait_exit(), 0, proc.describe())
    for proc, heard in ((ana, b"<beto> hola ana\n"), (beto, b"<ana> hola beto\n")):
        test.assertEqual(proc.out.count(heard), 1, proc.describe())
    test.assertIn(b"ana left (quit)", beto.out, beto.describe())


def read_line(sock):
    """Bytes up to a newline (or the end); the socket's timeout bounds each read."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# ===========================================================================
# s_client on each service
# ===========================================================================

class OpensslOnEachService(unittest.TestCase):
    """`enchufe serve greet|echo|chat --port 0 --tls-cert A`: the TLS port is free too."""

    def setUp(self):
        self.dir = temp_dir(self)
        self.cert, self.key = enchufe_certificate(self, self.dir / "a")

    def serve(self, command, *services):
        return harness.start_enchufe(self, command, "--host", "127.0.0.1", "--port", "0",
                                 "--tls-cert", self.cert, "--tls-key", self.key,
                                 services=services or [f"{command} tls"])

    def assertGreeting(self, address):
        proc = run(s_client(address, "-quiet"))
        self.assertEqual(proc.out, GREETING, proc.describe())
        self.assertEqual(proc.popen.returncode, 0, "the greeting did not end cleanly" + proc.describe())

    def assertEcho(self, address, *options):
        proc = run(s_client(address, "-quiet", *options), stdin_data="hola\nsalir\n")
        self.assertEqual(proc.out, b"Eco: hola\n", proc.describe())
        self.assertEqual(proc.popen.returncode, 0, proc.describe())
        return proc

    def test_greet(self):
        address = self.serve("greet").address("greet tls")
        for _ in range(2):  # it keeps serving
            self.assertGreeting(address)

    def test_echo(self):
        address = self.serve("echo").address("echo tls")
        proc = start_peer(self, s_client(address, "-quiet"))
        proc.write("hola\n")
        proc.wait_stdout(b"Eco: hola\n", CLIENT_TIMEOUT)  # the handshake included
        proc.write("¿Qué tal? ñandú\n")
        proc.wait_stdout("Eco: ¿Qué tal? ñandú\n")
        proc.write("salir\n")
        self.assertEqual(proc.wait_exit(), 0, proc.describe())
        self.assertEqual(proc.text(), "Eco: hola\nEco: ¿Qué tal? ñandú\n", proc.describe())

    def test_chat(self):
        address = self.serve("chat").address("chat tls")
        ana, beto = (start_peer(self, s_client(address, "-quiet"), name=f"s_client {nick}") for nick in ("ana", "beto"))
        chat_both_ways(self, ana, beto)

    def test_serve_all_port_0_frees_every_tls_port(self):
        server = self.serve("all", "greet tls", "echo tls", "chat tls")
        ports = {server.port(f"{s} tls") for s in ("greet", "echo", "chat")}
        self.assertTrue(ports.isdisjoint({5443, 6443, 6697}), f"a default TLS port was used: {ports}")
        self.assertGreeting(server.address("greet tls"))
        self.assertEcho(server.address("echo tls"))

    def test_verified_against_the_certificate(self):
        address = self.serve("echo").address("echo tls")
        proc = self.assertEcho(address, "-verify_return_error", "-CAfile", self.cert,
                               "-servername", "localhost", "-verify_hostname", "localhost")
        self.assertNotIn(b"verify error", proc.err, proc.describe())

    def test_wrong_ca_file_or_name_is_refused(self):
        address = self.serve("echo").address("echo tls")
        other, _ = enchufe_certificate(self, self.dir / "b")
        for ca_file, name in ((other, "localhost"), (self.cert, "otro.example.org")):
            proc = run(s_client(address, "-quiet", "-verify_return_error", "-CAfile", ca_file,
                                "-servername", name, "-verify_hostname", name), stdin_data="hola\nsalir\n")
            self.assertNotEqual(proc.popen.returncode, 0, proc.describe())
            self.assertIn(b"certificate verify failed", proc.err, proc.describe())
            self.assertEqual(proc.out, b"", proc.describe())


# ===========================================================================
# One chat room, two doors
# ===========================================================================

class ChatAcrossTlsAndPlaintext(unittest.TestCase):
    def test_ncat_ssl_and_nc_members_hear_each_other(self):
        cert, key = enchufe_certificate(self, temp_dir(self) / "a")
        server = harness.start_enchufe(self, "chat", "--host", "127.0.0.1", "--port", "0",
                                   "--tls-cert", cert, "--tls-key", key, services=["chat", "chat tls"])
        tls_host, tls_port = server.address("chat tls")
        host, port = server.address("chat")
        # ncat checks the name in the certificate against --ssl-servername
        # (it does not match an IP address against the certificate's IP names).
        ana = start_peer(self, ["ncat", "--ssl", "--ssl-verify", "--ssl-trustfile", cert,
                                "--ssl-servername", "localhost", tls_host, tls_port])
        beto = start_peer(self, ["nc", host, port])
        chat_both_ways(self, ana, beto)


class PasswordsOnlyOverTls(unittest.TestCase):
    """`serve chat --require-tls-for-login`: /register and /login over ncat --ssl, refused over nc."""

    def test_register_and_login_over_tls_refused_in_clear(self):
        cert, key = enchufe_certificate(self, temp_dir(self) / "a")
        server = harness.start_enchufe(self, "chat", "--host", "127.0.0.1", "--port", "0", "--no-web",
                                       "--tls-cert", cert, "--tls-key", key, "--require-tls-for-login",
                                       services=["chat", "chat tls"])
        tls_host, tls_port = server.address("chat tls")
        host, port = server.address("chat")
        ncat = ["ncat", "--ssl", "--ssl-verify", "--ssl-trustfile", cert, "--ssl-servername", "localhost",
                tls_host, tls_port]
        ana = start_peer(self, ncat)
        ana.wait_stdout(CHAT_WELCOME, CLIENT_TIMEOUT)
        ana.write("/nick ana\n")
        ana.wait_stdout(b"* you are ana now\n")
        ana.write("/register correct horse\n")
        ana.wait_stdout(b"* ana is registered to you: nobody else can take it, and /login ana PASSWORD takes it back\n")
        ana.write("/quit\n")
        ana.wait_stdout(b"* bye!\n")
        ana.close_stdin()
        self.assertEqual(ana.wait_exit(), 0, ana.describe())

        clear = start_peer(self, ["nc", host, port])
        clear.wait_stdout(CHAT_WELCOME, CLIENT_TIMEOUT)
        clear.write("/login ana correct horse\n")
        clear.wait_stdout(b"error: this server takes passwords over TLS only (--require-tls-for-login)")
        clear.write("/nick ana\n")
        clear.wait_stdout(b"error: nickname 'ana' is registered; if it is yours: /login ana PASSWORD\n")

        again = start_peer(self, ncat)
        again.wait_stdout(CHAT_WELCOME, CLIENT_TIMEOUT)
        again.write("/login ana correct horse\n")
        again.wait_stdout(b"* you are logged in as ana\n* you are ana now\n")
        for proc in (clear, again):
            proc.write("/quit\n")
            proc.wait_stdout(b"* bye!\n")
            proc.close_stdin()
            self.assertEqual(proc.wait_exit(), 0, proc.describe())


# ===========================================================================
# The chat's page over HTTPS
# ===========================================================================

class WebOverTls(unittest.TestCase):
    """`enchufe serve chat --tls-cert A`: the page at https:// beside http://."""

    def setUp(self):
        self.cert, key = enchufe_certificate(self, temp_dir(self) / "a")
        self.server = harness.start_enchufe(self, "chat", "--host", "127.0.0.1", "--port", "0", "--log-format", "json",
                                            "--tls-cert", self.cert, "--tls-key", key,
                                            services=["chat http", "chat https"])
        _, self.https_port = self.server.address("chat https")

    def curl(self, url, *options):
        """curl's output for `url` (the certificate trusted through --cacert, localhost as 127.0.0.1)."""
        return run(["curl", "--silent", "--show-error", "--max-time", str(CLIENT_TIMEOUT), "--cacert", self.cert,
                    *options, url])

    def test_page_and_health_check_over_https(self):
        url = f"https://localhost:{self.https_port}"
        page = self.curl(f"{url}/", "--include")
        self.assertEqual(page.popen.returncode, 0, page.describe())
        head, _, body = page.out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), page.describe())
        self.assertIn(b"content-security-policy:", head.lower(), page.describe())
        self.assertIn(b"<script", body, page.describe())
        # The same page as the plain door's, byte for byte.
        _, http_port = self.server.address("chat http")
        plain = self.curl(f"http://127.0.0.1:{http_port}/")
        self.assertEqual(plain.out, body, plain.describe())
        health = self.curl(f"{url}/healthz")
        self.assertEqual((health.popen.returncode, health.out), (0, b"ok\n"), health.describe())

    def test_untrusted_certificate_is_refused_by_curl(self):
        other, _ = enchufe_certificate(self, temp_dir(self) / "b")
        proc = run(["curl", "--silent", "--show-error", "--max-time", str(CLIENT_TIMEOUT), "--cacert", other,
                    f"https://localhost:{self.https_port}/healthz"])
        self.assertEqual(proc.popen.returncode, 60, "curl's 'peer certificate cannot be authenticated'" + proc.describe())

    def test_plain_http_to_the_https_port_is_refused_and_logged(self):
        proc = self.curl(f"http://127.0.0.1:{self.https_port}/healthz")
        self.assertNotEqual(proc.popen.returncode, 0, proc.describe())
        self.assertNotIn(b"ok", proc.out, proc.describe())
        entry = wait_event(self.server.proc, "tls_refused")
        self.assertIn("does not speak TLS", entry.get("message", ""), entry)
        self.assertIn("GET /healthz", entry.get("message", ""), entry)
        health = self.curl(f"https://localhost:{self.https_port}/healthz")  # and it goes on
        self.assertEqual(health.out, b"ok\n", health.describe())


# ===========================================================================
# Protocol versions, ciphers, renegotiation
# ===========================================================================

class TlsPosture(unittest.TestCase):
    """With `enchufe cert`'s ECDSA key."""

    # TLS 1.2 suites s_client offers alone. Each refused one is one the key
    # could sign for, so only the server's policy stands in the way.
    allowed = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305")
    refused = ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384")  # CBC: no AEAD

    def certificate(self, directory):
        return enchufe_certificate(self, directory)

    def setUp(self):
        cert, key = self.certificate(temp_dir(self) / "a")
        server = harness.start_enchufe(self, "echo", "--host", "127.0.0.1", "--port", "0",
                                   "--tls-cert", cert, "--tls-key", key, services=["echo tls"])
        self.address = server.address("echo tls")

    def negotiate(self, *options):
        """(protocol, cipher) of a handshake by s_client with these options."""
        proc = run(s_client(self.address, *options))
        self.assertEqual(proc.popen.returncode, 0, proc.describe())
        m = NEGOTIATED.search(proc.text())
        self.assertIsNotNone(m, proc.describe())
        return m.group(1), m.group(2)

    def assertRefused(self, alert, *options):
        """The server answers s_client's hello with this alert (so the client did offer it)."""
        proc = run(s_client(self.address, *options))
        self.assertNotEqual(proc.popen.returncode, 0, proc.describe())
        self.assertIn(b"Cipher is (NONE)", proc.out, proc.describe())
        self.assertIn(alert, proc.err, proc.describe())

    def test_tls13_by_default(self):
        protocol, cipher = self.negotiate()
        self.assertEqual(protocol, "TLSv1.3")
        self.assertTrue(cipher.startswith("TLS_"), cipher)

    def test_tls12_with_ecdhe_and_aead(self):
        protocol, cipher = self.negotiate("-tls1_2")
        self.assertEqual(protocol, "TLSv1.2")
        self.assertRegex(cipher, r"^ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$")
        for suite in self.allowed:
            self.assertEqual(self.negotiate("-tls1_2", "-cipher", suite), ("TLSv1.2", suite))
        proc = run(s_client(self.address, "-quiet", "-tls1_2"), stdin_data="hola\nsalir\n")
        self.assertEqual(proc.out, b"Eco: hola\n", proc.describe())

    def test_older_versions_refused(self):
        # SECLEVEL=0: this s_client may offer them (its defaults might not).
        for version in ("-tls1_1", "-tls1"):
            self.assertRefused(b"alert protocol version", version, "-cipher", "DEFAULT:@SECLEVEL=0")

    def test_tls12_without_ecdhe_or_aead_refused(self):
        for suite in self.refused:
            self.assertRefused(b"alert handshake failure", "-tls1_2", "-cipher", f"{suite}:@SECLEVEL=0")

    def test_renegotiation_refused(self):
        proc = start_peer(self, s_client(self.address, "-tls1_2"))
        proc.wait_stdout(lambda out: NEGOTIATED.search(out.decode("utf-8", "replace")) is not None,
                         CLIENT_TIMEOUT, what="s_client's handshake summary")
        proc.write("R\n")  # s_client's command: renegotiate
        self.assertNotEqual(proc.wait_exit(), 0, proc.describe())
        self.assertIn(b"RENEGOTIATING", proc.err, proc.describe())
        self.assertIn(b"no renegotiation", proc.err, proc.describe())
        self.assertEqual(self.negotiate("-tls1_2")[0], "TLSv1.2")  # and the server goes on


class TlsPostureRsa(TlsPosture):
    """With an RSA key from `openssl req`: RSA key exchange and finite-field DHE are possible for it."""

    allowed = ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305")
    refused = ("AES128-SHA", "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA")

    def certificate(self, directory):
        return rsa_certificate(self, directory)


# ===========================================================================
# SIGHUP: --tls-cert and --tls-key read again
# ===========================================================================

class CertificateReload(unittest.TestCase):
    """`serve echo --tls-cert live/cert.pem --tls-key live/key.pem`, first with A's pair, then B's."""

    def setUp(self):
        directory = temp_dir(self)
        self.a = enchufe_certificate(self, directory / "a")
        self.b = enchufe_certificate(self, directory / "b")
        live = directory / "live"
        live.mkdir()
        self.cert, self.key = live / "cert.pem", live / "key.pem"
        self.install(self.a)
        self.key.chmod(0o600)

    def install(self, pair):
        """Writes a pair over the live files (which keep their modes)."""
        shutil.copyfile(pair[0], self.cert)
        shutil.copyfile(pair[1], self.key)

    def serve(self):
        return harness.start_enchufe(self, "echo", "--host", "127.0.0.1", "--port", "0", "--log-format", "json",
                                 "--tls-cert", self.cert, "--tls-key", self.key, services=["echo tls"])

    def hangup(self, server, event):
        server.proc.popen.send_signal(signal.SIGHUP)
        return wait_event(server.proc, event)

    def test_sighup_swaps_the_certificate_and_drops_nobody(self):
        server = self.serve()
        address = server.address("echo tls")
        fingerprint_a = openssl_fingerprint(self, self.a[0].read_bytes())
        fingerprint_b = openssl_fingerprint(self, self.b[0].read_bytes())
        self.assertEqual(seen_fingerprint(self, address), fingerprint_a)

        trusts_a = ssl.create_default_context(cafile=str(self.a[0]))  # A's certificate, pinned

        def connect():
            raw = socket.create_connection(address, timeout=CLIENT_TIMEOUT)
            self.addCleanup(raw.close)
            tls = trusts_a.wrap_socket(raw, server_hostname="localhost")
            self.addCleanup(tls.close)
            tls.settimeout(REPLY_TIMEOUT)
            return tls

        clients = [connect() for _ in range(CLIENTS)]

        def all_echo(word):
            for i, tls in enumerate(clients):
                tls.sendall(f"{word} {i}\n".encode())
            for i, tls in enumerate(clients):
                self.assertEqual(read_line(tls), f"Eco: {word} {i}\n".encode(), f"client {i} after {word!r}")

        all_echo("uno")
        self.install(self.b)
        reloaded = self.hangup(server, "tls_reloaded")
        self.assertIn(fingerprint_b, reloaded.get("message", ""), reloaded)
        all_echo("dos")
        self.assertEqual(seen_fingerprint(self, address), fingerprint_b)
        with self.assertRaises(ssl.SSLCertVerificationError):
            connect()  # a new handshake gets B, which A's pin refuses

        self.key.write_bytes(b"not a key\n")
        failed = self.hangup(server, "tls_reload_failed")
        self.assertEqual(failed.get("level"), "warning", failed)
        self.assertEqual(seen_fingerprint(self, address), fingerprint_b)
        all_echo("tres")

    def test_key_readable_by_others_is_warned_about(self):
        server = self.serve()
        wait_log(server.proc, lambda e: e.get("message", "").startswith("serving with"), "the 'serving with' line")
        self.assertEqual(key_warnings(server.proc, self.key), [], "mode 0600 is warned about" + server.proc.describe())

        self.key.chmod(0o644)
        self.hangup(server, "tls_reloaded")  # logged after the key's check
        self.assertEqual(len(key_warnings(server.proc, self.key)), 1, server.proc.describe())

        again = self.serve()
        warning = wait_log(again.proc, lambda e: str(self.key) in e.get("message", ""), "a warning naming the key")
        self.assertEqual(warning.get("level"), "warning", warning)
        self.assertIn("0644", warning.get("message", ""), warning)


# ===========================================================================
# --tls-self-signed
# ===========================================================================

class SelfSignedFingerprint(unittest.TestCase):
    def test_printed_fingerprint_is_the_one_clients_see(self):
        server = harness.start_enchufe(self, "greet", "--host", "127.0.0.1", "--port", "0", "--tls-self-signed",
                                   "--log-format", "json", services=["greet tls"])
        address = server.address("greet tls")
        subject, printed = printed_certificate(self, server)
        self.assertEqual(subject, "CN=localhost")
        proc = run(s_client(address, "-showcerts"))  # may quit (stdin at EOF) before the greeting
        self.assertEqual(openssl_fingerprint(self, proc.out), printed)

        # The certificate is for localhost: trusted as its own CA, it verifies.
        ca_file = temp_dir(self) / "seen.pem"
        ca_file.write_bytes(re.search(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n",
                                      proc.out, re.S).group(0))
        proc = run(s_client(address, "-quiet", "-verify_return_error", "-CAfile", ca_file,
                            "-servername", "localhost", "-verify_hostname", "localhost"))
        self.assertEqual((proc.popen.returncode, proc.out), (0, GREETING), proc.describe())

        # SIGHUP has nothing to read again: the same certificate stays.
        server.proc.popen.send_signal(signal.SIGHUP)
        wait_log(server.proc, lambda e: "nothing to reload" in e.get("message", ""), "the 'nothing to reload' line")
        self.assertEqual(seen_fingerprint(self, address), printed)


def require_peers():
    missing = [p for p in PEERS if shutil.which(p) is None]
    if not missing:
        return
    message = (f"tls interop: {', '.join(missing)} missing (Debian packages openssl, ncat, netcat-openbsd; "
               "scripts/setup.sh installs them)")
    if os.environ.get("CI"):
        sys.exit(message + "; failing under CI")
    print(message + "; skipped", file=sys.stderr)
    sys.exit(SKIP)


if __name__ == "__main__":
    harness.run_tests("tls interop", __name__, before=require_peers)
