"""Orchestrator turns: context JSON as the host builds it in, orchestration state out.

Each test builds the history of an orchestration turn by turn, as PROTOCOL.md describes, and
checks what the real Durable Functions SDK answers: the cumulative actions, the output, the
error. Together they pin down every rule a host has to follow.
"""

import json
import uuid

from dtfx import START, History, flat_actions, state_of, text, ts

ACTIVITY = "query-storage-account-activity-function"
PARAMS = {"start": "2021-10-10", "end": "2021-10-12"}


def turn(worker, function, history, **extra):
    return state_of(worker.invoke(function, "orchestrator", context=history.context(**extra)))


def test_the_seed_orchestrator_calls_the_activity_and_returns_its_result(audit):
    h = History("orchestrator-function", text(PARAMS))
    first = turn(audit, "orchestrator-function", h)
    call = {"actionType": 0, "functionName": ACTIVITY, "input": text(PARAMS)}
    assert first == {"isDone": False, "schemaVersion": 1, "actions": [[call]]}

    h.task_scheduled(0, ACTIVITY, text(PARAMS))
    h.begin_turn()
    h.task_completed(0, "616")
    second = turn(audit, "orchestrator-function", h)
    # The actions are cumulative: the completed call is still listed.
    assert second == {"isDone": True, "schemaVersion": 1, "actions": [[call]], "output": 616}


def test_without_the_execution_started_version_the_sdk_fails(audit):
    h = History("orchestrator-function", text(PARAMS))
    del h.events[1]["Version"]
    reply = audit.invoke("orchestrator-function", "orchestrator", context=h.context())
    assert reply["ok"] is False
    assert "Version" in reply["error"]["message"]


def test_fan_out_is_one_when_all_of_the_calls_and_results_keep_input_order(showcase):
    h = History("fan_out_fan_in", text(["Tokyo", "Seattle", "London"]))
    first = turn(showcase, "fan_out_fan_in", h)
    calls = [{"actionType": 0, "functionName": "say_hello", "input": text(c)}
             for c in ("Tokyo", "Seattle", "London")]
    assert first["actions"] == [[{"actionType": 12, "compoundActions": calls}]]
    for i, call in enumerate(calls):
        h.task_scheduled(i, "say_hello", call["input"])
    h.begin_turn()
    h.task_completed(2, text("Hello London!"))
    h.task_completed(0, text("Hello Tokyo!"))
    assert turn(showcase, "fan_out_fan_in", h)["isDone"] is False
    h.begin_turn()
    h.task_completed(1, text("Hello Seattle!"))
    done = turn(showcase, "fan_out_fan_in", h)
    assert done["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_schema_v1_groups_actions_per_yield_without_compounds(showcase):
    h = History("fan_out_fan_in", text(["A", "B"]))
    state = turn(showcase, "fan_out_fan_in", h, upper_schema=0)
    assert "schemaVersion" not in state
    assert state["actions"] == [[{"actionType": 0, "functionName": "say_hello",
                                  "input": text("A")},
                                 {"actionType": 0, "functionName": "say_hello",
                                  "input": text("B")}]]


def test_a_failed_fan_out_call_fails_the_orchestration_with_reason_and_details(showcase):
    h = History("fan_out_fan_in", text(["A", "B"]))
    h.begin_turn()
    h.task_failed(1, "ValueError: no such city", "Traceback ...")
    reply = showcase.invoke("fan_out_fan_in", "orchestrator", context=h.context())
    state = state_of(reply)
    assert state["isDone"] is False
    # The SDK builds the exception from Reason and Details.
    assert state["error"] == "ValueError: no such city \n Traceback ..."
    assert reply["error"]["type"] == "Exception"


def approval_first_turn(showcase, hours=1):
    h = History("approval_workflow", text({"timeoutHours": hours}))
    state = turn(showcase, "approval_workflow", h)
    return h, state


def test_human_interaction_waits_for_the_event_or_the_timer(showcase):
    h, state = approval_first_turn(showcase)
    fire_at = ts(START.replace(hour=8))
    wait = {"actionType": 6, "externalEventName": "Approval", "reason": "ExternalEvent"}
    timer = {"actionType": 5, "fireAt": fire_at, "isCanceled": False}
    assert state == {"isDone": False, "schemaVersion": 1, "customStatus": "waiting for approval",
                     "actions": [[{"actionType": 11, "compoundActions": [wait, timer]}]]}
    # The event wins: the timer is cancelled (its action flips isCanceled), the output is set.
    h.timer_created(0, fire_at)
    h.begin_turn()
    h.event_raised("Approval", text({"by": "ann"}))
    done = turn(showcase, "approval_workflow", h)
    assert done["isDone"] is True
    assert done["output"] == {"approved": True, "by": "ann"}
    assert done["customStatus"] == "approved"
    assert done["actions"][0][0]["compoundActions"][1]["isCanceled"] is True


def test_human_interaction_escalates_when_the_timer_fires_first(showcase):
    h, state = approval_first_turn(showcase)
    fire_at = ts(START.replace(hour=8))
    h.timer_created(0, fire_at)
    h.begin_turn(START.replace(hour=8))
    h.timer_fired(0, fire_at)
    escalating = turn(showcase, "approval_workflow", h)
    assert flat_actions(escalating)[2] == {"actionType": 0, "functionName": "escalate",
                                           "input": text({"timeoutHours": 1})}
    assert escalating["customStatus"] == "escalated"
    h.task_scheduled(1, "escalate", text({"timeoutHours": 1}))
    h.begin_turn()
    h.task_completed(1, text("escalated to the manager"))
    done = turn(showcase, "approval_workflow", h)
    assert done["output"] == {"approved": False, "escalation": "escalated to the manager"}


def test_schema_v3_with_timer_limits_splits_a_long_timer(showcase):
    h, _ = approval_first_turn(showcase, hours=240)
    state = turn(showcase, "approval_workflow", h, upperSchemaVersionNew=2,
                 longRunningTimerIntervalDuration="3.00:00:00",
                 maximumShortTimerDuration="6.00:00:00")
    assert state["schemaVersion"] == 2
    timer = state["actions"][0][0]["compoundActions"][1]
    # A timer beyond the maximum becomes a WhenAll of the first interval's timer.
    assert timer == {"actionType": 12, "compoundActions": [
        {"actionType": 5, "fireAt": ts(START.replace(day=4)), "isCanceled": False}]}
    # Without the two durations, V3 behaves as V2.
    plain = turn(showcase, "approval_workflow", h, upperSchemaVersionNew=2)
    assert plain["actions"][0][0]["compoundActions"][1]["actionType"] == 5


def test_entity_calls_are_answered_by_event_sent_and_event_raised(showcase):
    h = History("counter_workflow", text("k1"))
    first = turn(showcase, "counter_workflow", h)
    signal = {"actionType": 9, "instanceId": "@counter@k1", "operation": "add", "input": "5"}
    call = {"actionType": 7, "instanceId": "@counter@k1", "operation": "add", "input": "1"}
    assert first["actions"] == [[signal, call]]
    # Ids: the signal took 0 when it was made, the call 1 when it was yielded.
    h.event_sent(0, "@counter@k1", {"id": "s-guid", "op": "add", "signal": True})
    h.event_sent(1, "@counter@k1", {"id": "c-guid-1", "op": "add", "signal": False})
    h.begin_turn()
    h.entity_response("c-guid-1", "6")
    second = turn(showcase, "counter_workflow", h)
    get = {"actionType": 7, "instanceId": "@counter@k1", "operation": "get", "input": "null"}
    assert second["actions"] == [[signal, call, get]]
    h.event_sent(2, "@counter@k1", {"id": "c-guid-2", "op": "get", "signal": False})
    h.begin_turn()
    h.entity_response("c-guid-2", "6")
    assert turn(showcase, "counter_workflow", h)["output"] == {"afterAdd": 6, "value": 6}


def test_a_failed_entity_operation_throws_in_the_orchestration(showcase):
    h = History("counter_workflow", text("k1"))
    h.event_sent(1, "@counter@k1", {"id": "c-guid-1", "op": "add", "signal": False})
    h.begin_turn()
    h.entity_response("c-guid-1", json.dumps("unknown operation 'add'"), error=True)
    state = turn(showcase, "counter_workflow", h)
    assert state["error"] == "unknown operation 'add'"


def retry_history():
    h = History("flaky_workflow", text({"counter": "unused", "failures": 9}))
    h.task_scheduled(0, "flaky", "{}")
    return h


def test_a_retried_call_expects_a_timer_after_each_failure_and_then_a_new_attempt(showcase):
    h = retry_history()
    first = turn(showcase, "flaky_workflow", h)
    retry = {"actionType": 1, "functionName": "flaky",
             "input": text({"counter": "unused", "failures": 9}),
             "retryOptions": {"firstRetryIntervalInMilliseconds": 1000,
                              "maxNumberOfAttempts": 3}}
    # V2 wraps a retried call in a WhenAll of one.
    assert first["actions"] == [[{"actionType": 12, "compoundActions": [retry]}]]
    h.begin_turn()
    h.task_failed(0, "RuntimeError: attempt 1 failed")
    h.timer_created(1, ts(h.now))  # the SDK allocated id 1 for the retry timer
    assert turn(showcase, "flaky_workflow", h)["isDone"] is False
    h.begin_turn()
    h.timer_fired(1, ts(h.now))
    h.task_scheduled(2, "flaky", "{}")  # the second attempt has id 2
    assert turn(showcase, "flaky_workflow", h)["isDone"] is False
    h.begin_turn()
    h.task_completed(2, text("succeeded on attempt 2"))
    done = turn(showcase, "flaky_workflow", h)
    assert done["output"] == "succeeded on attempt 2"
    # The action list never shows the retries: the host runs them.
    assert done["actions"] == first["actions"]


def test_after_the_last_attempt_the_sdk_still_waits_for_one_more_timer(showcase):
    h = retry_history()
    next_id = 1
    for attempt in (1, 2, 3):
        h.begin_turn()
        h.task_failed(next_id - 1, f"RuntimeError: attempt {attempt} failed")
        timer = next_id
        assert turn(showcase, "flaky_workflow", h)["isDone"] is False, attempt
        h.begin_turn()
        h.timer_fired(timer, ts(h.now))
        next_id = timer + 2
        state = turn(showcase, "flaky_workflow", h)
    # Only the timer after the third failure (id 5) surfaces the error.
    assert timer == 5
    assert state["error"] == "RuntimeError: attempt 3 failed \n "


def test_retry_ids_are_allocated_when_the_sdk_processes_the_failure(probe):
    """A retried call fails in the same turn as a racing call completes; ids follow order."""
    def run(failure_first):
        h = History("retry-race", None)
        h.begin_turn()
        if failure_first:
            h.task_failed(0, "ValueError: boom: a")
            h.task_completed(1, text("b"))
        else:
            h.task_completed(1, text("b"))
            h.task_failed(0, "ValueError: boom: a")
        state = turn(probe, "retry-race", h)
        assert flat_actions(state)[-1]["input"] == text("c")
        return h

    # Failure first: its retry timer takes 2, the call made after the race takes 3.
    h = run(failure_first=True)
    h.begin_turn()
    h.task_completed(3, text("c"))
    assert turn(probe, "retry-race", h)["output"] == "c"
    # Completion first: the new call takes 2, the retry timer 3.
    h = run(failure_first=False)
    h.begin_turn()
    h.task_completed(2, text("c"))
    assert turn(probe, "retry-race", h)["output"] == "c"


def test_sub_orchestrations_are_called_with_their_instance_ids(showcase):
    h = History("tour", text([["Tokyo"], ["Seattle"]]))
    first = turn(showcase, "tour", h)
    leg0 = {"actionType": 2, "functionName": "fan_out_fan_in", "input": text(["Tokyo"]),
            "instanceId": "inst-1:leg0", "version": None}
    assert first["actions"] == [[leg0]]
    h.sub_orchestration_created(0, "fan_out_fan_in", "inst-1:leg0", leg0["input"])
    h.begin_turn()
    h.sub_orchestration_completed(0, text(["Hello Tokyo!"]))
    second = turn(showcase, "tour", h)
    assert flat_actions(second)[1]["instanceId"] == "inst-1:leg1"
    h.begin_turn()
    h.sub_orchestration_failed(1, "Orchestrator function 'fan_out_fan_in' failed: x", "")
    failed = turn(showcase, "tour", h)
    assert failed["error"].startswith("Orchestrator function 'fan_out_fan_in' failed: x")


def test_continue_as_new_ends_the_execution_with_the_next_input(probe):
    h = History("eternal", text(1))
    h.begin_turn()
    h.task_completed(0, text(1))
    state = turn(probe, "eternal", h)
    assert state["isDone"] is True and "output" not in state
    assert flat_actions(state)[-1] == {"actionType": 4, "input": "2"}


def test_durable_http_is_one_call_answered_by_one_task_completed(probe):
    h = History("http-call", None)
    first = turn(probe, "http-call", h)
    assert first["actions"] == [[{"actionType": 8, "httpRequest": {
        "method": "POST", "uri": "https://example.com/api/things",
        "content": json.dumps({"name": "lamp"}), "headers": {"X-Trace": "t1"}}}]]
    response = {"statusCode": 201, "headers": {"Location": "/api/things/1"}, "content": "{}"}
    h.task_scheduled(0, "BuiltIn::HttpActivity", "{}")
    h.begin_turn()
    h.task_completed(0, text(response))
    assert turn(probe, "http-call", h)["output"] == response


def test_an_exception_in_user_code_is_a_state_with_the_error(showcase):
    # approval_workflow's input must be an object: request.get fails in user code.
    reply = showcase.invoke("approval_workflow", "orchestrator",
                            context=History("approval_workflow", "[1]").context())
    state = state_of(reply)
    assert state["isDone"] is False
    assert state["error"] == "'list' object has no attribute 'get'"
    # The reply also carries the exception itself, for the host's log.
    assert reply["error"]["type"] == "AttributeError"
    assert reply["error"]["message"] == state["error"]
    assert "function_app.py" in reply["error"]["traceback"]


def test_falsy_custom_status_is_dropped_and_unserialisable_output_fails(probe):
    state = turn(probe, "odd-output", History("odd-output", text("fine")))
    assert state == {"isDone": True, "schemaVersion": 1, "actions": [[]]}
    reply = probe.invoke("odd-output", "orchestrator",
                         context=History("odd-output", text("unserialisable")).context())
    state = state_of(reply)
    # Done *and* failed: the host must look at the error before isDone.
    assert state["isDone"] is True
    assert state["error"] == "Object of type object is not JSON serializable"


def test_time_ids_and_replay_follow_the_orchestrator_started_events(showcase):
    h = History("context_facts", None, instance_id="facts-1")
    h.task_scheduled(0, "say_hello", text("again"))
    second_turn = START.replace(minute=5)
    h.begin_turn(second_turn)
    h.task_completed(0, text("Hello again!"))
    out = turn(showcase, "context_facts", h)["output"]
    namespace = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
    assert out["first"] == {"time": "2026-12-01T07:00:00+00:00", "replaying": True,
                            "uuid": str(uuid.uuid5(namespace, f"facts-1_{ts(START)}_0"))}
    assert out["second"] == {"time": "2026-12-01T07:05:00+00:00", "replaying": False,
                             "uuid": str(uuid.uuid5(namespace, f"facts-1_{ts(second_turn)}_1"))}
    assert out["instanceId"] == "facts-1" and out["parent"] is None


def test_events_raised_before_the_wait_are_mishandled_by_the_sdk(probe):
    """Documented in PROTOCOL.md: why a host should hold events back until they are waited for."""
    h = History("two-events", None)
    h.task_scheduled(0, "echo-activity", text("first"))
    h.begin_turn()
    h.event_raised("Note", text("one"))
    h.begin_turn()
    h.event_raised("Note", text("two"))
    h.begin_turn()
    h.task_completed(0, text("first"))
    state = turn(probe, "two-events", h)
    # Only the last early event is kept, and it answers every later wait.
    assert state["output"] == ["two", "two"]
