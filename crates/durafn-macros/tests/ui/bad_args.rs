use durafn::prelude::*;

#[orchestrator(name = 5)]
async fn numeric_name(_ctx: OrchestrationContext, _input: ()) -> Result<(), FunctionError> {
    Ok(())
}

#[activity(version = "2")]
async fn unknown_argument(_input: ()) -> Result<(), FunctionError> {
    Ok(())
}

fn main() {}
