use durafn::prelude::*;

#[orchestrator]
async fn takes_activity_context(_ctx: ActivityContext, _input: ()) -> Result<(), FunctionError> {
    Ok(())
}

fn main() {}
