"""User output as log frames: ``print()``, ``sys.stderr`` and the ``logging`` module.

The channel is a socket, so user code cannot corrupt it by printing; but its output still
belongs with the invocation that produced it. ``sys.stdout`` and ``sys.stderr`` are replaced by
streams that cut their text into lines and send each line as a ``log`` frame, and a handler on
the root logger does the same for log records. The invocation is found through a context
variable that the worker sets for every invocation (asyncio tasks and the thread pool both carry
it), with a thread-local fallback for threads the user starts while setting
``context.thread_local_storage.invocation_id`` as in Azure Functions.
"""

from __future__ import annotations

import contextvars
import io
import logging
import os
import sys
import threading
from typing import Callable, Optional

#: The id of the invocation the current code runs for (``None`` outside invocations).
current_invocation: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
    "durafn_invocation", default=None)

#: Per-thread fallback, the ``thread_local_storage`` of ``azure.functions.Context``.
thread_local = threading.local()

#: Log levels as the Functions host names them (``RpcLog.Level``), from a ``logging`` level.
LEVELS = ((logging.CRITICAL, "Critical"), (logging.ERROR, "Error"),
          (logging.WARNING, "Warning"), (logging.INFO, "Information"),
          (logging.DEBUG, "Debug"))

#: The category of the worker's own log records (user records carry their logger's name).
WORKER_CATEGORY = "durafn_worker"

Send = Callable[[dict], None]


def invocation_id() -> Optional[str]:
    """The invocation the calling code runs for, if any."""
    return current_invocation.get() or getattr(thread_local, "invocation_id", None)


def level_name(levelno: int) -> str:
    """The host's name for a ``logging`` level."""
    for threshold, name in LEVELS:
        if levelno >= threshold:
            return name
    return "Trace"


class _Guard(threading.local):
    """Stops a failing send from logging about itself forever."""

    active = False


_guard = _Guard()


def _emit(send: Send, level: str, category: str, message: str,
          invocation: Optional[str]) -> None:
    if _guard.active:
        return
    _guard.active = True
    try:
        frame = {"type": "log", "level": level, "category": category, "message": message}
        if invocation is not None:
            frame["invocationId"] = invocation
        send(frame)
    except Exception:  # noqa: BLE001 - the log line is lost, the invocation goes on
        pass
    finally:
        _guard.active = False


class ConsoleStream(io.TextIOBase):
    """A text stream that turns each line written to it into a log frame.

    Partial lines are kept per invocation, so that two invocations printing at once do not mix
    their words, and are flushed when the invocation ends.
    """

    def __init__(self, send: Send, category: str, level: str, fd: int) -> None:
        super().__init__()
        self._send = send
        self._category = category
        self._level = level
        self._fd = fd
        self._partial: dict[Optional[str], str] = {}
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "replace"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        # Code that writes to the descriptor itself (subprocesses, faulthandler) reaches the
        # worker's original stdout/stderr, which the host reads as console output.
        return self._fd

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        invocation = invocation_id()
        with self._lock:
            pending = self._partial.pop(invocation, "") + text
            *lines, rest = pending.split("\n")
            if rest:
                self._partial[invocation] = rest
        for line in lines:
            _emit(self._send, self._level, self._category, line.rstrip("\r"), invocation)
        return len(text)

    def flush(self) -> None:
        """Lines are sent as they are completed; partial lines wait for their invocation."""

    def flush_invocation(self, invocation: Optional[str]) -> None:
        """Sends what is left of the invocation's last line."""
        with self._lock:
            rest = self._partial.pop(invocation, "")
        if rest:
            _emit(self._send, self._level, self._category, rest, invocation)


class FrameHandler(logging.Handler):
    """A ``logging`` handler that sends records as log frames."""

    def __init__(self, send: Send) -> None:
        super().__init__()
        self._send = send
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - a broken format string must not fail the caller
            message = str(record.msg)
        _emit(self._send, level_name(record.levelno), record.name, message, invocation_id())


class Capture:
    """The installed capture of stdout, stderr and logging."""

    def __init__(self, send: Send) -> None:
        self.stdout = ConsoleStream(send, "stdout", "Information", 1)
        self.stderr = ConsoleStream(send, "stderr", "Error", 2)
        self.handler = FrameHandler(send)

    def install(self, debug: bool = False) -> None:
        """Takes over ``sys.stdout``, ``sys.stderr``, warnings and the root logger."""
        sys.stdout = self.stdout
        sys.stderr = self.stderr
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG if debug else logging.INFO)
        logging.captureWarnings(True)

    def set_debug(self, debug: bool) -> None:
        """Applies ``PYTHON_ENABLE_DEBUG_LOGGING`` once the app settings are known."""
        logging.getLogger().setLevel(logging.DEBUG if debug else logging.INFO)

    def end_invocation(self, invocation: Optional[str]) -> None:
        """Flushes the partial lines an invocation left behind."""
        self.stdout.flush_invocation(invocation)
        self.stderr.flush_invocation(invocation)

    def restore(self) -> None:
        """Gives the real streams back (when the channel is gone)."""
        sys.stdout = sys.__stdout__
        sys.stderr = sys.__stderr__
        logging.getLogger().removeHandler(self.handler)


def console_error(message: str) -> None:
    """Writes to the worker's real stderr, for when there is no channel."""
    try:
        os.write(2, (message.rstrip("\n") + "\n").encode("utf-8", errors="replace"))
    except OSError:
        pass
