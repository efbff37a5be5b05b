import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    """Waits for an activity, then for two events of the same name."""
    yield context.call_activity("echo-activity", "first")
    one = yield context.wait_for_external_event("Note")
    two = yield context.wait_for_external_event("Note")
    return [one, two]


main = df.Orchestrator.create(orchestrator)
