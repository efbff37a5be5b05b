"""The channel to the host: length-prefixed JSON frames over a stream socket.

A frame is a 4-byte big-endian unsigned length followed by that many bytes of UTF-8 JSON (one
object). Frames are read on the event loop; they may be sent from any thread (log lines of
synchronous functions are written from the thread pool), and every send goes through the event
loop so that frames never interleave and keep the order in which they were sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from typing import Any, Optional

#: The largest frame either side may send (the length prefix is an unsigned 32-bit integer).
MAX_FRAME_BYTES = 0xFFFF_FFFF

#: Environment variable naming the Unix socket the host listens on.
SOCKET_ENV = "DURAFN_WORKER_SOCKET"
#: Environment variable naming an inherited, already connected socket file descriptor.
FD_ENV = "DURAFN_WORKER_FD"


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def encode_frame(message: dict) -> bytes:
    """The bytes of one frame carrying ``message``."""
    # Lone surrogates (undecodable bytes surfacing in user output) cannot be UTF-8; replacing
    # them keeps the frame valid for any JSON parser on the other side.
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", errors="replace")
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds the limit of {MAX_FRAME_BYTES}")
    return len(body).to_bytes(4, "big") + body


def decode_frame(body: bytes) -> dict:
    """The message of one frame body."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"frame is not UTF-8 JSON: {e}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    return message


async def open_connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connects to the host as the environment says: an inherited socket or a socket path."""
    fd = os.environ.get(FD_ENV)
    # Large frames (whole histories) are common; a bigger buffer saves reads.
    limit = 1 << 20
    if fd:
        sock = socket.socket(fileno=int(fd))
        return await asyncio.open_unix_connection(sock=sock, limit=limit)
    path = os.environ.get(SOCKET_ENV)
    if not path:
        raise ProtocolError(f"neither {SOCKET_ENV} nor {FD_ENV} is set")
    return await asyncio.open_unix_connection(path, limit=limit)


class Channel:
    """Both directions of the connection to the host."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._reader = reader
        self._writer = writer
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._closed = False

    async def receive(self) -> Optional[dict]:
        """The next frame, or ``None`` when the host closed the connection."""
        try:
            header = await self._reader.readexactly(4)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = int.from_bytes(header, "big")
        try:
            body = await self._reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return decode_frame(body)

    def send(self, message: dict) -> None:
        """Sends a frame; callable from any thread, never blocks."""
        data = encode_frame(message)
        if threading.get_ident() == self._loop_thread:
            self._write(data)
        else:
            try:
                self._loop.call_soon_threadsafe(self._write, data)
            except RuntimeError:
                # The loop has stopped: the worker is exiting and the frame has nowhere to go.
                pass

    def _write(self, data: bytes) -> None:
        if self._closed or self._writer.is_closing():
            return
        self._writer.write(data)

    async def drain(self) -> None:
        """Waits until the socket accepted what was sent (back-pressure for large replies)."""
        try:
            await self._writer.drain()
        except ConnectionError:
            pass

    async def close(self) -> None:
        """Flushes and closes the connection."""
        if self._closed:
            return
        await self.drain()
        self._closed = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except ConnectionError:
            pass


def reply(request: dict, message_type: str, **fields: Any) -> dict:
    """A reply frame to ``request``: same ``id``, the given type and fields."""
    message = {"type": message_type, "id": request.get("id")}
    message.update(fields)
    return message
