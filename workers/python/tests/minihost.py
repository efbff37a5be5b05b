"""A small host loop that drives an orchestration to its end, as PROTOCOL.md tells a host to.

It follows the rules of "Mapping actions onto durable work" literally: flattened actions get
the SDK's ids in order, retries get the SDK's extra timers and are delivered first in a turn,
entity calls become ``EventSent`` + ``EventRaised`` with a request GUID, cancelled timers are
dropped. Activities and entities run in the real worker; time is virtual (a timer fires by
moving the clock to its ``fireAt``). It exists to check that those rules, applied to the real
SDK, reach the outputs the orchestrations are written to produce.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Optional

from dateutil.parser import isoparse

from dtfx import History, flat_actions, state_of, ts

CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT, CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY = 4, 5, 6, 7, 8, 9


@dataclasses.dataclass
class Retry:
    action: dict
    attempts: int = 1


@dataclasses.dataclass
class Message:
    """A completion waiting to be delivered, at ``due`` (virtual time)."""

    due: datetime
    apply: Any  # (History) -> None
    allocates: bool = False  # a retry event the SDK allocates an id for (delivered first)
    on_deliver: Any = None  # host bookkeeping when it is delivered
    event: Optional[str] = None  # the name of an external event


class Run:
    """One orchestration instance driven by the worker."""

    def __init__(self, worker, name: str, input_value: Any, instance_id: str = "inst-1",
                 events: Optional[list] = None, entities: Optional[dict] = None,
                 parent: Optional[str] = None, start: Optional[datetime] = None,
                 max_turns: int = 50, hold_events: bool = True) -> None:
        self.worker = worker
        self.name = name
        self.instance_id = instance_id
        self.history = History(name, json.dumps(input_value), instance_id,
                               parent_instance_id=parent, **({"start": start} if start else {}))
        self.next_id = 0
        self.ids: list[Optional[int]] = []  # SDK id of each flattened action (None: no id)
        self.kinds: dict[int, tuple] = {}  # id -> (actionType, name) for the replay check
        self.retries: dict[int, Retry] = {}  # id of the current attempt or timer -> retry
        self.timers: dict[int, Message] = {}
        self.queue: list[Message] = []
        self.entities = entities if entities is not None else {}
        self.entity_function = None
        self.turn_states: list[dict] = []
        self.max_turns = max_turns
        # External events wait until the code waits for them (PROTOCOL.md, "External events").
        self.hold_events = hold_events
        self.waits: Counter = Counter()
        self.delivered: Counter = Counter()
        for delay_seconds, event_name, payload in events or []:
            due = self.history.now + timedelta(seconds=delay_seconds)
            self.queue.append(Message(due, lambda h, n=event_name, p=payload:
                                      h.event_raised(n, json.dumps(p)), event=event_name))

    # --- the SDK's id allocation ---------------------------------------------------------
    def allocate(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    # --- actions -> work -----------------------------------------------------------------
    def schedule(self, action: dict, task_id: int) -> None:
        kind = action["actionType"]
        h = self.history
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
            h.task_scheduled(task_id, action["functionName"], action["input"])
            self.run_activity(task_id, action)
        elif kind == CALL_HTTP:
            h.task_scheduled(task_id, "BuiltIn::HttpActivity", json.dumps(action["httpRequest"]))
            response = {"statusCode": 200, "headers": {"Content-Type": "text/plain"},
                        "content": f"{action['httpRequest']['method']} ok"}
            self.complete(lambda h2, i=task_id, r=response: h2.task_completed(i, json.dumps(r)))
        elif kind in (CALL_SUB, CALL_SUB_RETRY):
            child_id = action.get("instanceId") or f"{self.instance_id}:{task_id}"
            h.sub_orchestration_created(task_id, action["functionName"], child_id,
                                        action["input"])
            self.run_sub_orchestration(task_id, child_id, action)
        elif kind == CREATE_TIMER:
            h.timer_created(task_id, action["fireAt"])
            message = Message(isoparse(action["fireAt"]),
                              lambda h2, i=task_id, f=action["fireAt"]: h2.timer_fired(i, f))
            self.timers[task_id] = message
            self.queue.append(message)
        elif kind == CALL_ENTITY:
            request_id = str(uuid.uuid4())
            h.event_sent(task_id, action["instanceId"], {
                "id": request_id, "op": action["operation"], "signal": False,
                "input": action["input"], "parent": self.instance_id})
            self.run_entity(action, request_id)
        elif kind == SIGNAL_ENTITY:
            h.event_sent(task_id, action["instanceId"], {
                "id": str(uuid.uuid4()), "op": action["operation"], "signal": True,
                "input": action["input"]})
            self.run_entity(action, None)
        else:
            raise AssertionError(f"no id-consuming action of type {kind}")

    def complete(self, apply, allocates: bool = False, on_deliver=None) -> None:
        self.queue.append(Message(self.history.now, apply, allocates, on_deliver))

    def run_activity(self, task_id: int, action: dict) -> None:
        reply = self.worker.invoke(action["functionName"], "activity", input=action["input"])
        if reply["ok"]:
            self.complete(lambda h, i=task_id, r=reply["output"]: h.task_completed(i, r))
        else:
            error = reply["error"]
            reason = f"{error['type']}: {error['message']}"
            self.fail(task_id, action, lambda h, i=task_id: h.task_failed(
                i, reason, error["traceback"]))

    def run_sub_orchestration(self, task_id: int, child_id: str, action: dict) -> None:
        child = Run(self.worker, action["functionName"], json.loads(action["input"]), child_id,
                    entities=self.entities, parent=self.instance_id, start=self.history.now)
        child.entity_function = self.entity_function
        outcome = child.run()
        if outcome["status"] == "Completed":
            self.complete(lambda h, i=task_id, r=json.dumps(outcome["output"]):
                          h.sub_orchestration_completed(i, r))
        else:
            self.fail(task_id, action, lambda h, i=task_id, e=outcome["error"]:
                      h.sub_orchestration_failed(i, e, ""))

    def fail(self, task_id: int, action: dict, apply) -> None:
        """Delivers a failure; for a retried call, the SDK's retry sequence follows it."""
        retry = self.retries.get(task_id)
        if retry is None:
            self.complete(apply)
            return

        def after_failure(_h):
            timer_id = self.allocate()
            options = retry.action["retryOptions"]
            fire_at = ts(self.history.now +
                         timedelta(milliseconds=options["firstRetryIntervalInMilliseconds"]))
            self.pending_scheduling.append(lambda h: h.timer_created(timer_id, fire_at))
            self.retries[timer_id] = retry
            self.queue.append(Message(isoparse(fire_at),
                                      lambda h, t=timer_id, f=fire_at: h.timer_fired(t, f),
                                      allocates=retry.attempts < options["maxNumberOfAttempts"],
                                      on_deliver=lambda _h, t=timer_id: self.timer_done(t)))
        # A failed attempt always allocates the retry timer's id.
        self.complete(apply, allocates=True, on_deliver=after_failure)

    def timer_done(self, timer_id: int) -> None:
        retry = self.retries.pop(timer_id)
        if retry.attempts >= retry.action["retryOptions"]["maxNumberOfAttempts"]:
            return  # the extra timer: the SDK now surfaces the last failure
        retry.attempts += 1
        attempt_id = self.allocate()
        self.retries[attempt_id] = retry
        self.pending_scheduling.append(lambda h: self.schedule(retry.action, attempt_id))

    def run_entity(self, action: dict, request_id: Optional[str]) -> None:
        entity_id = action["instanceId"]
        name, key = entity_id[1:].split("@", 1)
        state = self.entities.get(entity_id)
        context = {"self": {"name": name, "key": key}, "exists": state is not None,
                   "state": state,
                   "batch": [{"name": action["operation"], "input": json.dumps(action["input"]),
                              "signal": request_id is None}]}
        function = self.entity_function or name
        reply = self.worker.invoke(function, "entity", context=json.dumps(context))
        assert reply["ok"], reply
        result = json.loads(reply["result"])
        self.entities[entity_id] = result["entityState"] if result["entityExists"] else None
        if request_id is not None:
            outcome = result["results"][0]
            self.complete(lambda h, r=request_id, o=outcome: h.entity_response(
                r, o["result"], error=o["isError"]))

    # --- turns ---------------------------------------------------------------------------
    def run(self) -> dict:
        self.pending_scheduling: list = []
        for _ in range(self.max_turns):
            reply = self.worker.invoke(self.name, "orchestrator", context=self.history.context())
            state = state_of(reply)
            self.turn_states.append(state)
            if state.get("error"):
                return {"status": "Failed", "error": state["error"], "state": state}
            actions = flat_actions(state)
            self.waits = Counter(a["externalEventName"] for a in actions
                                 if a["actionType"] == WAIT_EVENT)
            for index, action in enumerate(actions):
                if index < len(self.ids):
                    self.check_replay(index, action)
                    continue
                if action["actionType"] in (WAIT_EVENT, CONTINUE_AS_NEW):
                    self.ids.append(None if action["actionType"] == WAIT_EVENT
                                    else self.allocate())
                    continue
                task_id = self.allocate()
                self.ids.append(task_id)
                self.kinds[task_id] = (action["actionType"], action.get("functionName"))
                if action["actionType"] == CALL_ACTIVITY_RETRY or \
                        action["actionType"] == CALL_SUB_RETRY:
                    self.retries[task_id] = Retry(action)
                self.schedule(action, task_id)
            for apply in self.pending_scheduling:
                apply(self.history)
            self.pending_scheduling = []
            if state["isDone"]:
                again = [a for a in actions if a["actionType"] == CONTINUE_AS_NEW]
                if again:
                    return {"status": "ContinuedAsNew", "input": again[0]["input"]}
                return {"status": "Completed", "output": state.get("output"),
                        "customStatus": state.get("customStatus")}
            self.next_turn()
        raise AssertionError(f"{self.name} did not finish in {self.max_turns} turns")

    def check_replay(self, index: int, action: dict) -> None:
        task_id = self.ids[index]
        if action["actionType"] == CREATE_TIMER and action["isCanceled"]:
            message = self.timers.pop(task_id, None)
            self.queue = [m for m in self.queue if m is not message]
        if task_id is not None and task_id in self.kinds:
            recorded = self.kinds[task_id]
            now = (action["actionType"], action.get("functionName"))
            assert recorded == now, f"non-determinism at id {task_id}: {recorded} then {now}"

    def deliverable(self, message: Message) -> bool:
        if message.event is None or not self.hold_events:
            return True
        return self.waits[message.event] > self.delivered[message.event]

    def next_turn(self) -> None:
        ready = [m for m in self.queue if self.deliverable(m)]
        if not ready:
            raise AssertionError(f"{self.name} waits for something that never comes")
        due = min(m.due for m in ready)
        batch = [m for m in ready if m.due <= max(due, self.history.now)]
        if self.hold_events:
            # No more events of a name than there are waits for it that got none yet.
            allowance = {n: self.waits[n] - self.delivered[n] for n in self.waits}
            chosen = []
            for m in batch:
                if m.event is not None:
                    if allowance.get(m.event, 0) <= 0:
                        continue
                    allowance[m.event] -= 1
                chosen.append(m)
            batch = chosen
        self.queue = [m for m in self.queue if not any(m is b for b in batch)]
        # Retry events the SDK allocates ids for go first (PROTOCOL.md, "Retries").
        batch.sort(key=lambda m: not m.allocates)
        self.history.begin_turn(max(due, self.history.now + timedelta(seconds=1)))
        for m in batch:
            m.apply(self.history)
            if m.event is not None:
                self.delivered[m.event] += 1
            if m.on_deliver is not None:
                m.on_deliver(self.history)
