import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    """Counts its executions with continue_as_new until the input reaches 3."""
    n = context.get_input()
    if n >= 3:
        return n
    yield context.call_activity("echo-activity", n)
    context.continue_as_new(n + 1)


main = df.Orchestrator.create(orchestrator)
