"""Whole orchestrations driven by the host rules of PROTOCOL.md (tests/minihost.py).

Activities and entities run in the worker too; every pattern of the v2 showcase reaches the
output it is written to produce, and so does the seed article's app against Azurite.
"""

import json
import random
import uuid

from minihost import Run
from test_activity_entity import azurite_connection_string
from host import EXAMPLES, WorkerProcess


def test_fan_out_fan_in(showcase):
    outcome = Run(showcase, "fan_out_fan_in", ["Tokyo", "Seattle", "London"]).run()
    assert outcome["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_sub_orchestrations(showcase):
    outcome = Run(showcase, "tour", [["Tokyo", "Osaka"], ["Seattle"]]).run()
    assert outcome["output"] == [["Hello Tokyo!", "Hello Osaka!"], ["Hello Seattle!"]]


def test_counter_entity_called_and_signalled(showcase):
    entities = {}
    outcome = Run(showcase, "counter_workflow", "k1", entities=entities).run()
    # The signal (add 5) reaches the entity before the call (add 1): messages keep order.
    assert outcome["output"] == {"afterAdd": 6, "value": 6}
    assert entities == {"@counter@k1": "6"}
    again = Run(showcase, "counter_workflow", "k1", entities=entities,
                instance_id="inst-2").run()
    assert again["output"] == {"afterAdd": 12, "value": 12}


def test_human_interaction_approved_in_time(showcase):
    run = Run(showcase, "approval_workflow", {"timeoutHours": 1},
              events=[(600, "Approval", {"by": "ann"})])
    outcome = run.run()
    assert outcome == {"status": "Completed", "output": {"approved": True, "by": "ann"},
                       "customStatus": "approved"}
    # The cancelled timer never fired.
    assert not any(e["EventType"] == 11 for e in run.history.events)


def test_human_interaction_escalated_after_the_timeout(showcase):
    run = Run(showcase, "approval_workflow", {"timeoutHours": 1, "manager": "bo"},
              events=[(7200, "Approval", {"by": "late"})])
    outcome = run.run()
    assert outcome["output"] == {"approved": False, "escalation": "escalated to bo"}
    assert outcome["customStatus"] == "escalated"


def test_a_retrying_activity_succeeds_on_its_third_attempt(showcase, tmp_path):
    counter = str(tmp_path / "calls")
    run = Run(showcase, "flaky_workflow", {"counter": counter, "failures": 2})
    outcome = run.run()
    assert outcome["output"] == "succeeded on attempt 3"
    kinds = [e["EventType"] for e in run.history.events if e["EventType"] in (4, 5, 6, 10, 11)]
    assert kinds == [4, 6, 10, 11, 4, 6, 10, 11, 4, 5]


def test_a_retrying_activity_fails_after_its_attempts_and_the_extra_timer(showcase, tmp_path):
    run = Run(showcase, "flaky_workflow", {"counter": str(tmp_path / "calls"), "failures": 9})
    outcome = run.run()
    assert outcome["status"] == "Failed"
    assert outcome["error"].startswith("RuntimeError: attempt 3 failed")
    kinds = [e["EventType"] for e in run.history.events if e["EventType"] in (4, 5, 6, 10, 11)]
    assert kinds == [4, 6, 10, 11] * 3


def test_events_held_until_waited_for_arrive_in_order(probe):
    events = [(0, "Note", "one"), (0, "Note", "two")]
    held = Run(probe, "two-events", None, events=events).run()
    assert held["output"] == ["one", "two"]


def test_continue_as_new_until_done(probe):
    value, executions = 1, 0
    while True:
        executions += 1
        outcome = Run(probe, "eternal", value, instance_id="eternal").run()
        if outcome["status"] == "Completed":
            break
        value = json.loads(outcome["input"])
    assert (outcome["output"], executions) == (3, 3)


def test_the_seed_orchestration_against_azurite():
    connection = azurite_connection_string("the seed orchestration against Azurite")
    from azure.data.tables import TableServiceClient
    table = TableServiceClient.from_connection_string(connection).create_table_if_not_exists(
        "audit")
    year = random.randint(3000, 9999)
    entities = [{"PartitionKey": f"{year}-03-0{day}", "RowKey": str(uuid.uuid4()),
                 "identificationNumber": f"id{day % 3}", "CertNumber": "c"}
                for day in range(1, 8)]
    for entity in entities:
        table.create_entity(entity)
    worker = WorkerProcess()
    try:
        worker.init(EXAMPLES / "audit-query", app_settings={"AuditTableConnection": connection})
        outcome = Run(worker, "orchestrator-function",
                      {"start": f"{year}-03-01", "end": f"{year}-03-07"}).run()
        assert outcome["output"] == 3
    finally:
        worker.stop()
        for entity in entities:
            table.delete_entity(entity["PartitionKey"], entity["RowKey"])
