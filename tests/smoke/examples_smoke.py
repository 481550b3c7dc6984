"""Runs one of the tutorial's example pairs once: starts the server, feeds the
client a scripted session, and checks byte for byte what the client prints.

    python3 examples_smoke.py BUILD/examples greet|echo|udp

The examples take no arguments: they use the tutorial's fixed ports (5000,
6000, 7000 on localhost), so CTest runs these under the RESOURCE_LOCK
tutorial_ports, like the interop tests that use the same ports. Every wait is
bounded, and the server is stopped whatever happens (Ctrl-C, as a user would;
it must go within STOP_TIMEOUT).
"""

import ctypes
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

# name: server, client, port, protocol, the client's stdin, what it must print
CASES = {
    "greet": ("greet_server", "greet_client", 5000, "tcp", "",
              "Mensaje recibido: Hola, cliente. Bienvenido al servidor enchufe!\n"),
    "echo": ("echo_server", "echo_client", 6000, "tcp", "hola\nqué tal\nsalir\n",
             "Tú: Eco: hola\nTú: Eco: qué tal\nTú: "),
    "udp": ("udp_server", "udp_client", 7000, "udp", "hola\nsalir\n",
            "Tú: Eco UDP: hola\nTú: "),
}

# Generous for a loaded CI machine, yet short enough to fail well inside
# CTest's TIMEOUT (a CTest timeout would say nothing about why).
START_TIMEOUT = 5.0  # the server holding its port
CLIENT_TIMEOUT = 10.0  # the client's whole session
STOP_TIMEOUT = 5.0  # the server exiting after Ctrl-C

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_driver():
    # If CTest kills this driver, its children must not live on holding the port.
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def fail(message, server_log=None):
    print(f"examples_smoke: {message}", file=sys.stderr)
    if server_log is not None:
        print(f"--- the server printed:\n{server_log}", file=sys.stderr)
    sys.exit(1)


def holds_port(pid, port, protocol):
    """Whether process `pid` has a socket on `port` (for TCP, listening)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    for table in (pathlib.Path(f"/proc/net/{protocol}"), pathlib.Path(f"/proc/net/{protocol}6")):
        if not table.exists():
            continue  # no IPv6
        for row in table.read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            listening = protocol == "udp" or state == "0A"
            if int(local.rsplit(":", 1)[1], 16) == port and listening and inode in inodes:
                return True
    return False


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        sys.exit(f"usage: {sys.argv[0]} EXAMPLES_DIR {'|'.join(CASES)}")
    bin_dir = pathlib.Path(sys.argv[1])
    server_name, client_name, port, protocol, stdin, expected = CASES[sys.argv[2]]

    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([bin_dir / server_name], stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, preexec_fn=_die_with_driver)

        def server_log():
            log.seek(0)
            return log.read().decode("utf-8", "replace")

        try:
            # The server prints its banner before it binds: wait for the port
            # itself, or the client could knock before anyone listens.
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if server.poll() is not None:
                    fail(f"{server_name} exited with code {server.returncode} before taking {protocol} port "
                         f"{port} (another program on it? see `ss -anp | grep {port}`)", server_log())
                try:
                    if holds_port(server.pid, port, protocol):
                        break
                except OSError:
                    pass  # it is exiting: the next poll() says how
                if time.monotonic() > deadline:
                    fail(f"{server_name} did not take {protocol} port {port} within {START_TIMEOUT} s",
                         server_log())
                time.sleep(0.02)

            try:
                client = subprocess.run([bin_dir / client_name], input=stdin.encode(), capture_output=True,
                                        timeout=CLIENT_TIMEOUT, preexec_fn=_die_with_driver)
            except subprocess.TimeoutExpired as e:
                fail(f"{client_name} did not finish within {CLIENT_TIMEOUT} s; it printed {e.stdout!r}, "
                     f"stderr {e.stderr!r}", server_log())
            if client.returncode != 0 or client.stdout != expected.encode():
                printed = client.stdout.decode("utf-8", "replace")
                fail(f"{client_name} exited with code {client.returncode}, printing\n  {printed!r}\n"
                     f"instead of\n  {expected!r}\nstderr: {client.stderr.decode('utf-8', 'replace')!r}",
                     server_log())
            if server.poll() is not None:
                fail(f"{server_name} exited with code {server.returncode} instead of serving on", server_log())
            server.send_signal(signal.SIGINT)
            try:
                code = server.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                fail(f"{server_name} did not stop within {STOP_TIMEOUT} s of Ctrl-C (SIGINT)", server_log())
            if code != 0:
                fail(f"{server_name} exited with code {code} after Ctrl-C (SIGINT)", server_log())
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    print(f"examples_smoke: {server_name} and {client_name} talked as the tutorial says")


if __name__ == "__main__":
    main()
