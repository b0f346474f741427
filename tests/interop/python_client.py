"""Python `websockets` as a client of a wsmachine echo server: text, 1 MiB binary, ping, close.

Usage: python python_client.py ws://127.0.0.1:PORT/   (exits non-zero on any mismatch)
websockets offers permessage-deflate by default, so this exercises it too.
"""
import os
import sys

from websockets.sync.client import connect

url = sys.argv[1]
with connect(url, max_size=4 << 20, open_timeout=10, close_timeout=10) as ws:
    ws.send("hello from python")
    assert ws.recv(timeout=10) == "hello from python"
    ws.send("Γειά σου, κόσμε 😀")
    assert ws.recv(timeout=10) == "Γειά σου, κόσμε 😀"
    big = os.urandom(1 << 20)
    ws.send(big)
    assert ws.recv(timeout=10) == big
    ws.ping(b"python-ping").wait(timeout=10)
    ws.close(1000, "bye")
    assert ws.close_code == 1000, ws.close_code
print("python client ok, extensions:", [type(e).__name__ for e in ws.protocol.extensions])
