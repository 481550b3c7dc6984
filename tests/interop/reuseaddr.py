"""Runs one of the tutorial's programs unchanged, with SO_REUSEADDR on its TCP sockets.

    python3 reuseaddr.py tutorial/greet_server.py

Why: the tutorial's servers bind the fixed ports 5000 and 6000 without
SO_REUSEADDR. The side that closes a TCP connection first keeps its port in
TIME_WAIT for 60 s, and Linux refuses a bind() next to a TIME_WAIT socket
unless both sockets set SO_REUSEADDR. The greeting server always closes first,
so without this the suite could run only once a minute, and a test of our
server on port 5000 would block the tutorial's server for the next minute (and
the other way round). The program's text is executed as is (runpy, as
`python3 FILE` would); only bind() of a TCP socket gains the option first.
"""

import runpy
import socket
import sys

_bind = socket.socket.bind


def _bind_reusing(self, address):
    if self.type == socket.SOCK_STREAM:
        self.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return _bind(self, address)


socket.socket.bind = _bind_reusing

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: reuseaddr.py PROGRAM.py [ARGS...]")
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
