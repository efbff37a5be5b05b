"""The worker's life: connect, say hello, load the app on ``init``, serve, shut down.

Frames from the host are read one after the other on the event loop; every ``invoke`` becomes
its own task, so invocations run concurrently and answer in any order (each reply carries its
request's ``id``). A function that fails produces a failed reply, never a dead worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import platform
import signal
import traceback
from typing import Optional

from . import PROTOCOL_VERSION, __version__, logs, speedups
from .channel import Channel, ProtocolError, open_connection, reply
from .errors import LoadError, error_info
from .invoke import Invoker
from .loader import FunctionInfo, index_v2, load_v1, prepare_imports, v2_script

log = logging.getLogger(logs.WORKER_CATEGORY)

THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
DEBUG_SETTING = "PYTHON_ENABLE_DEBUG_LOGGING"
TURN_THREADS_SETTING = "DURAFN_WORKER_TURN_THREADS"
DEFAULT_TURN_THREADS = 2
#: How long ``shutdown`` waits for in-flight invocations when the host names no grace period.
DEFAULT_GRACE_MS = 30_000


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _package_version(name: str) -> Optional[str]:
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def thread_count() -> Optional[int]:
    """``PYTHON_THREADPOOL_THREAD_COUNT``, or ``None`` for Python's default (as in Azure)."""
    value = os.environ.get(THREAD_COUNT_SETTING)
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        log.warning("%s must be an integer, not %r; using the default", THREAD_COUNT_SETTING,
                    value)
        return None
    if count < 1:
        log.warning("%s must be at least 1, not %d; using the default", THREAD_COUNT_SETTING,
                    count)
        return None
    return count


def turn_thread_count() -> int:
    """Threads for orchestrator and entity turns (``DURAFN_WORKER_TURN_THREADS``, default 2).

    Turns hold the GIL for all their work, so more threads than this rarely help.
    """
    try:
        return max(1, int(os.environ.get(TURN_THREADS_SETTING) or DEFAULT_TURN_THREADS))
    except ValueError:
        log.warning("%s must be an integer; using %d", TURN_THREADS_SETTING,
                    DEFAULT_TURN_THREADS)
        return DEFAULT_TURN_THREADS


class Worker:
    """One connection to the host and the app it serves."""

    def __init__(self, channel: Channel, capture: Optional[logs.Capture]) -> None:
        self.channel = channel
        self.capture = capture
        self.functions: dict[str, FunctionInfo] = {}
        self.invoker: Optional[Invoker] = None
        self.pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self.turn_pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self.in_flight: set[asyncio.Task] = set()
        self.shutting_down = False
        self._shutdown_task: Optional[asyncio.Task] = None

    def hello(self) -> dict:
        """The first frame the worker sends."""
        return {
            "type": "hello",
            "protocolVersion": PROTOCOL_VERSION,
            "workerVersion": __version__,
            "pid": os.getpid(),
            "python": platform.python_version(),
            "packages": {name: _package_version(name)
                         for name in ("azure-functions", "azure-functions-durable")},
        }

    async def run(self) -> int:
        """Serves until the host says ``shutdown`` or closes the connection; the exit code."""
        self.channel.send(self.hello())
        while True:
            try:
                frame = await self.channel.receive()
            except ProtocolError as e:
                self.channel.send({"type": "protocolError", "id": None, "message": str(e)})
                continue
            if frame is None:
                return 0
            kind = frame.get("type")
            if kind == "invoke":
                self._start_invocation(frame)
            elif kind == "ping":
                self.channel.send(reply(frame, "pong", inFlight=len(self.in_flight)))
            elif kind == "init":
                await self._init(frame)
            elif kind == "shutdown":
                if not self.shutting_down:
                    # Frames are still read (pings answered, invocations refused) while the
                    # invocations in flight finish; closing the channel then ends this loop.
                    self.shutting_down = True
                    self._shutdown_task = asyncio.get_running_loop().create_task(
                        self._shutdown(frame))
            else:
                self.channel.send(reply(frame, "protocolError",
                                        message=f"unknown frame type {kind!r}"))

    async def _init(self, frame: dict) -> None:
        if self.invoker is not None:
            self.channel.send(reply(frame, "protocolError", message="the worker is initialised"))
            return
        try:
            result = self._load(frame)
        except LoadError as e:
            result = {"programmingModel": None, "functions": [], "error": e.to_json()}
        self.channel.send(reply(frame, "initResult", protocolVersion=PROTOCOL_VERSION, **result))
        await self.channel.drain()

    def _load(self, frame: dict) -> dict:
        version = frame.get("protocolVersion")
        if version != PROTOCOL_VERSION:
            raise LoadError(f"the host speaks protocol version {version!r}, this worker "
                            f"speaks {PROTOCOL_VERSION}", file=None, field="protocolVersion")
        root = frame.get("scriptRoot")
        if not isinstance(root, str) or not os.path.isdir(root):
            raise LoadError(f"script root {root!r} is not a directory", file=None,
                            field="scriptRoot")
        root = os.path.abspath(root)
        settings = frame.get("appSettings") or {}
        if not isinstance(settings, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in settings.items()):
            raise LoadError("appSettings must be an object of strings", file=None,
                            field="appSettings")
        os.environ.update(settings)
        os.environ.setdefault("AzureWebJobsScriptRoot", root)
        os.environ.setdefault("FUNCTIONS_WORKER_RUNTIME", "python")
        os.chdir(root)
        if self.capture is not None:
            self.capture.set_debug(_truthy(os.environ.get(DEBUG_SETTING)))
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=thread_count(), thread_name_prefix="durafn-sync")
        self.turn_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=turn_thread_count(), thread_name_prefix="durafn-turn")
        prepare_imports(root)
        try:
            import azure.functions  # noqa: F401 - the app's own copy, from its environment
        except ImportError as e:
            raise LoadError.from_exception("the app's Python environment has no azure-functions "
                                           "package (add it to requirements.txt)", e,
                                           file="requirements.txt") from None

        descriptions = []
        script = v2_script(root)
        if script is not None:
            model = "v2"
            if frame.get("functions"):
                log.warning("%s defines the app; the function.json folders are ignored", script)
            for description, loaded in index_v2(root, script):
                descriptions.append(description)
                if isinstance(loaded, FunctionInfo):
                    self.functions[loaded.name] = loaded
        else:
            model = "v1"
            specs = frame.get("functions") or []
            if not isinstance(specs, list):
                raise LoadError("functions must be a list", file=None, field="functions")
            for spec in specs:
                spec = spec if isinstance(spec, dict) else {"name": None}
                try:
                    loaded = load_v1(root, spec)
                except LoadError as e:
                    descriptions.append({
                        "name": spec.get("name"), "kind": None,
                        "scriptFile": spec.get("scriptFile"),
                        "entryPoint": spec.get("entryPoint"),
                        "bindings": spec.get("bindings"), "isAsync": False,
                        "error": e.to_json()})
                    continue
                self.functions[loaded.name] = loaded
                descriptions.append(loaded.describe())
        if self.functions and speedups.install():
            log.debug("fast history timestamps installed")
        self.invoker = Invoker(self.functions, self.pool, self.turn_pool, self.capture)
        log.info("loaded %d of %d functions (%s programming model)", len(self.functions),
                 len(descriptions), model)
        return {"programmingModel": model, "functions": descriptions, "error": None}

    def _start_invocation(self, frame: dict) -> None:
        if self.invoker is None or self.shutting_down:
            reason = "shutting down" if self.shutting_down else "not initialised"
            self.channel.send(reply(frame, "result", ok=False, error={
                "type": "WorkerUnavailable", "message": f"the worker is {reason}",
                "traceback": ""}))
            return
        task = asyncio.get_running_loop().create_task(self._invocation(frame))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _invocation(self, frame: dict) -> None:
        try:
            fields = await self.invoker.invoke(frame)
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # noqa: BLE001 - sys.exit() in a function, for one
            fields = {"ok": False, "error": error_info(e)}
        self.channel.send(reply(frame, "result", **fields))
        await self.channel.drain()

    async def _shutdown(self, frame: dict) -> None:
        grace = frame.get("graceMs", DEFAULT_GRACE_MS)
        if not isinstance(grace, (int, float)) or grace < 0:
            grace = DEFAULT_GRACE_MS
        pending = set(self.in_flight)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace / 1000)
        self.channel.send(reply(frame, "shutdownComplete", abandoned=len(pending)))
        await self.channel.close()


async def _serve() -> int:
    try:
        reader, writer = await open_connection()
    except (OSError, ProtocolError, ValueError) as e:
        logs.console_error(f"durafn_worker: cannot connect to the host: {e}")
        return 2
    channel = Channel(reader, writer, asyncio.get_running_loop())
    capture = logs.Capture(channel.send)
    capture.install(debug=_truthy(os.environ.get(DEBUG_SETTING)))
    worker = Worker(channel, capture)
    try:
        return await worker.run()
    finally:
        capture.restore()


def main() -> int:
    """Runs the worker until the host lets it go; the process exits from inside (see below)."""
    # Ctrl-C in the host's terminal reaches the whole process group; the host decides when the
    # worker stops (``shutdown``, closing the socket, or a signal of its own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return asyncio.run(_serve_and_exit())


async def _serve_and_exit() -> int:
    try:
        code = await _serve()
    except BaseException:  # noqa: BLE001 - a bug in the worker itself: say so, then exit
        logs.console_error("durafn_worker: internal error\n" + traceback.format_exc())
        code = 70
    # Threads of the pools may still run user code that will never finish; waiting for them
    # (as interpreter shutdown does) could hang the exit, and their results have nowhere to go.
    os._exit(code)
