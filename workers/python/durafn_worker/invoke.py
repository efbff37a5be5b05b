"""Running one invocation: decode the trigger, call the function, encode what it returned.

Inputs are decoded and outputs encoded by the converters registered in the app's
``azure-functions`` package, as the Azure Functions Python worker does; the Durable Functions
SDK's own handlers (``df.Orchestrator.create``, ``df.Entity.create`` and the ``DFApp``
decorators) do the rest. ``async def`` functions run as tasks on the worker's event loop, other
functions in a thread pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import json
import threading
from typing import Any, Optional

from . import logs
from .errors import error_info
from .http_binding import decode_request, encode_response
from .loader import CLIENT_BINDINGS, FunctionInfo, Param

#: The label the Durable Functions SDK puts between an orchestrator's error message and the
#: orchestration state it still has to report (``TaskOrchestrationExecutor``).
OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"

#: The frame field that carries each kind's trigger payload.
PAYLOAD_FIELDS = {"orchestrator": "context", "entity": "context", "activity": "input"}


class InvocationError(Exception):
    """The invocation frame cannot be served (unknown function, wrong kind, bad payload)."""


def _function_out():
    import azure.functions as func

    class Out(func.Out):
        """An output parameter (``func.Out[T]``)."""

        def __init__(self) -> None:
            self._value = None

        def set(self, val: Any) -> None:
            self._value = val

        def get(self) -> Any:
            return self._value

    return Out


def _context_class():
    import azure.functions as func

    class TraceContext:
        """Distributed tracing context; durafn passes none yet."""

        trace_parent = ""
        trace_state = ""
        attributes: dict = {}

    class RetryContext:
        """Retry context of Azure retry policies, which durafn does not have."""

        retry_count = 0
        max_retry_count = 0
        exception = None

    class Context(func.Context):
        """``azure.functions.Context`` for a ``context`` parameter."""

        def __init__(self, invocation_id: str, info: FunctionInfo) -> None:
            self._invocation_id = invocation_id
            self._info = info

        @property
        def invocation_id(self) -> str:
            return self._invocation_id

        @property
        def thread_local_storage(self) -> threading.local:
            return logs.thread_local

        @property
        def function_name(self) -> str:
            return self._info.name

        @property
        def function_directory(self) -> str:
            return self._info.directory

        @property
        def trace_context(self) -> TraceContext:
            return TraceContext()

        @property
        def retry_context(self) -> RetryContext:
            return RetryContext()

    return Context


def _registry():
    import azure.functions as func
    return func.get_binding_registry()


def _decode(param: Param, value: Any, kind: str) -> Any:
    from azure.functions.meta import Datum
    datum = Datum(value=value, type=kind)
    if param.converter == "generic":
        return value
    try:
        return _registry().get(param.converter).decode(datum, trigger_metadata={})
    except NotImplementedError:
        raise TypeError(f"unable to decode incoming TypedData: unsupported combination of "
                        f"TypedData field {kind!r} and expected binding type "
                        f"{param.converter}") from None


def _encode_json(param: Optional[Param], obj: Any) -> str:
    """The JSON text of an orchestrator, activity or entity result, via its converter."""
    if param is None:
        raise RuntimeError("the function has no output binding for its result")
    datum = _registry().get(param.converter).encode(obj, expected_type=param.pytype)
    value = datum.value
    return value if isinstance(value, str) else json.dumps(value)


def _payload(frame: dict, kind: str) -> str:
    field = PAYLOAD_FIELDS[kind]
    value = frame.get(field)
    if not isinstance(value, str):
        raise InvocationError(f"a {kind} invocation needs {field!r} as a JSON string")
    return value


class Invoker:
    """Invokes the loaded functions."""

    def __init__(self, functions: dict, pool: concurrent.futures.Executor,
                 turn_pool: concurrent.futures.Executor,
                 capture: Optional[logs.Capture]) -> None:
        self._functions = functions
        self._pool = pool
        self._turn_pool = turn_pool
        self._capture = capture
        self._out = _function_out()
        self._context = _context_class()

    def _arguments(self, info: FunctionInfo, frame: dict, invocation: str) -> dict:
        args: dict[str, Any] = {}
        inputs = frame.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise InvocationError("inputs must be an object")
        for name, param in info.inputs.items():
            if name == info.trigger_param:
                if info.kind == "http":
                    args[name] = decode_request(frame.get("request"), param.converter)
                else:
                    kind = "string" if info.kind == "orchestrator" else "json"
                    args[name] = _decode(param, _payload(frame, info.kind), kind)
            elif param.binding_type in CLIENT_BINDINGS:
                value = inputs.get(name)
                if not isinstance(value, str):
                    raise InvocationError(f"input binding {name!r} ({param.binding_type}) needs "
                                          "the client binding JSON as a string in inputs")
                args[name] = _decode(param, value, "string")
            else:
                raise InvocationError(f"no value for input binding {name!r}")
        if info.requires_context:
            args["context"] = self._context(invocation, info)
        for name in info.outputs:
            args[name] = self._out()
        return args

    async def _call(self, info: FunctionInfo, args: dict) -> Any:
        if info.is_async:
            return await info.func(**args)
        # Orchestrator and entity turns are short and never wait for I/O; their own pool keeps
        # them from queueing behind long synchronous activities in the app's pool.
        pool = self._turn_pool if info.kind in ("orchestrator", "entity") else self._pool
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(pool, context.run, lambda: info.func(**args))

    def _http_result(self, info: FunctionInfo, result: Any, args: dict) -> dict:
        if info.return_param is not None and info.return_param.binding_type == "http":
            return {"response": encode_response(result, info.return_param.pytype)}
        for name, param in info.outputs.items():
            if param.binding_type == "http":
                value = args[name].get()
                if value is None:
                    raise RuntimeError(f"the function did not set its HTTP output {name!r}")
                return {"response": encode_response(value, param.pytype)}
        raise RuntimeError("the function has no http output binding")

    async def invoke(self, frame: dict) -> dict:
        """The fields of the ``result`` frame for an ``invoke`` frame."""
        invocation = str(frame.get("id"))
        token = logs.current_invocation.set(invocation)
        try:
            return await self._invoke(frame, invocation)
        finally:
            if self._capture is not None:
                self._capture.end_invocation(invocation)
            logs.current_invocation.reset(token)

    async def _invoke(self, frame: dict, invocation: str) -> dict:
        try:
            info = self._functions.get(frame.get("function"))
            if info is None:
                raise InvocationError(f"no function named {frame.get('function')!r} is loaded")
            if frame.get("kind") != info.kind:
                raise InvocationError(f"function {info.name!r} is {info.kind!r}, not "
                                      f"{frame.get('kind')!r}")
            args = self._arguments(info, frame, invocation)
        except Exception as e:  # noqa: BLE001 - a bad frame, or a converter refused the payload
            return {"ok": False, "error": error_info(e)}
        try:
            result = await self._call(info, args)
        except Exception as e:  # noqa: BLE001 - the function's own failure
            return self._failure(info, e)
        try:
            if result is not None and info.return_param is None:
                raise RuntimeError(f"function {info.name!r} without a $return binding "
                                   "returned a non-None value")
            if info.kind == "http":
                return {"ok": True, **self._http_result(info, result, args)}
            text = _encode_json(info.return_param, result)
            field = {"orchestrator": "state", "activity": "output", "entity": "result"}
            return {"ok": True, field[info.kind]: text}
        except Exception as e:  # noqa: BLE001 - an unencodable result fails the invocation
            return {"ok": False, "error": error_info(e)}

    @staticmethod
    def _failure(info: FunctionInfo, exc: Exception) -> dict:
        if info.kind == "orchestrator":
            message, label, state = str(exc).rpartition(OUT_OF_PROC_LABEL)
            if label:
                # User code threw: the SDK still reports the state (actions so far, the error).
                error = error_info(exc.__cause__ or exc)
                error["message"] = message
                return {"ok": True, "state": state, "error": error}
        return {"ok": False, "error": error_info(exc)}
