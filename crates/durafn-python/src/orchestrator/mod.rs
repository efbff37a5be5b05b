//! Python orchestrators through the out-of-process protocol.
//!
//! A Python orchestrator is one more implementation of the core's [`Orchestrator`] trait, in
//! two halves, as the Durable Functions extension's out-of-process shim is:
//!
//! - before each turn, outside the pure engine, [`PythonOrchestrator::prepare`] builds the
//!   SDK's view of durafn's history, runs the orchestrator function in the worker over it, and
//!   maps the SDK's cumulative action list onto durafn's durable actions by position
//!   ([`walk`]), producing the turn's [`Plan`](plan::Plan);
//! - in the engine, the orchestrator's code ([`Orchestrator::start`]) replays that plan through
//!   the [`OrchestrationContext`], so the engine records the actions and checks them against
//!   history exactly as it checks a Rust orchestrator: a changed action fails the instance with
//!   the engine's non-determinism error naming both.

mod memo;
mod past;
mod plan;
mod state;
#[cfg(test)]
mod tests;
mod turn;
mod view;
mod walk;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use durafn_core::{
    FailureDetails, FunctionError, FunctionFuture, HistoryEvent, OrchestrationContext,
    Orchestrator, Payload, PrepareFuture, TurnPreparation,
};

pub(crate) use self::memo::Memo;
use self::turn::{TurnError, TurnInput, TurnRunner, Turned};
pub(crate) use self::view::client_text;
use self::walk::plan_turn;
use crate::protocol::{Invocation, Outcome, WorkerError};
use crate::worker::{InvokeError, Label, Worker};

/// How often a turn is run again on a fresh worker when the worker dies while running it,
/// before the turn is given back to be delivered later.
const CRASH_RETRIES: usize = 3;

/// An orchestrator function of a Python app.
#[derive(Clone)]
pub struct PythonOrchestrator {
    name: String,
    worker: Worker,
    memo: Arc<Memo>,
}

impl std::fmt::Debug for PythonOrchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonOrchestrator")
            .field("name", &self.name)
            .finish()
    }
}

impl PythonOrchestrator {
    /// The orchestrator `name` of the app the worker runs; `memo` remembers the SDK's answers
    /// between turns (shared by the app's orchestrators).
    pub(crate) fn new(name: impl Into<String>, worker: Worker, memo: Arc<Memo>) -> Self {
        Self {
            name: name.into(),
            worker,
            memo,
        }
    }

    /// Prepares a turn: runs the orchestrator function in the worker over the SDK's view of
    /// `history` plus `new_events` at time `now`, and returns the plan the turn's code replays.
    /// An error means the turn could not be run now (the worker is gone or stopping) and
    /// should be delivered again later.
    pub async fn prepare(
        &self,
        instance_id: &str,
        history: &[HistoryEvent],
        new_events: &[HistoryEvent],
        now: DateTime<Utc>,
    ) -> Result<Payload, FunctionError> {
        let mut answers = self.memo.take(instance_id);
        let mut runner = WorkerRunner {
            worker: &self.worker,
            function: &self.name,
            label: Label::new(self.name.clone(), Some(instance_id.to_string())),
        };
        let input = TurnInput {
            instance_id,
            history,
            new_events,
            now,
        };
        let planned = plan_turn(input, &mut answers, &mut runner).await;
        match planned {
            Ok(plan) => {
                if matches!(plan.outcome, plan::PlannedOutcome::Running) {
                    self.memo.put(instance_id, answers);
                }
                Payload::encode(&plan).map_err(|e| FunctionError::msg(e.to_string()))
            }
            Err(e) => Err(FunctionError::from_failure(FailureDetails::new(
                "WorkerUnavailable",
                e.to_string(),
            ))),
        }
    }

    /// Runs a prepared turn's code: replays the plan through the context.
    pub(crate) fn replay(ctx: OrchestrationContext, prepared: Option<Payload>) -> FunctionFuture {
        Box::pin(async move {
            let prepared = prepared.ok_or_else(|| {
                FunctionError::from_failure(FailureDetails::new(
                    "TurnNotPrepared",
                    "the turn of a Python orchestrator was not prepared by the worker",
                ))
            })?;
            let plan: plan::Plan = prepared.decode().map_err(|e| {
                FunctionError::msg(format!("the turn's plan could not be read: {e}"))
            })?;
            plan::replay(ctx, plan).await
        })
    }
}

impl Orchestrator for PythonOrchestrator {
    fn name(&self) -> &str {
        &self.name
    }

    fn start(&self, ctx: OrchestrationContext, _input: Payload) -> FunctionFuture {
        // The input reaches the code through the SDK's view; the plan is all the engine needs.
        let prepared = ctx.prepared_turn();
        Self::replay(ctx, prepared)
    }

    fn prepare_turn(&self, turn: &TurnPreparation) -> Option<PrepareFuture> {
        let this = self.clone();
        let turn = turn.clone();
        Some(Box::pin(async move {
            this.prepare(
                turn.instance_id.as_str(),
                &turn.history,
                &turn.new_events,
                turn.now,
            )
            .await
        }))
    }
}

/// Runs turns in the worker, again on a fresh worker when one dies mid-turn (a turn has no
/// side effects).
struct WorkerRunner<'a> {
    worker: &'a Worker,
    function: &'a str,
    label: Label,
}

impl TurnRunner for WorkerRunner<'_> {
    fn run<'a>(
        &'a mut self,
        context: String,
    ) -> Pin<Box<dyn Future<Output = Result<Turned, TurnError>> + Send + 'a>> {
        Box::pin(async move {
            let invocation = Invocation::Orchestrator { context };
            let mut last = String::new();
            for _ in 0..CRASH_RETRIES {
                match self
                    .worker
                    .invoke(self.function, &invocation, self.label.clone())
                    .await
                {
                    Ok(Outcome::State { state, error }) => {
                        return state::decode(&state)
                            .map(|state| Turned {
                                state,
                                exception: error,
                            })
                            .map_err(|e| {
                                TurnError::Failed(WorkerError {
                                    error_type: "InvalidState".into(),
                                    message: e.to_string(),
                                    ..WorkerError::default()
                                })
                            });
                    }
                    Ok(Outcome::Failed(e)) if e.error_type == "WorkerUnavailable" => {
                        return Err(TurnError::Unavailable(e.message));
                    }
                    Ok(Outcome::Failed(e)) => return Err(TurnError::Failed(e)),
                    Ok(other) => {
                        return Err(TurnError::Failed(WorkerError {
                            error_type: "ProtocolError".into(),
                            message: format!("an orchestrator turn answered with {other:?}"),
                            ..WorkerError::default()
                        }));
                    }
                    Err(InvokeError::Crashed { pid }) => {
                        tracing::warn!(
                            function = self.function,
                            instance_id = self.label.instance_id.as_deref().unwrap_or(""),
                            pid,
                            "the Python worker died during an orchestrator turn; running it again"
                        );
                        last = format!("the Python worker (pid {pid}) died during the turn");
                    }
                    Err(e) => return Err(TurnError::Unavailable(e.to_string())),
                }
            }
            Err(TurnError::Unavailable(last))
        })
    }
}
