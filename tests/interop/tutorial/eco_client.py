import socket

cliente = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cliente.connect(("localhost", 6000))

while True:
    mensaje = input("Tú: ")
    cliente.send(mensaje.encode('utf-8'))
    if mensaje.lower() == "salir":
        break
    respuesta = cliente.recv(1024).decode('utf-8')
    print(respuesta)

cliente.close()
