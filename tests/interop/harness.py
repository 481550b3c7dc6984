"""Process and port helpers for the interop tests (standard library only).

Every process started here is watched by reader threads, so no pipe can fill
up and block it, and every wait has a timeout: a test fails, it never hangs.
"""

import collections
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = pathlib.Path(__file__).resolve().parent
TUTORIAL = HERE / "tutorial"  # the tutorial's six programs, verbatim
STYLE = HERE / "style"  # the same programs, host and port from argv
REUSEADDR = HERE / "reuseaddr.py"  # runs a tutorial server unchanged, with SO_REUSEADDR

PYTHON = sys.executable

# How long anything may take. Loopback is fast: these are generous on purpose
# (a loaded CI machine), yet keep a broken test short.
START_TIMEOUT = 5.0  # a server printing that it listens
CLIENT_TIMEOUT = 5.0  # a client program running to its end
REPLY_TIMEOUT = 3.0  # one reply on a socket or on a client's stdout
STOP_TIMEOUT = 2.0  # the contract: SIGTERM -> exit 0 within 2 s
SILENCE = 0.4  # how long "no reply" is waited for

# The tutorial's programs print Spanish text (Tú, ¿Cómo estás?) whatever the
# locale; bytecode files are not written into the source tree.
ENV = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1")
ENV.pop("PYTHONUNBUFFERED", None)


def enchufe_path():
    """The binary: --enchufe on the command line (CTest), $ENCHUFE, or build/enchufe."""
    path = os.environ.get("ENCHUFE") or str(HERE.parent.parent / "build" / "enchufe")
    return path


class Proc:
    """A child process whose stdout and stderr are collected as they arrive."""

    def __init__(self, argv, name=None, stdin=subprocess.PIPE, env=None):
        self.argv = [str(a) for a in argv]
        self.name = name or pathlib.Path(self.argv[0]).name
        self._cond = threading.Condition()
        self._out = bytearray()
        self._err = bytearray()
        self.popen = subprocess.Popen(
            self.argv,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env or ENV,
        )
        self._readers = [
            threading.Thread(target=self._pump, args=(self.popen.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.popen.stderr, self._err), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _pump(self, pipe, sink):
        fd = pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    pipe.close()  # the child closed its end (or exited)
                    self._cond.notify_all()
                    return
                sink.extend(chunk)
                self._cond.notify_all()

    # --- what it printed -------------------------------------------------
    @property
    def out(self):
        with self._cond:
            return bytes(self._out)

    @property
    def err(self):
        with self._cond:
            return bytes(self._err)

    def text(self):
        return self.out.decode("utf-8", "replace")

    def describe(self):
        rc = self.popen.poll()
        return (
            f"\n--- {self.name} ({' '.join(self.argv)}), "
            f"{'running' if rc is None else f'exit code {rc}'}\n"
            f"--- stdout: {self.out!r}\n--- stderr:\n{self.err.decode('utf-8', 'replace')}"
        )

    # --- talking to it ---------------------------------------------------
    def write(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        try:
            self.popen.stdin.write(data)
            self.popen.stdin.flush()
        except BrokenPipeError:
            raise AssertionError(f"{self.name} stopped reading its stdin before {data!r}" + self.describe())

    def close_stdin(self):
        if self.popen.stdin and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except BrokenPipeError:
                pass

    def wait_stdout(self, predicate, timeout=REPLY_TIMEOUT, what="output"):
        """Waits until predicate(stdout bytes) holds; fails (AssertionError) at the timeout."""
        if isinstance(predicate, (bytes, str)):
            expected = predicate.encode("utf-8") if isinstance(predicate, str) else predicate
            what = f"stdout to contain {expected!r}"
            predicate = lambda out: expected in out  # noqa: E731
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(bytes(self._out)):
                left = deadline - time.monotonic()
                exited = self.popen.poll() is not None and not any(t.is_alive() for t in self._readers)
                if left <= 0 or exited:
                    break
                self._cond.wait(min(left, 0.05))
            else:
                return bytes(self._out)
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited while waiting for {what}" + self.describe())
        raise AssertionError(f"timed out after {timeout} s waiting for {what}" + self.describe())

    def wait_exit(self, timeout=CLIENT_TIMEOUT):
        """Waits for the process to end and its pipes to drain; returns the exit code."""
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not exit within {timeout} s (killed)" + self.describe())
        for t in self._readers:
            t.join(timeout)
        return rc

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self.close_stdin()
        for t in self._readers:
            t.join(STOP_TIMEOUT)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait, then SIGKILL. Returns (exit code, True if it had to be killed)."""
        killed = False
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                killed = True
                self.popen.kill()
                self.popen.wait(STOP_TIMEOUT)
        self.close_stdin()
        for t in self._readers:
            t.join(STOP_TIMEOUT)
        return self.popen.returncode, killed


def run(argv, stdin_data=b"", timeout=CLIENT_TIMEOUT, name=None):
    """Runs a client to its end with stdin fed; returns the finished Proc."""
    proc = Proc(argv, name=name)
    try:
        proc.write(stdin_data)
    except AssertionError:
        pass  # it exited without reading everything: its output tells
    proc.close_stdin()
    proc.wait_exit(timeout)
    return proc


# --- servers ---------------------------------------------------------------

LISTENING = re.compile(r"^listening: (\S+) (tcp|udp|tls|http|https|ws|wss) (.+):(\d+)$")


def parse_listening(out):
    """{service: [(host, port), ...]} from the 'listening: ...' lines of enchufe serve.

    A service's own sockets (tcp, udp) are keyed by its name ("echo"), its
    TLS port and web doors by name and protocol ("echo tls", "chat http",
    "chat https", "echo ws", "echo wss")."""
    found = {}
    for line in out.decode("utf-8", "replace").splitlines():
        m = LISTENING.match(line)
        if m:
            host = m.group(3).strip("[]")
            key = m.group(1) if m.group(2) in ("tcp", "udp") else f"{m.group(1)} {m.group(2)}"
            found.setdefault(key, []).append((host, int(m.group(4))))
    return found


def pick_v4(addresses):
    """The 127.0.0.1 address among those a service listens on (the tutorial is IPv4)."""
    for host, port in addresses:
        if host == "127.0.0.1":
            return host, port
    return addresses[0]


def private_state_home(args):
    """A fresh XDG_STATE_HOME for one `enchufe serve ARGS`, or None when ARGS give --history-db.

    serve chat|all keeps the chat's history in $XDG_STATE_HOME/enchufe/chat.db
    by default, one server per file (flock): servers of tests running at once
    must not share it, no history may pass from one test to the next, and no
    test may write to the home of whoever runs it. The caller cleans it up
    once the server ended."""
    if any(str(a).startswith("--history-db") for a in args):
        return None
    return tempfile.TemporaryDirectory(prefix="enchufe-state-")


class EnchufeServer:
    """`enchufe serve ...`, started (with a private_state_home) and known to listen."""

    def __init__(self, args, services):
        self.state_home = private_state_home(args)
        env = ENV if self.state_home is None else dict(ENV, XDG_STATE_HOME=self.state_home.name)
        self.proc = Proc([enchufe_path(), "serve", *args], name="enchufe serve " + args[0], env=env)
        want = set(services)

        def ready(out):
            return want <= set(parse_listening(out))

        try:
            self.proc.wait_stdout(ready, START_TIMEOUT, what=f"'listening:' lines for {sorted(want)}")
        except AssertionError:
            self.stop()
            raise
        self.listening = parse_listening(self.proc.out)
        self.checked = False

    def address(self, service):
        return pick_v4(self.listening[service])

    def port(self, service):
        return self.address(service)[1]

    def stop(self):
        """Proc.stop(), then the state folder goes. Returns (exit code, True if it had to be killed)."""
        stopped = self.proc.stop()
        if self.state_home is not None:
            self.state_home.cleanup()
        return stopped

    def stop_and_check(self, test):
        """The contract: SIGTERM -> exit code 0 within 2 s. Checked once."""
        if self.checked:
            return
        self.checked = True
        alive = self.proc.popen.poll() is None
        rc, killed = self.stop()
        test.assertTrue(alive, "our server died during the test" + self.proc.describe())
        test.assertFalse(killed, f"our server did not exit within {STOP_TIMEOUT} s of SIGTERM (killed)" + self.proc.describe())
        test.assertEqual(rc, 0, "our server did not exit 0 on SIGTERM" + self.proc.describe())


def start_enchufe(test, *args, services):
    """Starts `enchufe serve ARGS`, registers its SIGTERM + exit-code check as a cleanup."""
    server = EnchufeServer(list(args), services)
    test.addCleanup(server.stop_and_check, test)
    return server


class PythonServer:
    """A tutorial (or tutorial-style) server; ready once it printed its first line."""

    def __init__(self, script, args=(), ready_line="", reuseaddr=False):
        argv = [PYTHON, "-u"]
        if reuseaddr:
            argv.append(REUSEADDR)
        argv += [script, *args]
        self.proc = Proc(argv, name=pathlib.Path(script).name)
        try:
            self.proc.wait_stdout(lambda out: ready_line.encode() in out and out.endswith(b"\n"),
                                  START_TIMEOUT, what=f"the server to print {ready_line!r}")
        except AssertionError:
            self.proc.stop()
            raise

    def stop(self):
        self.proc.stop()


def start_python_server(test, script, args=(), ready_line="", reuseaddr=False):
    server = PythonServer(script, args, ready_line, reuseaddr)
    test.addCleanup(server.stop)  # no-op when it already exited on its own
    return server


STYLE_READY = re.compile(rb"en (\S+):(\d+)\.\.\.\n")


def start_style_server(test, name):
    """A tutorial-style server from style/ on a free port; returns (server, host, port)."""
    server = start_python_server(test, STYLE / name, ["127.0.0.1", "0"], ready_line="...")
    m = STYLE_READY.search(server.proc.out)
    test.assertIsNotNone(m, "style server did not print its address" + server.proc.describe())
    return server, m.group(1).decode(), int(m.group(2))


# --- the tutorial's fixed ports --------------------------------------------

_TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN"}


def _holders(port, proto):
    """Which sockets of this machine use `port` (from /proc/net), for the error message."""
    seen = []
    for table in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        try:
            lines = pathlib.Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                seen.append(_TCP_STATES.get(fields[3], "bound") if proto == "tcp" else "bound")
    return seen


def _summary(holders):
    counts = collections.Counter(holders)
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none found"


def tutorial_port_problem(port, proto):
    """None when 127.0.0.1:port can be bound the way our test servers bind it; else why not."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    try:
        if proto == "tcp":
            # Like enchufe and reuseaddr.py: TIME_WAIT leftovers of a program
            # that also used SO_REUSEADDR do not count.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return None
    except OSError as e:
        holders = _holders(port, proto)
        if "LISTEN" in holders or (proto == "udp" and holders):
            why = "another program is listening on it"
        elif "TIME_WAIT" in holders:
            why = ("it has connections in TIME_WAIT left by a program without SO_REUSEADDR "
                   "(e.g. the tutorial's server run by hand); they expire within 60 s")
        else:
            why = f"bind failed: {e}"
        return (f"the tutorial's fixed port {port}/{proto} on localhost (127.0.0.1) is already taken: {why}. "
                f"The tutorial's programs cannot use another port; free it (see `ss -tanup | grep {port}`) "
                f"and run the tests again. Sockets on that port: {_summary(holders)}")
    finally:
        s.close()


def require_tutorial_ports(test, *ports):
    """Fails the test with a clear message if a default port (5000/6000 tcp, 7000 udp) is taken."""
    for port in ports:
        proto = "udp" if port == 7000 else "tcp"
        problem = tutorial_port_problem(port, proto)
        if problem:
            test.fail(problem)


# --- tutorial-style socket snippets (blocking, recv(1024)) -----------------

def tcp_client(test, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    test.addCleanup(s.close)
    s.settimeout(REPLY_TIMEOUT)  # a missing reply fails the test instead of hanging it
    s.connect((host, port))
    return s


def udp_client(test):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    test.addCleanup(s.close)
    s.settimeout(REPLY_TIMEOUT)
    return s


def run_tests(label, module, before=None):
    """The main() of every interop driver: `--enchufe PATH` then unittest's
    own arguments (-v, class names, -k patterns). Exits non-zero when a test
    fails or when the selection matched no test (a typo in CMake must not
    pass silently). `before` runs once the binary is known to exist."""
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--enchufe":
        os.environ["ENCHUFE"] = args[1]
        args = args[2:]
    binary = enchufe_path()
    if not os.access(binary, os.X_OK):
        sys.exit(f"{label}: no enchufe binary at {binary} (build it, or pass --enchufe PATH)")
    if before:
        before()
    program = unittest.main(module=module, argv=[sys.argv[0], *args], exit=False)
    if program.result.testsRun == 0:
        sys.exit(f"{label}: no test matched the selection " + " ".join(args))
    sys.exit(0 if program.result.wasSuccessful() else 1)
