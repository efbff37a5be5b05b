"""HTTP requests and responses between the protocol's JSON and ``azure.functions``.

Both directions go through the converters of the app's own ``azure-functions`` package (the
``httpTrigger`` and ``http`` bindings of its registry), exactly as the Azure Functions Python
worker does, so ``func.HttpRequest`` and the encoding of ``func.HttpResponse`` (the default
``Content-Type`` from ``mimetype`` and ``charset``, cookies split out of the headers) are the
library's own.
"""

from __future__ import annotations

import base64
from typing import Any

STRING_CONTENT_TYPE = "text/plain; charset=utf-8"


class BadRequestFrame(ValueError):
    """The host's request object is malformed."""


def _datum(value: Any, kind: str):
    from azure.functions.meta import Datum
    return Datum(value=value, type=kind)


def _strings(obj: Any, field: str) -> dict:
    if obj is None:
        return {}
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise BadRequestFrame(f"request.{field} must be an object of strings")
    return obj


def decode_request(request: Any, converter_name: str) -> Any:
    """The ``func.HttpRequest`` for the protocol's request object."""
    if not isinstance(request, dict):
        raise BadRequestFrame("an http invocation needs a request object")
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise BadRequestFrame("request.method and request.url must be strings")
    try:
        body = base64.b64decode(request.get("body") or "", validate=True)
    except (ValueError, TypeError) as e:
        raise BadRequestFrame(f"request.body is not base64: {e}") from None

    def strings(field: str) -> dict:
        return {k: _datum(v, "string") for k, v in _strings(request.get(field), field).items()}

    # The converter's names: "query" is the query string, "params" the route's values.
    value = {
        "method": _datum(method, "string"),
        "url": _datum(url, "string"),
        "headers": strings("headers"),
        "query": strings("params"),
        "params": strings("routeParams"),
        "body": _datum(body, "bytes"),
    }
    return _convert_in(converter_name, _datum(value, "http"))


def _convert_in(converter_name: str, datum: Any) -> Any:
    import azure.functions as func
    converter = func.get_binding_registry().get(converter_name)
    if converter is None or converter_name != "httpTrigger":
        raise TypeError("unable to decode incoming TypedData: unsupported combination of "
                        f"TypedData field 'http' and expected binding type {converter_name}")
    return converter.decode(datum, trigger_metadata={})


def encode_response(obj: Any, pytype: Any) -> dict:
    """The protocol's response object for what the function returned (or set) as HTTP output.

    Like the Azure worker, accepts a ``func.HttpResponse`` or a ``str`` (sent as a 200
    ``text/plain`` response); anything else is the function's error.
    """
    import azure.functions as func
    converter = func.get_binding_registry().get("http")
    try:
        datum = converter.encode(obj, expected_type=pytype)
    except NotImplementedError:
        raise TypeError(f'unable to encode outgoing TypedData: unsupported type "http" for '
                        f'Python type "{type(obj).__name__}"') from None
    if datum.type == "string":
        body = datum.value.encode("utf-8")
        return {"status": 200, "headers": [["Content-Type", STRING_CONTENT_TYPE]],
                "body": base64.b64encode(body).decode("ascii"),
                "mimetype": "text/plain", "charset": "utf-8"}
    value = datum.value
    headers = [[name, header.value] for name, header in value["headers"].items()]
    for cookie in value.get("cookies") or []:
        for morsel in cookie.values():
            headers.append(["Set-Cookie", morsel.OutputString()])
    body = value["body"].value or b""
    return {"status": int(value["status_code"].value), "headers": headers,
            "body": base64.b64encode(body).decode("ascii"),
            "mimetype": getattr(obj, "mimetype", None), "charset": getattr(obj, "charset", None)}
