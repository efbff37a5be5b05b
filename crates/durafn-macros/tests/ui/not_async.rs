use durafn::prelude::*;

#[orchestrator]
fn not_async(_ctx: OrchestrationContext, _input: ()) -> Result<(), FunctionError> {
    Ok(())
}

fn main() {}
