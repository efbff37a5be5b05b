"""Errors as the protocol carries them: a type, a message and a traceback."""

from __future__ import annotations

import concurrent.futures
import os
import traceback
from typing import Optional

#: Frames of these directories are the worker's machinery, not the app's; tracebacks skip them.
_INTERNAL_DIRS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep
                       for m in (concurrent.futures,)) + (os.path.dirname(__file__) + os.sep,)


def _is_internal(frame: traceback.FrameSummary) -> bool:
    return os.path.abspath(frame.filename).startswith(_INTERNAL_DIRS)


def format_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` from the app's first frame on (the worker's frames left out)."""
    summary = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    frames = list(summary.stack)
    while frames and _is_internal(frames[0]):
        frames.pop(0)
    summary.stack = traceback.StackSummary.from_list(frames)
    return "".join(summary.format())


def error_info(exc: BaseException) -> dict:
    """The ``error`` object of a failed reply: ``{"type", "message", "traceback"}``."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the failure
        message = f"<{type(exc).__name__} whose message cannot be shown>"
    try:
        trace = format_traceback(exc)
    except Exception:  # noqa: BLE001
        trace = ""
    return {"type": type(exc).__name__, "message": message, "traceback": trace}


class LoadError(Exception):
    """A function (or the whole app) cannot be loaded.

    ``file`` is the file at fault, relative to the script root (``<folder>/function.json``, the
    function's script, or the v2 script); ``field`` is the ``function.json`` field at fault
    (``scriptFile``, ``entryPoint``, ``bindings``) or ``None`` when the code itself failed.
    """

    def __init__(self, message: str, *, file: Optional[str], field: Optional[str],
                 cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field
        self.cause = cause

    @classmethod
    def from_exception(cls, message: str, exc: BaseException, *, file: str) -> "LoadError":
        """A load error caused by an exception in the app's code (import or indexing)."""
        return cls(f"{message}: {type(exc).__name__}: {exc}", file=file, field=None, cause=exc)

    def to_json(self) -> dict:
        """The ``error`` object of a function in ``initResult``."""
        if self.cause is not None:
            info = error_info(self.cause)
            info["type"] = type(self.cause).__name__
        else:
            info = {"type": "LoadError", "traceback": ""}
        info["message"] = self.message
        info["file"] = self.file
        info["field"] = self.field
        return info
