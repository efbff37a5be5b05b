//! Python activities: the input JSON text goes to the worker, which decodes it and encodes the
//! return value with `azure.functions`' own converter, as the Azure worker does.

use durafn_core::{
    Activity, ActivityContext, FailureDetails, FunctionError, FunctionFuture, Payload,
};

use crate::protocol::{Invocation, Outcome, WorkerError};
use crate::worker::{InvokeError, Label, Worker};

/// How often an activity runs again on a fresh worker when the worker dies while running it (as
/// often as the runtime delivers work again after host crashes by default). An activity is
/// at-least-once anyway; one that takes the worker down every time fails with
/// [`WORKER_CRASHED`] rather than crash workers forever.
const CRASH_RETRIES: usize = 10;

/// The error type of an activity that the worker kept dying on.
pub const WORKER_CRASHED: &str = "WorkerCrashed";

/// The failure recorded for a function's error: the exception's type and message, and its
/// traceback as details (the orchestrator sees `"<type>: <message>"` and the traceback).
pub(crate) fn failure(error: &WorkerError) -> FailureDetails {
    let mut failure = FailureDetails::new(error.error_type.clone(), error.message.clone());
    if !error.traceback.is_empty() {
        failure.details = Payload::encode(&error.traceback).ok();
    }
    failure
}

/// An activity function of a Python app.
#[derive(Debug, Clone)]
pub struct PythonActivity {
    name: String,
    worker: Worker,
}

impl PythonActivity {
    /// The activity `name` of the app the worker runs.
    pub(crate) fn new(name: impl Into<String>, worker: Worker) -> Self {
        Self {
            name: name.into(),
            worker,
        }
    }
}

/// Runs one activity invocation in the worker.
pub(crate) async fn run(
    worker: &Worker,
    name: &str,
    input: &Payload,
    label: Label,
) -> Result<Payload, FunctionError> {
    let invocation = Invocation::Activity {
        input: input.as_json().to_string(),
    };
    let mut crashes = 0;
    loop {
        match worker.invoke(name, &invocation, label.clone()).await {
            Ok(Outcome::Output(text)) => {
                return Payload::from_json_text(text).map_err(|e| {
                    FunctionError::from_failure(FailureDetails::new(
                        "OutputError",
                        format!("activity '{name}' returned invalid JSON: {e}"),
                    ))
                });
            }
            // Only during a shutdown: the runtime gives the activity's lease back.
            Ok(Outcome::Failed(e)) if e.error_type == "WorkerUnavailable" => {
                std::future::pending::<()>().await;
            }
            Ok(Outcome::Failed(e)) => return Err(FunctionError::from_failure(failure(&e))),
            Ok(other) => {
                return Err(FunctionError::msg(format!(
                    "activity '{name}' answered with {other:?}"
                )));
            }
            Err(InvokeError::Crashed { pid }) => {
                crashes += 1;
                if crashes > CRASH_RETRIES {
                    return Err(FunctionError::from_failure(FailureDetails::new(
                        WORKER_CRASHED,
                        format!(
                            "the Python worker died {crashes} times while running activity '{name}' (last pid {pid})"
                        ),
                    )));
                }
                tracing::warn!(
                    function = name,
                    instance_id = label.instance_id.as_deref().unwrap_or(""),
                    pid,
                    "the Python worker died during an activity; running it again"
                );
            }
            // The worker is stopping: so is the host, which gives the activity's lease back.
            Err(InvokeError::Stopped) => std::future::pending::<()>().await,
            Err(e) => return Err(FunctionError::msg(e.to_string())),
        }
    }
}

impl Activity for PythonActivity {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, ctx: ActivityContext, input: Payload) -> FunctionFuture {
        let worker = self.worker.clone();
        let name = self.name.clone();
        Box::pin(async move {
            let label = Label::new(name.clone(), Some(ctx.instance_id.to_string()));
            run(&worker, &name, &input, label).await
        })
    }
}
