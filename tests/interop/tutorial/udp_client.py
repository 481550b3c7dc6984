import socket

cliente = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

while True:
    mensaje = input("Tú: ")
    cliente.sendto(mensaje.encode(), ("localhost", 7000))
    if mensaje.lower() == "salir":
        break
    datos, _ = cliente.recvfrom(1024)
    print(datos.decode())

cliente.close()
