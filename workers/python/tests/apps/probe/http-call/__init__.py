import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    response = yield context.call_http("POST", "https://example.com/api/things",
                                       content={"name": "lamp"},
                                       headers={"X-Trace": "t1"})
    return response


main = df.Orchestrator.create(orchestrator)
