#!/usr/bin/env python3
"""The tutorial's echo server (Ejemplo 3) with Desafío 1 done the way the
tutorial suggests: a thread per client, blocking sockets, recv(1024).
Usage: threaded_echo.py PORT"""
import socket
import sys
import threading


def atender(conexion):
    with conexion:
        while True:
            try:
                datos = conexion.recv(1024)
            except ConnectionError:
                break
            if not datos or datos.strip().lower() == b"salir":
                break
            conexion.sendall(b"Eco: " + datos)


def main(port):
    servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    servidor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    servidor.bind(("127.0.0.1", port))
    servidor.listen(1024)
    print(f"listening: echo tcp 127.0.0.1:{port}", flush=True)
    while True:
        conexion, _ = servidor.accept()
        threading.Thread(target=atender, args=(conexion,), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]))
