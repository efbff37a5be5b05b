use durafn::prelude::*;

#[activity]
async fn returns_nothing(_input: ()) {}

#[orchestrator]
async fn generic<T>(_ctx: OrchestrationContext, _input: T) -> Result<(), FunctionError> {
    Ok(())
}

fn main() {}
