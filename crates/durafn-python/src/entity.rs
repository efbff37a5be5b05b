//! Python entities: a batch of operations goes to the worker as `{self, exists, state, batch}`
//! and comes back as `{entityExists, entityState, results, signals}` (`PROTOCOL.md`, 7).
//!
//! The Python SDK applies a batch in one object and keeps the state change of an operation
//! that raises. durafn's rule is per-operation rollback (a failed operation leaves the state as
//! it was and its effects unsent), so a batch in which an operation failed is run again one
//! operation at a time, each from the state the ones before it left, and the state of a failed
//! operation is discarded. Batches without failures, the usual case, take one invocation.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use durafn_core::scheduler::{Scheduler, schedule};
use durafn_core::{
    BatchPreparation, Entity, EntityContext, EntityId, FailureDetails, FunctionError, Payload,
    PrepareBatchFuture,
};
use serde::{Deserialize, Serialize};

use crate::protocol::{Invocation, Outcome, WorkerError};
use crate::worker::{InvokeError, Label, Worker};

/// The batch could not be run now (the worker is gone or stopping): the entity's messages are
/// delivered again later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// How often a batch runs again on a fresh worker when the worker dies while running it.
const CRASH_RETRIES: usize = 3;

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The operation's name.
    pub name: String,
    /// Its input, JSON text.
    pub input: Payload,
    /// Whether it was signalled (nobody waits for its result).
    pub signal: bool,
}

/// What a batch did.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult {
    /// The state after the batch (`None`: the entity holds none).
    pub state: Option<Payload>,
    /// Each operation's result, in order.
    pub results: Vec<Result<Payload, FailureDetails>>,
}

#[derive(Serialize)]
struct SelfJson<'a> {
    name: &'a str,
    key: &'a str,
}

#[derive(Serialize)]
struct OperationJson<'a> {
    name: &'a str,
    /// The operation's JSON text, JSON-encoded once more (the SDK decodes it twice).
    input: String,
    signal: bool,
}

#[derive(Serialize)]
struct BatchJson<'a> {
    #[serde(rename = "self")]
    me: SelfJson<'a>,
    exists: bool,
    state: Option<&'a str>,
    batch: Vec<OperationJson<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultJson {
    entity_exists: bool,
    #[serde(default)]
    entity_state: Option<String>,
    #[serde(default)]
    results: Vec<OperationResultJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationResultJson {
    #[serde(default)]
    is_error: bool,
    #[serde(default)]
    result: Option<String>,
}

/// The batch JSON text of `operations` on `entity` in `state`.
pub(crate) fn batch_json(
    entity: &EntityId,
    state: Option<&Payload>,
    operations: &[Operation],
) -> String {
    let batch = BatchJson {
        me: SelfJson {
            name: &entity.name,
            key: &entity.key,
        },
        exists: state.is_some(),
        state: state.map(Payload::as_json),
        batch: operations
            .iter()
            .map(|op| OperationJson {
                name: &op.name,
                input: serde_json::to_string(op.input.as_json()).unwrap_or_default(),
                signal: op.signal,
            })
            .collect(),
    };
    serde_json::to_string(&batch).unwrap_or_default()
}

/// Reads a batch's result; `operations` is how many the batch had.
pub(crate) fn read_result(text: &str, operations: usize) -> Result<BatchResult, String> {
    let json: ResultJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if json.results.len() != operations {
        return Err(format!(
            "{} results for {operations} operations",
            json.results.len()
        ));
    }
    let state = match (json.entity_exists, json.entity_state) {
        (true, Some(state)) => Some(Payload::from_json_text(state).map_err(|e| e.to_string())?),
        (true, None) => Some(Payload::null()),
        (false, _) => None,
    };
    let results = json
        .results
        .into_iter()
        .map(|r| {
            let text = r.result.unwrap_or_else(|| "null".into());
            if r.is_error {
                let message = serde_json::from_str::<String>(&text).unwrap_or(text);
                Err(FailureDetails::new("EntityOperationFailed", message))
            } else {
                Payload::from_json_text(text)
                    .map_err(|e| FailureDetails::new("OutputError", e.to_string()))
            }
        })
        .collect();
    Ok(BatchResult { state, results })
}

async fn invoke_batch(
    worker: &Worker,
    function: &str,
    label: &Label,
    entity: &EntityId,
    state: Option<&Payload>,
    operations: &[Operation],
) -> Result<BatchResult, Unavailable> {
    let invocation = Invocation::Entity {
        context: batch_json(entity, state, operations),
    };
    let failed = |e: WorkerError| BatchResult {
        state: state.cloned(),
        results: operations
            .iter()
            .map(|_| Err(crate::activity::failure(&e)))
            .collect(),
    };
    for _ in 0..CRASH_RETRIES {
        match worker.invoke(function, &invocation, label.clone()).await {
            Ok(Outcome::EntityResult(text)) => {
                return Ok(
                    read_result(&text, operations.len()).unwrap_or_else(|message| {
                        failed(WorkerError {
                            error_type: "InvalidEntityResult".into(),
                            message,
                            ..WorkerError::default()
                        })
                    }),
                );
            }
            Ok(Outcome::Failed(e)) if e.error_type == "WorkerUnavailable" => {
                return Err(Unavailable(e.message));
            }
            // The function itself failed (it raised outside the SDK's handling): every
            // operation fails and the state stays.
            Ok(Outcome::Failed(e)) => return Ok(failed(e)),
            Ok(other) => {
                return Err(Unavailable(format!(
                    "an entity batch answered with {other:?}"
                )));
            }
            Err(InvokeError::Crashed { pid }) => tracing::warn!(
                function,
                instance_id = %entity,
                pid,
                "the Python worker died during an entity batch; running it again"
            ),
            Err(e) => return Err(Unavailable(e.to_string())),
        }
    }
    Err(Unavailable(format!(
        "the Python worker died {CRASH_RETRIES} times running a batch of entity {entity}"
    )))
}

/// Runs `operations` on `entity` (state `state`) with per-operation rollback.
pub(crate) async fn run_batch(
    worker: &Worker,
    function: &str,
    entity: &EntityId,
    state: Option<Payload>,
    operations: &[Operation],
) -> Result<BatchResult, Unavailable> {
    let label = Label::new(function, Some(entity.to_string()));
    if operations.is_empty() {
        return Ok(BatchResult {
            state,
            results: Vec::new(),
        });
    }
    let whole = invoke_batch(worker, function, &label, entity, state.as_ref(), operations).await?;
    if whole.results.iter().all(Result::is_ok) {
        return Ok(whole);
    }
    let mut state = state;
    let mut results = Vec::with_capacity(operations.len());
    for op in operations {
        let one = invoke_batch(
            worker,
            function,
            &label,
            entity,
            state.as_ref(),
            std::slice::from_ref(op),
        )
        .await?;
        let result = one
            .results
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(FailureDetails::new("InvalidEntityResult", "no result")));
        if result.is_ok() {
            state = one.state;
        }
        results.push(result);
    }
    Ok(BatchResult { state, results })
}

/// An entity function of a Python app. Its operations run in the worker before the entity's
/// turn ([`Entity::prepare_batch`]); the turn is then planned with an entity that answers each
/// operation from that run.
#[derive(Debug, Clone)]
pub struct PythonEntity {
    /// The registered name (lower case, as entity names are).
    name: String,
    /// The function's name in the app.
    function: String,
    worker: Worker,
}

impl PythonEntity {
    /// The entity function `function` of the app the worker runs.
    pub(crate) fn new(function: impl Into<String>, worker: Worker) -> Self {
        let function = function.into();
        Self {
            name: function.to_lowercase(),
            function,
            worker,
        }
    }

    /// Runs a batch of operations with durafn's per-operation rollback.
    pub async fn run_batch(
        &self,
        entity: &EntityId,
        state: Option<Payload>,
        operations: &[Operation],
    ) -> Result<BatchResult, Unavailable> {
        run_batch(&self.worker, &self.function, entity, state, operations).await
    }
}

/// The operations a batch will run, in order: the core's scheduler decides which requests run
/// from their kinds and senders alone, so a dry run with an entity that only records them
/// yields exactly the operations of the real run.
fn operations_of(batch: &BatchPreparation) -> Vec<Operation> {
    struct Recorder(Mutex<Vec<Operation>>);
    impl Entity for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }
        fn run(&self, ctx: &mut EntityContext) -> Result<Payload, FunctionError> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Operation {
                    name: ctx.operation().to_string(),
                    input: ctx.input_payload().clone(),
                    signal: false,
                });
            Ok(Payload::null())
        }
    }
    let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
    let entity: Arc<dyn Entity> = recorder.clone();
    let scheduler = Scheduler {
        lock_owner: batch.lock_owner.clone(),
        queue: batch.waiting.clone(),
    };
    // Operations signalled by clients (no sender) carry the clients' doubly encoded inputs.
    let unwrap = |requests: &[durafn_core::EntityRequest]| -> Vec<durafn_core::EntityRequest> {
        requests
            .iter()
            .cloned()
            .map(|mut r| {
                if r.sender.is_none() {
                    if let Ok(p) =
                        Payload::from_json_text(crate::orchestrator::client_text(&r.input))
                    {
                        r.input = p;
                    }
                }
                r
            })
            .collect()
    };
    let scheduler = Scheduler {
        queue: unwrap(&scheduler.queue),
        ..scheduler
    };
    schedule(
        &batch.id,
        Some(&entity),
        scheduler,
        batch.state.clone(),
        unwrap(&batch.incoming),
    );
    std::mem::take(
        &mut *recorder
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Answers the operations of a batch from its run in the worker, in order.
struct Prepared {
    name: String,
    state: Option<Payload>,
    results: Mutex<VecDeque<(String, Result<Payload, FailureDetails>)>>,
}

impl Entity for Prepared {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, ctx: &mut EntityContext) -> Result<Payload, FunctionError> {
        let next = self
            .results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front();
        match next {
            Some((operation, result)) if operation == ctx.operation() => {
                let value = result.map_err(FunctionError::from_failure)?;
                // Every operation that succeeds leaves the batch's final state; one that fails
                // is rolled back by the scheduler to the state before it, which is the same.
                match &self.state {
                    Some(state) => ctx.set_state(state)?,
                    None => ctx.delete_state(),
                }
                Ok(value)
            }
            _ => Err(FunctionError::msg(format!(
                "operation '{}' was not prepared for this batch",
                ctx.operation()
            ))),
        }
    }
}

impl Entity for PythonEntity {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, _ctx: &mut EntityContext) -> Result<Payload, FunctionError> {
        Err(FunctionError::from_failure(FailureDetails::new(
            "BatchNotPrepared",
            "the operations of a Python entity run in the worker, before the entity's turn",
        )))
    }

    fn prepare_batch(&self, batch: &BatchPreparation) -> Option<PrepareBatchFuture> {
        let this = self.clone();
        let batch = batch.clone();
        Some(Box::pin(async move {
            let operations = operations_of(&batch);
            let done = this
                .run_batch(&batch.id, batch.state.clone(), &operations)
                .await
                .map_err(|e| FunctionError::msg(e.to_string()))?;
            let results = operations
                .into_iter()
                .map(|op| op.name)
                .zip(done.results)
                .collect();
            let prepared: Arc<dyn Entity> = Arc::new(Prepared {
                name: this.name.clone(),
                state: done.state,
                results: Mutex::new(results),
            });
            Ok(prepared)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_encode_inputs_twice_and_results_read_back() {
        let entity = EntityId::new("Counter", "k1");
        let ops = [
            Operation {
                name: "add".into(),
                input: Payload::from_json_text("1").unwrap(),
                signal: false,
            },
            Operation {
                name: "get".into(),
                input: Payload::null(),
                signal: true,
            },
        ];
        let state = Payload::from_json_text("5").unwrap();
        assert_eq!(
            batch_json(&entity, Some(&state), &ops),
            r#"{"self":{"name":"counter","key":"k1"},"exists":true,"state":"5","batch":[{"name":"add","input":"\"1\"","signal":false},{"name":"get","input":"\"null\"","signal":true}]}"#
        );
        assert!(batch_json(&entity, None, &[]).contains(r#""exists":false,"state":null"#));
        let result = read_result(
            r#"{"entityExists": true, "entityState": "6", "results": [{"isError": false, "duration": 0, "startTime": 1, "result": "6"}, {"isError": true, "result": "\"unknown operation 'x'\""}], "signals": []}"#,
            2,
        )
        .unwrap();
        assert_eq!(result.state, Some(Payload::from_json_text("6").unwrap()));
        assert_eq!(result.results[0], Ok(Payload::from_json_text("6").unwrap()));
        assert_eq!(
            result.results[1].as_ref().unwrap_err().message,
            "unknown operation 'x'"
        );
        let deleted = read_result(r#"{"entityExists": false, "entityState": "null", "results": [{"isError": false, "result": "null"}]}"#, 1).unwrap();
        assert_eq!(deleted.state, None);
        assert!(read_result(r#"{"entityExists": true, "results": []}"#, 1).is_err());
    }
}
