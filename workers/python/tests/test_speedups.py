"""The fast timestamp parser gives exactly what dateutil gives, or leaves the work to it."""

import sys

import pytest
from dateutil.parser import parse as dateutil_parse

from host import WORKERS_PYTHON

sys.path.insert(0, str(WORKERS_PYTHON))
from durafn_worker.speedups import fast_parser  # noqa: E402

calls = []


def recording_parse(timestr, *args, **kwargs):
    calls.append(timestr)
    return dateutil_parse(timestr, *args, **kwargs)


@pytest.mark.parametrize("timestamp", [
    "2026-12-01T07:00:00.000000Z", "2021-10-12T10:00:03.123456Z", "1999-01-31T23:59:59Z",
    "2024-02-29T00:00:00.000001Z",
])
def test_the_protocol_shape_is_parsed_fast_and_identically(timestamp):
    parse = fast_parser(recording_parse)
    calls.clear()
    parsed = parse(timestamp)
    expected = dateutil_parse(timestamp)
    assert calls == []
    assert parsed == expected and repr(parsed) == repr(expected)
    assert type(parsed.tzinfo) is type(expected.tzinfo)


@pytest.mark.parametrize("timestamp", [
    "2021-10-12T10:00:03.1234567Z", "2021-10-12T10:00:03+02:00", "2021-10-12T10:00:03.123Z",
    "2021-10-12 10:00:03Z", "12/10/2021",
])
def test_other_shapes_go_to_dateutil(timestamp):
    parse = fast_parser(recording_parse)
    calls.clear()
    parsed = parse(timestamp)
    assert calls == [timestamp]
    assert parsed == dateutil_parse(timestamp)
