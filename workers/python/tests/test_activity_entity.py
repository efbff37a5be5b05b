"""Activities and entities: payloads decoded and encoded as the Azure worker does."""

import json
import os
import random
import uuid

import pytest

from conftest import require_env
from host import EXAMPLES, WorkerProcess

AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")


def azurite_connection_string(purpose: str) -> str:
    value = require_env("DURAFN_TEST_AZURITE", purpose)
    endpoint = value if value.startswith("http") else "http://127.0.0.1:10002/devstoreaccount1"
    return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};TableEndpoint={endpoint};")


def test_the_seed_activity_counts_distinct_ids_in_azurite():
    connection = azurite_connection_string("the seed activity against Azurite")
    from azure.data.tables import TableServiceClient
    table = TableServiceClient.from_connection_string(connection).create_table_if_not_exists(
        "audit")
    # The article's table name is fixed; a random far-future year keeps this test's rows apart
    # from anyone else's.
    year = random.randint(3000, 9999)
    rows = [("10", "A", "c1"), ("10", "A", "c2"), ("11", "B", "c3"), ("11", "C", ""),
            ("12", "D", "c4"), ("13", "E", "c5")]
    entities = [{"PartitionKey": f"{year}-10-{day}", "RowKey": str(uuid.uuid4()),
                 "identificationNumber": ident, "CertNumber": cert}
                for day, ident, cert in rows]
    for entity in entities:
        table.create_entity(entity)
    process = WorkerProcess()
    try:
        result = process.init(EXAMPLES / "audit-query",
                              app_settings={"AuditTableConnection": connection})
        assert result["error"] is None
        reply = process.invoke("query-storage-account-activity-function", "activity",
                               input=json.dumps({"start": f"{year}-10-10",
                                                 "end": f"{year}-10-12"}))
        # A (twice), B, D: C has no CertNumber, E is outside the range.
        assert reply == {"type": "result", "id": reply["id"], "ok": True, "output": "3"}
    finally:
        process.stop()
        for entity in entities:
            table.delete_entity(entity["PartitionKey"], entity["RowKey"])


def test_the_seed_activity_without_its_setting_fails_with_the_key(audit):
    if "AuditTableConnection" in os.environ:
        pytest.skip("the environment sets AuditTableConnection")
    reply = audit.invoke("query-storage-account-activity-function", "activity",
                         input=json.dumps({"start": "2021-10-10", "end": "2021-10-12"}))
    assert reply["ok"] is False
    assert reply["error"]["type"] == "KeyError"
    assert "AuditTableConnection" in reply["error"]["message"]
    # The traceback starts in the app, not in the worker.
    assert reply["error"]["traceback"].splitlines()[1].strip().startswith(
        f'File "{EXAMPLES / "audit-query" / "query-storage-account-activity-function"}')


@pytest.mark.parametrize("input_text,output", [
    ('{"a": [1, 2.5, null]}', '{"a": [1, 2.5, null]}'),
    ('"text"', '"text"'),
    ("null", "null"),
    # Not JSON: the converter hands the raw string to the function.
    ("not json at all", '"not json at all"'),
])
def test_activity_payloads_round_trip_as_json(probe, input_text, output):
    reply = probe.invoke("echo-activity", "activity", input=input_text)
    assert reply["ok"] and reply["output"] == output


def test_custom_classes_travel_in_the_sdk_envelope(probe):
    envelope = {"__class__": "Point", "__module__": "__app__.shared_code.models",
                "__data__": {"x": 1, "y": 2}}
    reply = probe.invoke("point-activity", "activity", input=json.dumps(envelope))
    assert json.loads(reply["output"]) == dict(envelope, __data__={"x": 2, "y": 4})


def test_a_raising_activity_is_a_failed_reply_with_its_traceback(probe):
    reply = probe.invoke("fail-activity", "activity", input='"x"')
    assert reply["ok"] is False
    error = reply["error"]
    assert (error["type"], error["message"]) == ("ValueError", "boom: x")
    assert 'raise ValueError(f"boom: {value}")' in error["traceback"]
    assert "durafn_worker" not in error["traceback"]


def test_a_context_parameter_gets_the_invocation(probe):
    reply = probe.invoke("context-activity", "activity", input='"v"')
    output = json.loads(reply["output"])
    assert (output["invocationId"], output["functionName"], output["directory"],
            output["value"]) == (reply["id"], "context-activity", "context-activity", "v")


def entity_context(name, key, state, *operations, exists=None):
    """The entity invocation payload; each operation's input is JSON text, encoded once more."""
    return json.dumps({
        "self": {"name": name, "key": key},
        "exists": state is not None if exists is None else exists,
        "state": state,
        "batch": [{"name": op, "input": json.dumps(json.dumps(arg)), "signal": False}
                  for op, arg in operations],
    })


def entity(worker, function, context):
    reply = worker.invoke(function, "entity", context=context)
    assert reply["ok"], reply
    return json.loads(reply["result"])


def test_an_entity_batch_runs_every_operation_in_order(probe):
    result = entity(probe, "counter-entity",
                    entity_context("counter-entity", "k", None, ("add", 3), ("add", 4),
                                   ("get", None)))
    assert result["entityExists"] is True and result["entityState"] == "7"
    assert [(r["isError"], r["result"]) for r in result["results"]] == [
        (False, "3"), (False, "7"), (False, "7")]
    assert all(isinstance(r["startTime"], int) and r["duration"] >= 0
               for r in result["results"])
    assert result["signals"] == []


def test_a_failing_operation_is_an_error_result_and_the_batch_goes_on(probe):
    result = entity(probe, "counter-entity",
                    entity_context("counter-entity", "k", "10", ("add", 1), ("fail", None),
                                   ("add", 2)))
    assert [(r["isError"], r["result"]) for r in result["results"]] == [
        (False, "11"), (True, json.dumps("cannot fail politely")), (False, "13")]
    assert result["entityState"] == "13"


def test_an_untouched_state_comes_back_verbatim_and_delete_removes_it(probe):
    untouched = entity(probe, "counter-entity",
                       json.dumps({"self": {"name": "c", "key": "k"}, "exists": True,
                                   "state": '{"odd":  "spacing"}', "batch": []}))
    assert untouched["entityState"] == '{"odd":  "spacing"}'
    deleted = entity(probe, "counter-entity",
                     entity_context("counter-entity", "k", "5", ("delete", None)))
    assert deleted["entityExists"] is False and deleted["entityState"] == "null"


def test_operation_input_must_be_encoded_twice(probe):
    once = json.dumps({"self": {"name": "c", "key": "k"}, "exists": False, "state": None,
                       "batch": [{"name": "add", "input": "3"}]})
    result = entity(probe, "counter-entity", once)
    assert result["results"][0]["isError"] is True


def test_the_v2_counter_entity(showcase):
    result = entity(showcase, "counter",
                    entity_context("counter", "k1", None, ("add", 5), ("add", 1), ("get", None),
                                   ("frobnicate", None)))
    assert [(r["isError"], r["result"]) for r in result["results"]] == [
        (False, "5"), (False, "6"), (False, "6"), (True, json.dumps("unknown operation "
                                                                    "'frobnicate'"))]
    assert result["entityState"] == "6"
