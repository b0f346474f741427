"""A Python `websockets` echo server on 127.0.0.1, port chosen by the OS and printed first."""
from websockets.sync.server import serve


def echo(ws):
    for message in ws:
        ws.send(message)


with serve(echo, "127.0.0.1", 0, max_size=4 << 20) as server:
    print(server.socket.getsockname()[1], flush=True)
    server.serve_forever()
