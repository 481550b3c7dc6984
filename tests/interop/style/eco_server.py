# Tutorial-style echo server (Ejemplo 3), with host and port from argv:
#   python3 eco_server.py HOST PORT       (PORT 0: any free port, printed)
import socket
import sys

host, puerto = sys.argv[1], int(sys.argv[2])

servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.bind((host, puerto))
servidor.listen(1)
h, p = servidor.getsockname()
print(f"Servidor de eco esperando conexión en {h}:{p}...")

conexion, direccion = servidor.accept()
print(f"Conectado con {direccion}")

while True:
    datos = conexion.recv(1024).decode('utf-8')
    if not datos or datos.lower() == "salir":
        print("Cerrando conexión...")
        break
    print(f"Cliente: {datos}")
    conexion.send(f"Eco: {datos}".encode('utf-8'))

conexion.close()
servidor.close()
