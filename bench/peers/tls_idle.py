#!/usr/bin/env python3
"""Server memory per idle TLS connection: opens N TLS connections to PORT
(Python's ssl module, no verification: it measures, it does not trust),
sends one line on each and reads its answer, holds them all, and prints the
growth of the server's RSS (/proc/PID/status) divided by N.

    bench/peers/tls_idle.py PORT N PID
"""

import socket
import ssl
import sys
import time

WARM_UP = 200  # connections opened first, so the loop's own buffers are in the baseline


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"no VmRSS for {pid}")


def main():
    port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    def connect():
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = context.wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"hola\n")
        tls.recv(100)
        return tls

    warm = [connect() for _ in range(WARM_UP)]
    time.sleep(0.3)
    before = rss(pid)
    held = [connect() for _ in range(n)]
    time.sleep(0.5)
    after = rss(pid)
    print(f"{(after - before) / n:,.0f} B of server RSS per idle TLS connection "
          f"({n:,} held, {held[0].version()}, {held[0].cipher()[0]})")
    for s in warm + held:
        s.close()


if __name__ == "__main__":
    main()
