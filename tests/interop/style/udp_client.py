# Tutorial-style UDP client (Ejemplo 4), with host and port from argv:
#   python3 udp_client.py HOST PORT
import socket
import sys

host, puerto = sys.argv[1], int(sys.argv[2])

cliente = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

while True:
    mensaje = input("Tú: ")
    cliente.sendto(mensaje.encode(), (host, puerto))
    if mensaje.lower() == "salir":
        break
    datos, _ = cliente.recvfrom(1024)
    print(datos.decode())

cliente.close()
