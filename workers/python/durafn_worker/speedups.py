"""A faster, equivalent timestamp parser for the Durable Functions SDK's history events.

The SDK turns every history event's ``Timestamp`` into a ``datetime`` with
``dateutil.parser.parse`` on every turn, and that is nearly all of a turn's cost: about 0.1 ms
per event, so 100 ms for a history of 1,000 events. The host sends timestamps in exactly one
shape (``YYYY-MM-DDTHH:MM:SS.ffffffZ``, see PROTOCOL.md); for that shape this module builds the
very object dateutil would (the same fields and the zone dateutil gives ``Z``) with
``datetime.fromisoformat``, and hands anything else to dateutil as before. Set
``DURAFN_WORKER_FAST_TIMESTAMPS=0`` to leave the SDK untouched.
"""

from __future__ import annotations

import datetime
import importlib
import os
import re
from typing import Any, Callable

SETTING = "DURAFN_WORKER_FAST_TIMESTAMPS"

_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z\Z")


def fast_parser(fallback: Callable[..., Any]) -> Callable[..., Any]:
    """A drop-in for ``dateutil.parser.parse`` that is fast for the protocol's timestamps."""
    # dateutil gives "Z" the zone tzutc(), or tzlocal() on a machine whose local zone is named
    # UTC; ask it once which, and use that very object.
    utc = fallback("2000-01-01T00:00:00.000000Z").tzinfo

    def parse(timestr: Any, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs and isinstance(timestr, str) and _SHAPE.match(timestr):
            return datetime.datetime.fromisoformat(timestr[:-1]).replace(tzinfo=utc)
        return fallback(timestr, *args, **kwargs)

    parse.durafn_fast = True  # type: ignore[attr-defined]
    return parse


def install() -> bool:
    """Puts the fast parser into the SDK's history module; whether it did."""
    if os.environ.get(SETTING, "1").strip().lower() in ("0", "false", "no"):
        return False
    try:
        # The package re-exports the class under the module's name; import the module itself.
        module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    except ImportError:
        return False
    current = getattr(module, "dt_parse", None)
    if current is None or getattr(current, "durafn_fast", False):
        return False
    module.dt_parse = fast_parser(current)
    return True
