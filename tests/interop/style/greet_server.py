# Tutorial-style greeting server (Ejemplo 1), with host and port from argv:
#   python3 greet_server.py HOST PORT     (PORT 0: any free port, printed)
import socket
import sys

host, puerto = sys.argv[1], int(sys.argv[2])

servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.bind((host, puerto))
servidor.listen(1)
h, p = servidor.getsockname()
print(f"Servidor en espera de conexiones en {h}:{p}...")

conexion, direccion = servidor.accept()
print(f"Conectado con {direccion}")

mensaje = "Hola, cliente. Bienvenido al servidor Python!"
conexion.send(mensaje.encode('utf-8'))

conexion.close()
servidor.close()
