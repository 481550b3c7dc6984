# Tutorial-style greeting client (Ejemplo 2), with host and port from argv:
#   python3 greet_client.py HOST PORT
import socket
import sys

host, puerto = sys.argv[1], int(sys.argv[2])

cliente = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cliente.connect((host, puerto))

mensaje = cliente.recv(1024).decode('utf-8')
print(f"Mensaje recibido: {mensaje}")

cliente.close()
