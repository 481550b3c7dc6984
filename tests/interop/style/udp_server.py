# Tutorial-style UDP echo server (Ejemplo 4), with host and port from argv:
#   python3 udp_server.py HOST PORT       (PORT 0: any free port, printed)
import socket
import sys

host, puerto = sys.argv[1], int(sys.argv[2])

servidor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
servidor.bind((host, puerto))
h, p = servidor.getsockname()
print(f"Servidor UDP listo en {h}:{p}...")

while True:
    datos, direccion = servidor.recvfrom(1024)
    print(f"Mensaje de {direccion}: {datos.decode()}")
    if datos.decode().lower() == "salir":
        break
    servidor.sendto(f"Eco UDP: {datos.decode()}".encode(), direccion)

servidor.close()
