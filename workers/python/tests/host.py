"""The host side of the protocol, for tests: a socket, a worker child process, frames.

This is what the Rust host does, written small: listen on a Unix socket in a private
directory, start ``python -m durafn_worker`` with the socket's path in the environment, accept
its connection, and exchange frames. A reader thread sorts incoming frames: replies by ``id``,
log frames into a list; tests wait on them with deadlines, never with fixed sleeps.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Optional

WORKERS_PYTHON = pathlib.Path(__file__).resolve().parent.parent
REPO = WORKERS_PYTHON.parent.parent
EXAMPLES = REPO / "examples" / "python"
#: How long a test waits for the worker before it fails.
DEADLINE = float(os.environ.get("DURAFN_TEST_DEADLINE", "60"))


def python() -> str:
    """The interpreter with the app's packages: ``DURAFN_TEST_PYTHON`` or the test's own."""
    return os.environ.get("DURAFN_TEST_PYTHON") or sys.executable


def encode(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return len(body).to_bytes(4, "big") + body


def read_exactly(conn: socket.socket, n: int) -> Optional[bytes]:
    chunks, got = [], 0
    while got < n:
        chunk = conn.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def function_json_specs(script_root: pathlib.Path) -> list:
    """What the host sends for a v1 app: one entry per folder with a ``function.json``."""
    specs = []
    for manifest in sorted(script_root.glob("*/function.json")):
        data = json.loads(manifest.read_text())
        spec = {"name": manifest.parent.name, "directory": manifest.parent.name,
                "bindings": data["bindings"]}
        for key in ("scriptFile", "entryPoint"):
            if key in data:
                spec[key] = data[key]
        specs.append(spec)
    return specs


class WorkerProcess:
    """A worker child process connected to a socket this object owns."""

    def __init__(self, env: Optional[dict] = None, use_fd: bool = False) -> None:
        self.dir = tempfile.mkdtemp(prefix="durafn-w-")
        os.chmod(self.dir, 0o700)
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = str(WORKERS_PYTHON)
        child_env.pop("DURAFN_WORKER_SOCKET", None)
        child_env.pop("DURAFN_WORKER_FD", None)
        child_env.update(env or {})
        listener = None
        pass_fds: tuple = ()
        if use_fd:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            child_env["DURAFN_WORKER_FD"] = str(theirs.fileno())
            pass_fds = (theirs.fileno(),)
        else:
            self.socket_path = os.path.join(self.dir, "worker.sock")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(self.socket_path)
            listener.listen(1)
            child_env["DURAFN_WORKER_SOCKET"] = self.socket_path
        self.proc = subprocess.Popen(
            [python(), "-m", "durafn_worker"], env=child_env, cwd=self.dir,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=pass_fds)
        self.console: list[str] = []
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._drain_console, args=(stream,), daemon=True).start()
        if use_fd:
            theirs.close()
            self.conn = ours
        else:
            listener.settimeout(DEADLINE)
            try:
                self.conn, _ = listener.accept()
            finally:
                listener.close()
        self.conn.settimeout(None)
        self._cond = threading.Condition()
        self.replies: dict[Any, dict] = {}
        self.logs: list[dict] = []
        self.unsolicited: list[dict] = []
        self.closed = False
        self.arrivals: list[dict] = []
        self._next_id = 0
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.hello = self.wait_for(lambda: self.unsolicited and self.unsolicited[0],
                                   "the hello frame")

    def _drain_console(self, stream) -> None:
        for line in iter(stream.readline, b""):
            with_lock = line.decode("utf-8", errors="replace").rstrip("\n")
            self.console.append(with_lock)

    def _read(self) -> None:
        while True:
            try:
                header = read_exactly(self.conn, 4)
                body = header and read_exactly(self.conn, int.from_bytes(header, "big"))
            except OSError:
                body = None
            with self._cond:
                if body is None:
                    self.closed = True
                    self._cond.notify_all()
                    return
                frame = json.loads(body)
                self.arrivals.append(frame)  # every frame, in arrival order
                if frame.get("type") == "log":
                    self.logs.append(frame)
                elif frame.get("id") is not None and frame.get("type") != "hello":
                    self.replies[frame["id"]] = frame
                else:
                    self.unsolicited.append(frame)
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], Any], what: str, timeout: float = DEADLINE):
        """Waits until ``predicate()`` is truthy (checked on every frame) and returns it."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {what}; console: "
                                         f"{self.console[-20:]}; logs: {self.logs[-20:]}")
                self._cond.wait(remaining)

    def new_id(self) -> str:
        with self._cond:
            self._next_id += 1
            return f"r{self._next_id}"

    def send(self, message: dict) -> None:
        with self._send_lock:
            self.conn.sendall(encode(message))

    def send_raw(self, data: bytes) -> None:
        with self._send_lock:
            self.conn.sendall(data)

    def start(self, message: dict) -> str:
        """Sends a request (giving it an id) without waiting; returns the id."""
        message = dict(message)
        message.setdefault("id", self.new_id())
        self.send(message)
        return message["id"]

    def reply(self, request_id: str, timeout: float = DEADLINE) -> dict:
        return self.wait_for(lambda: self.replies.get(request_id), f"reply {request_id}",
                             timeout)

    def request(self, message: dict, timeout: float = DEADLINE) -> dict:
        return self.reply(self.start(message), timeout)

    def init(self, script_root: pathlib.Path, functions: Optional[list] = None,
             app_settings: Optional[dict] = None) -> dict:
        if functions is None:
            functions = function_json_specs(script_root)
        return self.request({"type": "init", "protocolVersion": 1,
                             "scriptRoot": str(script_root), "functions": functions,
                             "appSettings": app_settings or {}})

    def invoke(self, function: str, kind: str, **fields: Any) -> dict:
        return self.request({"type": "invoke", "function": function, "kind": kind, **fields})

    def logs_of(self, invocation_id: str) -> list:
        with self._cond:
            return [f for f in self.logs if f.get("invocationId") == invocation_id]

    def wait_closed(self, timeout: float = DEADLINE) -> None:
        self.wait_for(lambda: self.closed, "the worker to close the connection", timeout)

    def wait_exit(self, timeout: float = DEADLINE) -> int:
        return self.proc.wait(timeout)

    def hang_up(self) -> None:
        """Closes the host's end of the connection (a blocked reader thread notwithstanding)."""
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()

    def stop(self) -> None:
        self.hang_up()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(DEADLINE)
        shutil.rmtree(self.dir, ignore_errors=True)


class Gate:
    """A socket invocations of the probe app's gate functions connect to and wait on."""

    def __init__(self, directory: str, name: str = "gate.sock") -> None:
        self.path = os.path.join(directory, name)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.listener.settimeout(DEADLINE)
        self.waiting: list[socket.socket] = []

    def job(self) -> str:
        return json.dumps({"path": self.path})

    def accept(self, count: int) -> None:
        """Waits until ``count`` more invocations are inside the gate."""
        for _ in range(count):
            conn, _ = self.listener.accept()
            self.waiting.append(conn)

    def open(self, word: str = "go") -> None:
        """Lets every waiting invocation through."""
        for conn in self.waiting:
            conn.sendall(word.encode())
            conn.close()
        self.waiting = []

    def close(self) -> None:
        for conn in self.waiting:
            conn.close()
        self.listener.close()
        os.unlink(self.path)
