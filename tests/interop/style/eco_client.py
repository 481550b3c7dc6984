# Tutorial-style echo client (Ejemplo 3), with host and port from argv:
#   python3 eco_client.py HOST PORT
import socket
import sys

host, puerto = sys.argv[1], int(sys.argv[2])

cliente = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cliente.connect((host, puerto))

while True:
    mensaje = input("Tú: ")
    cliente.send(mensaje.encode('utf-8'))
    if mensaje.lower() == "salir":
        break
    respuesta = cliente.recv(1024).decode('utf-8')
    print(respuesta)

cliente.close()
