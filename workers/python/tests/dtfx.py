"""Orchestrator context JSON as the host builds it (see PROTOCOL.md, "The orchestrator context").

History events are dicts in the Durable Task Framework shape with integer ``EventType``;
payloads (``Input``, ``Result``) are JSON *text* carried in JSON strings, timestamps are
``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_SENT = 14
EVENT_RAISED = 15

START = datetime(2026, 12, 1, 7, 0, 0, tzinfo=timezone.utc)


def ts(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def text(value: Any) -> str:
    """A payload as the history carries it: JSON text."""
    return json.dumps(value)


class History:
    """One execution's history, built turn by turn."""

    def __init__(self, name: str, input_text: Optional[str], instance_id: str = "inst-1",
                 start: datetime = START, parent_instance_id: Optional[str] = None) -> None:
        self.name = name
        self.input = input_text
        self.instance_id = instance_id
        self.parent_instance_id = parent_instance_id
        self.events: list[dict] = []
        self.now = start
        self.turns = 0
        self.begin_turn(start)
        self.add(EXECUTION_STARTED, Name=name, Input=input_text, Version="",
                 OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": "e1"},
                 ParentInstance=None if parent_instance_id is None else {
                     "OrchestrationInstance": {"InstanceId": parent_instance_id}})

    def add(self, event_type: int, event_id: int = -1, **fields: Any) -> dict:
        event = {"EventType": event_type, "EventId": event_id, "IsPlayed": False,
                 "Timestamp": ts(self.now)}
        event.update(fields)
        self.events.append(event)
        return event

    def begin_turn(self, at: Optional[datetime] = None) -> None:
        """Closes the previous turn and opens a new one at ``at`` (default: one second on)."""
        if self.turns:
            self.add(ORCHESTRATOR_COMPLETED)
        self.now = at or (self.now + timedelta(seconds=1))
        self.turns += 1
        self.add(ORCHESTRATOR_STARTED)

    # Scheduling events (the SDK ignores them; a host records them for its own replay check).
    def task_scheduled(self, event_id: int, name: str, input_text: Optional[str]) -> None:
        self.add(TASK_SCHEDULED, event_id, Name=name, Version="", Input=input_text)

    def timer_created(self, event_id: int, fire_at: str) -> None:
        self.add(TIMER_CREATED, event_id, FireAt=fire_at)

    def sub_orchestration_created(self, event_id: int, name: str, instance_id: str,
                                  input_text: Optional[str]) -> None:
        self.add(SUB_ORCHESTRATION_CREATED, event_id, Name=name, InstanceId=instance_id,
                 Input=input_text, Version="")

    def event_sent(self, event_id: int, instance_id: str, request: dict) -> None:
        self.add(EVENT_SENT, event_id, InstanceId=instance_id, Name="op",
                 Input=json.dumps(request))

    # Completion events (what the SDK reads).
    def task_completed(self, task_id: int, result_text: Optional[str]) -> None:
        self.add(TASK_COMPLETED, TaskScheduledId=task_id, Result=result_text)

    def task_failed(self, task_id: int, reason: str, details: str = "") -> None:
        self.add(TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details=details)

    def timer_fired(self, timer_id: int, fire_at: str) -> None:
        self.add(TIMER_FIRED, TimerId=timer_id, FireAt=fire_at)

    def sub_orchestration_completed(self, task_id: int, result_text: Optional[str]) -> None:
        self.add(SUB_ORCHESTRATION_COMPLETED, TaskScheduledId=task_id, Result=result_text)

    def sub_orchestration_failed(self, task_id: int, reason: str, details: str = "") -> None:
        self.add(SUB_ORCHESTRATION_FAILED, TaskScheduledId=task_id, Reason=reason,
                 Details=details)

    def event_raised(self, name: str, input_text: Optional[str]) -> None:
        self.add(EVENT_RAISED, Name=name, Input=input_text)

    def entity_response(self, request_id: str, result_text: str, error: bool = False) -> None:
        body = {"result": result_text}
        if error:
            body["exceptionType"] = "System.Exception"
        self.add(EVENT_RAISED, Name=request_id, Input=json.dumps(body))

    def context(self, upper_schema: int = 1, **extra: Any) -> str:
        """The context JSON of the current turn."""
        last_started = max(i for i, e in enumerate(self.events)
                           if e["EventType"] == ORCHESTRATOR_STARTED)
        history = [dict(e, IsPlayed=i < last_started) for i, e in enumerate(self.events)]
        context = {
            "history": history,
            "input": self.input,
            "instanceId": self.instance_id,
            "isReplaying": self.turns > 1,
            "parentInstanceId": self.parent_instance_id,
            "upperSchemaVersion": upper_schema,
        }
        context.update(extra)
        return json.dumps(context)


def state_of(reply: dict) -> dict:
    """The orchestration state of a worker reply."""
    assert reply["ok"], reply
    return json.loads(reply["state"])


def flat_actions(state: dict) -> list:
    """The state's actions flattened in order (compound actions replaced by their children)."""
    out: list = []

    def walk(action: dict) -> None:
        if action["actionType"] in (11, 12):
            for child in action["compoundActions"]:
                walk(child)
        else:
            out.append(action)

    for group in state["actions"]:
        for action in group:
            walk(action)
    return out
