import socket

servidor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
servidor.bind(("localhost", 7000))
print("Servidor UDP listo...")

while True:
    datos, direccion = servidor.recvfrom(1024)
    print(f"Mensaje de {direccion}: {datos.decode()}")
    if datos.decode().lower() == "salir":
        break
    servidor.sendto(f"Eco UDP: {datos.decode()}".encode(), direccion)

servidor.close()
