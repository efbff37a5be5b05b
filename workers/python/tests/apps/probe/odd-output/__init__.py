import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    """Sets a falsy custom status and returns what JSON cannot carry."""
    context.set_custom_status(0)
    if context.get_input() == "unserialisable":
        return object()
    return None


main = df.Orchestrator.create(orchestrator)
