import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    """A retried call racing a plain one; then one more call."""
    retried = context.call_activity_with_retry("fail-activity", df.RetryOptions(1000, 2), "a")
    plain = context.call_activity("echo-activity", "b")
    yield context.task_any([retried, plain])
    last = yield context.call_activity("echo-activity", "c")
    return last


main = df.Orchestrator.create(orchestrator)
