#!/usr/bin/env python3
"""The echo service as a Python asyncio server: what a Python programmer
would write to serve many clients at once. Usage: asyncio_echo.py PORT"""
import asyncio
import sys


async def serve(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if line.strip().lower() == b"salir":
                break
            writer.write(b"Eco: " + line)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    print(f"listening: echo tcp 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
