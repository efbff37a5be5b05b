use durafn::prelude::*;

#[orchestrator]
async fn missing_input(_ctx: OrchestrationContext) -> Result<(), FunctionError> {
    Ok(())
}

#[activity]
async fn too_many(_ctx: ActivityContext, _a: u8, _b: u8) -> Result<(), FunctionError> {
    Ok(())
}

fn main() {}
