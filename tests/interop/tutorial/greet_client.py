import socket

# 1. Crear el socket
cliente = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

# 2. Conectarse al servidor
cliente.connect(("localhost", 5000))

# 3. Recibir el mensaje
mensaje = cliente.recv(1024).decode('utf-8')
print(f"Mensaje recibido: {mensaje}")

# 4. Cerrar la conexión
cliente.close()
