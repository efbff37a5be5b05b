"""Gates the test holds: an invocation connects to the test's socket and waits for a word.

While the test holds the gate, the invocation is provably running; a test that accepts N
connections before it opens any has proved that N invocations overlap.
"""

import asyncio
import socket


def wait_sync(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        return s.recv(64).decode()


async def wait_async(path):
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        return (await reader.read(64)).decode()
    finally:
        writer.close()
