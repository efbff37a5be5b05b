"""Fixtures: worker processes started against sockets the tests own."""

import os
import pathlib

import pytest

from host import EXAMPLES, WorkerProcess

APPS = pathlib.Path(__file__).resolve().parent / "apps"


def require_env(variable: str, purpose: str) -> str:
    """The variable's value; a skip when it is unset (a failure under ``CI=true``)."""
    value = os.environ.get(variable)
    if value:
        return value
    message = f"skipped: set {variable} to run {purpose}"
    if os.environ.get("CI") == "true":
        pytest.fail(message.replace("skipped: set", "CI must set"))
    pytest.skip(message)


@pytest.fixture
def worker():
    """A fresh, uninitialised worker (for tests that kill it or shut it down)."""
    process = WorkerProcess()
    yield process
    process.stop()


def _initialised(root: pathlib.Path, **settings):
    process = WorkerProcess()
    result = process.init(root, app_settings=settings)
    assert result["error"] is None, result
    process.init_result = result
    return process


@pytest.fixture(scope="module")
def probe():
    """The worker serving tests/apps/probe (v1 functions that probe the worker)."""
    process = _initialised(APPS / "probe", PYTHON_THREADPOOL_THREAD_COUNT="8")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def audit():
    """The worker serving the seed article's app."""
    process = _initialised(EXAMPLES / "audit-query")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def showcase():
    """The worker serving the v2-model showcase."""
    process = _initialised(EXAMPLES / "v2-showcase")
    yield process
    process.stop()
