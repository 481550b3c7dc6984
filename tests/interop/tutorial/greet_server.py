import socket

# 1. Crear el socket TCP
servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

# 2. Asociarlo a una IP y puerto
servidor.bind(("localhost", 5000))

# 3. Escuchar conexiones entrantes
servidor.listen(1)
print("Servidor en espera de conexiones...")

# 4. Aceptar la conexión
conexion, direccion = servidor.accept()
print(f"Conectado con {direccion}")

# 5. Enviar un mensaje
mensaje = "Hola, cliente. Bienvenido al servidor Python!"
conexion.send(mensaje.encode('utf-8'))

# 6. Cerrar la conexión
conexion.close()
servidor.close()
