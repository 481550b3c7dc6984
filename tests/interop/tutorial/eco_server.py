import socket

servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.bind(("localhost", 6000))
servidor.listen(1)
print("Servidor de eco esperando conexión...")

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
