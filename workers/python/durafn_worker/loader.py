"""Loading an app's functions, in both Python programming models.

v1 (a folder per function with ``function.json``): the host parses the ``function.json`` files
and sends them in ``init``; each script is imported as ``__app__.<folder>[.<module>]``, the
package layout the Azure Functions Python worker uses, so relative imports inside the app work
as they do in Azure.

v2 (decorators on a ``FunctionApp``/``DFApp`` in ``function_app.py``): the worker imports the
script, finds the one app object and asks it for its functions; their bindings are reported to
the host in the shape of ``function.json``.

Either way, every function's parameters are matched against its bindings with the Azure
Functions Python worker's rules, so an app that loads there loads here, and one that does not is
rejected with a comparable message.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import os
import pathlib
import sys
import typing
from typing import Any, Callable, Optional

from .errors import LoadError

#: The package under which v1 function folders are imported.
APP_NAMESPACE = "__app__"
#: Defaults of ``function.json``.
DEFAULT_SCRIPT_FILE = "__init__.py"
DEFAULT_ENTRY_POINT = "main"
#: The v2 script, and the app setting that renames it (as in Azure Functions).
DEFAULT_V2_SCRIPT = "function_app.py"
V2_SCRIPT_SETTING = "PYTHON_SCRIPT_FILE_NAME"

#: Trigger binding type → the kind of invocation the host sends for it.
TRIGGER_KINDS = {
    "httpTrigger": "http",
    "orchestrationTrigger": "orchestrator",
    "activityTrigger": "activity",
    "entityTrigger": "entity",
}
#: Binding types durafn serves; anything else is a load error.
SUPPORTED_BINDINGS = set(TRIGGER_KINDS) | {"http", "durableClient", "orchestrationClient"}
#: Client bindings whose value is the host's client binding JSON (``orchestrationClient`` is
#: the Durable Functions 1.x name of ``durableClient``).
CLIENT_BINDINGS = {"durableClient", "orchestrationClient"}


@dataclasses.dataclass
class Param:
    """One bound parameter of a function."""

    binding_type: str
    #: The converter to decode or encode with: the binding type, or ``generic`` for a
    #: ``str``/``bytes`` annotation (the Azure worker's rule).
    converter: str
    pytype: Optional[Any]


@dataclasses.dataclass
class FunctionInfo:
    """A loaded function and what the worker needs to invoke it."""

    name: str
    kind: str
    script_file: str
    entry_point: str
    directory: str
    bindings: list
    func: Callable
    is_async: bool
    trigger_param: str
    inputs: dict
    outputs: dict
    return_param: Optional[Param]
    requires_context: bool

    def describe(self) -> dict:
        """The function as ``initResult`` reports it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "scriptFile": self.script_file,
            "entryPoint": self.entry_point,
            "bindings": self.bindings,
            "isAsync": self.is_async,
            "error": None,
        }


def _registry():
    import azure.functions as func
    return func.get_binding_registry()


def _has_implicit_output(binding_type: str) -> bool:
    converter = _registry().get(binding_type)
    check = getattr(converter, "has_implicit_output", None)
    return bool(check and check())


def _is_out_annotation(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and origin.__name__ == "Out"


def _annotation_matches(converter_name: str, pytype: Any, output: bool) -> bool:
    if pytype is None:
        return True
    try:
        if converter_name == "generic":
            allowed = (str, bytes, bytearray) if output else (str, bytes)
            return issubclass(pytype, allowed)
        converter = _registry().get(converter_name)
        if converter is None:
            return True
        if output:
            return converter.check_output_type_annotation(pytype)
        return converter.check_input_type_annotation(pytype)
    except TypeError:
        # Generic aliases (list[int], Optional[X]) cannot go through issubclass; the Azure
        # worker lets them through too.
        return True


def analyse(name: str, func: Callable, bindings: list, directory: str,
            script_file: str, entry_point: str, manifest: str) -> FunctionInfo:
    """Matches ``func``'s parameters to ``bindings``; raises :class:`LoadError` on a mismatch.

    ``manifest`` is the file that declares the bindings (``<folder>/function.json`` or the v2
    script), named in errors.
    """
    def fail(message: str, field: Optional[str] = "bindings") -> LoadError:
        return LoadError(f"cannot load the {name} function: {message}", file=manifest, field=field)

    try:
        params = dict(inspect.signature(func).parameters)
    except (TypeError, ValueError) as e:
        raise fail(f"its entry point has no signature: {e}", "entryPoint") from None
    try:
        annotations = typing.get_type_hints(func)
    except Exception as e:  # noqa: BLE001 - unresolvable annotations are the app's error
        raise fail(f"its annotations cannot be resolved: {e}", "entryPoint") from None

    bound: dict[str, dict] = {}
    return_type: Optional[str] = None
    trigger: Optional[dict] = None
    for binding in bindings:
        if not isinstance(binding, dict) or "type" not in binding or "name" not in binding:
            raise fail(f"binding {binding!r} needs a type and a name")
        btype, bname = binding["type"], binding["name"]
        direction = str(binding.get("direction", "in")).lower()
        if btype not in SUPPORTED_BINDINGS:
            raise fail(f"binding {bname!r} has type {btype!r}, which durafn does not serve "
                       f"(it serves {', '.join(sorted(SUPPORTED_BINDINGS))})")
        if direction == "inout":
            raise fail('"inout" bindings are not supported')
        if btype in TRIGGER_KINDS:
            if trigger is not None:
                raise fail(f"it has two triggers, {trigger['name']!r} and {bname!r}")
            trigger = binding
        if bname == "$return":
            if direction != "out":
                raise fail('"$return" binding must have direction set to "out"')
            return_type = btype
            continue
        bound[bname] = binding
        if return_type is None and _has_implicit_output(btype):
            return_type = btype
    if trigger is None:
        raise fail("it has no trigger binding")

    requires_context = "context" in params and "context" not in bound
    if requires_context:
        params.pop("context")
        anno = annotations.get("context")
        if anno is not None and (not isinstance(anno, type) or anno.__name__ != "Context"):
            raise fail("the \"context\" parameter is expected to be of type "
                       f"azure.functions.Context, got {anno!r}", "entryPoint")
    extra_python = set(params) - set(bound)
    if extra_python:
        raise fail("the following parameters are declared in Python but not in the bindings: "
                   f"{sorted(extra_python)!r}")
    extra_bindings = set(bound) - set(params)
    if extra_bindings:
        raise fail("the following parameters are declared in the bindings but not in Python: "
                   f"{sorted(extra_bindings)!r}")

    inputs: dict[str, Param] = {}
    outputs: dict[str, Param] = {}
    for pname in params:
        binding = bound[pname]
        btype = binding["type"]
        is_binding_out = str(binding.get("direction", "in")).lower() == "out"
        anno = annotations.get(pname)
        is_param_out = anno is not None and _is_out_annotation(anno)
        pytype = anno
        if is_param_out:
            args = typing.get_args(anno)
            if len(args) != 1:
                raise fail(f"binding {pname} has invalid Out annotation {anno!r}")
            pytype = args[0]
        if is_binding_out and anno is not None and not is_param_out:
            raise fail(f"binding {pname} is declared to have the \"out\" direction, but its "
                       "annotation in Python is not a subclass of azure.functions.Out")
        if not is_binding_out and is_param_out:
            raise fail(f"binding {pname} is declared to have the \"in\" direction, but its "
                       "annotation is azure.functions.Out in Python")
        converter = btype
        if pytype in (str, bytes) and not _has_implicit_output(btype):
            converter = "generic"
        if _registry().get(converter) is None and converter != "generic":
            converter = "generic"
        if not _annotation_matches(converter, pytype, output=is_binding_out):
            raise fail(f"type of {pname} binding \"{btype}\" does not match its Python "
                       f"annotation \"{getattr(pytype, '__name__', pytype)}\"")
        param = Param(btype, converter, pytype)
        (outputs if is_binding_out else inputs)[pname] = param

    return_param = None
    if return_type is not None:
        return_anno = annotations.get("return")
        if return_anno is not None and _is_out_annotation(return_anno):
            raise fail("return annotation should not be azure.functions.Out", "entryPoint")
        explicit = any(b.get("name") == "$return" for b in bindings)
        if explicit and not _annotation_matches(return_type, return_anno, output=True):
            raise fail(f"Python return annotation \"{getattr(return_anno, '__name__', return_anno)}"
                       f"\" does not match binding type \"{return_type}\"", "entryPoint")
        return_param = Param(return_type, return_type, return_anno)

    kind = TRIGGER_KINDS[trigger["type"]]
    if kind == "http" and not any(p.binding_type == "http"
                                  for p in [return_param, *outputs.values()] if p):
        raise fail("an HTTP-triggered function needs an http output binding")

    return FunctionInfo(
        name=name, kind=kind, script_file=script_file,
        entry_point=entry_point, directory=directory, bindings=bindings, func=func,
        is_async=inspect.iscoroutinefunction(func), trigger_param=trigger["name"],
        inputs=inputs, outputs=outputs, return_param=return_param,
        requires_context=requires_context)


def prepare_imports(script_root: str) -> None:
    """Makes the app importable: its root on ``sys.path`` and the ``__app__`` package."""
    root = os.path.abspath(script_root)
    packages = os.path.join(root, ".python_packages", "lib", "site-packages")
    for path in (packages, root):
        if os.path.isdir(path) and path not in sys.path:
            sys.path.insert(0, path)
    if APP_NAMESPACE not in sys.modules:
        spec = importlib.machinery.ModuleSpec(APP_NAMESPACE, None, is_package=True)
        spec.submodule_search_locations = [root]
        sys.modules[APP_NAMESPACE] = importlib.util.module_from_spec(spec)


def _posix(path: str) -> str:
    return pathlib.PurePath(path).as_posix()


def load_v1(script_root: str, spec: dict) -> FunctionInfo:
    """Loads one function described by its ``function.json`` (as the host parsed it)."""
    root = os.path.abspath(script_root)
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise LoadError(f"function entry {spec!r} has no name", file=None, field="name")
    directory = spec.get("directory") or name
    manifest = _posix(os.path.join(directory, "function.json"))
    bindings = spec.get("bindings")
    if not isinstance(bindings, list):
        raise LoadError(f"cannot load the {name} function: bindings must be a list",
                        file=manifest, field="bindings")
    function_dir = os.path.normpath(os.path.join(root, directory))
    script_file = spec.get("scriptFile") or DEFAULT_SCRIPT_FILE
    entry_point = spec.get("entryPoint") or DEFAULT_ENTRY_POINT
    script_path = os.path.normpath(os.path.join(function_dir, script_file))
    rel = os.path.relpath(script_path, root)
    if rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
        raise LoadError(f"cannot load the {name} function: script file {script_file} is "
                        "outside the script root", file=manifest, field="scriptFile")
    parts = pathlib.PurePath(rel).parts
    modname, ext = os.path.splitext(parts[-1])
    if ext != ".py":
        raise LoadError(f"cannot load the {name} function: invalid Python filename "
                        f"{script_file}", file=manifest, field="scriptFile")
    if not os.path.isfile(script_path):
        raise LoadError(f"cannot load the {name} function: script file {_posix(rel)} does not "
                        "exist", file=manifest, field="scriptFile")
    module_parts = [APP_NAMESPACE, *parts[:-1]]
    if modname.lower() != "__init__":
        module_parts.append(modname)
    try:
        module = importlib.import_module(".".join(module_parts))
    except BaseException as e:  # noqa: BLE001 - SystemExit in an app is a load error too
        raise LoadError.from_exception(f"cannot load the {name} function: importing "
                                       f"{_posix(rel)} failed", e, file=_posix(rel)) from None
    func = getattr(module, entry_point, None)
    if func is None or not callable(func):
        raise LoadError(f"cannot load the {name} function: function {entry_point}() is not "
                        f"present in {_posix(rel)}", file=manifest, field="entryPoint")
    return analyse(name, func, bindings, function_dir, _posix(rel), entry_point, manifest)


def v2_script(script_root: str) -> Optional[str]:
    """The v2 script's name if the app has one (``PYTHON_SCRIPT_FILE_NAME`` or the default)."""
    name = os.environ.get(V2_SCRIPT_SETTING) or DEFAULT_V2_SCRIPT
    return name if os.path.isfile(os.path.join(script_root, name)) else None


def _normalise(binding: dict) -> dict:
    """A v2 binding in the shape of ``function.json`` (lower-case enums, no empty fields)."""
    out = {}
    for key, value in binding.items():
        if value is None:
            continue
        if key in ("direction", "authLevel") and isinstance(value, str):
            value = value.lower()
        elif key == "methods" and isinstance(value, list):
            value = [str(m).lower() for m in value]
        out[key] = value
    return out


def index_v2(script_root: str, script: str) -> list:
    """Imports the v2 script and returns ``(description, FunctionInfo or LoadError)`` pairs.

    Raises :class:`LoadError` when the script itself cannot be used.
    """
    if os.sep in script or (os.altsep and os.altsep in script) or not script.endswith(".py"):
        raise LoadError(f"{V2_SCRIPT_SETTING} must name a .py file in the script root, "
                        f"not {script!r}", file=script, field=V2_SCRIPT_SETTING)
    try:
        module = importlib.import_module(pathlib.Path(script).stem)
    except BaseException as e:  # noqa: BLE001
        raise LoadError.from_exception(f"importing {script} failed", e, file=script) from None
    from azure.functions import FunctionRegister
    apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    if not apps:
        raise LoadError(f"could not find a top level function app instance in {script}",
                        file=script, field=None)
    if len(apps) > 1:
        raise LoadError(f"more than one function app instance is defined in {script}",
                        file=script, field=None)
    try:
        functions = apps[0].get_functions()
    except Exception as e:  # noqa: BLE001 - duplicate names, missing triggers
        raise LoadError.from_exception(f"indexing {script} failed", e, file=script) from None
    loaded = []
    for function in functions:
        name = function.get_function_name()
        bindings = [_normalise(json.loads(raw)) for raw in function.get_raw_bindings()]
        func = function.get_user_function()
        entry_point = getattr(func, "__name__", name)
        description = {"name": name, "kind": None, "scriptFile": script,
                       "entryPoint": entry_point, "bindings": bindings, "isAsync": False}
        try:
            directory = os.path.dirname(inspect.getfile(func))
        except TypeError:
            directory = os.path.abspath(script_root)
        try:
            info = analyse(name, func, bindings, directory, script, entry_point, script)
            loaded.append((info.describe(), info))
        except LoadError as e:
            description["error"] = e.to_json()
            loaded.append((description, e))
    return loaded
