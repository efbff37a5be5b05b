//! Durable entities: small pieces of state addressed by `(name, key)`, changed only by operations
//! that run one at a time, in order, with each state change committed exactly once.
//!
//! An entity lives as an instance whose id is `@{name}@{key}`. Orchestrations and clients send it
//! [`EntityRequest`]s (calls, one-way signals, lock and unlock requests); the runtime applies every
//! queued request of an entity in one batch per turn and commits the new state, the replies and the
//! requests the operations sent, atomically. Operations are synchronous: they change state and send
//! messages, and leave I/O to activities.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::FunctionError;
use crate::failure::{FailureDetails, SystemFailure};
use crate::ids::{EventId, ExecutionId, InstanceId};
use crate::payload::Payload;

/// The address of an entity: its entity function's name and a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityId {
    /// The entity function's name (kept lower-case, as Durable Functions does).
    pub name: String,
    /// The key that tells entities of one function apart.
    pub key: String,
}

impl EntityId {
    /// An entity id; the name is lower-cased so that `Counter` and `counter` are one entity.
    pub fn new(name: impl AsRef<str>, key: impl Into<String>) -> Self {
        Self {
            name: name.as_ref().to_lowercase(),
            key: key.into(),
        }
    }

    /// The instance id the entity lives under: `@name@key`.
    pub fn instance_id(&self) -> InstanceId {
        InstanceId::from_trusted(format!("@{}@{}", self.name, self.key))
    }

    /// The entity an instance id names, if it names one.
    pub fn from_instance_id(id: &InstanceId) -> Option<Self> {
        let rest = id.as_str().strip_prefix('@')?;
        let (name, key) = rest.split_once('@')?;
        Some(Self {
            name: name.to_string(),
            key: key.to_string(),
        })
    }

    /// Validates a user-given entity id: the name and key must make a valid instance id.
    pub fn parse(name: &str, key: &str) -> Result<Self, crate::ids::InvalidInstanceId> {
        let id = Self::new(name, key);
        if id.name.is_empty() || id.name.contains('@') {
            return Err(crate::ids::InvalidInstanceId::ForbiddenCharacter { character: '@' });
        }
        InstanceId::parse(id.instance_id().as_str())?;
        Ok(id)
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}@{}", self.name, self.key)
    }
}

/// Where an entity sends the answer of a call or the grant of a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntityReplyTo {
    /// The orchestration.
    pub instance_id: InstanceId,
    /// Its execution.
    pub execution_id: ExecutionId,
    /// The scheduling event the answer completes.
    pub task_scheduled_id: EventId,
}

/// What a request asks of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntityRequestKind {
    /// Run an operation and answer.
    Call,
    /// Run an operation, answer nobody.
    Signal,
    /// Lock the entity for an orchestration (part of a critical section).
    Lock,
    /// Release the lock.
    Unlock,
}

/// A message to an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntityRequest {
    /// What is asked.
    pub kind: EntityRequestKind,
    /// The operation (calls and signals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The operation's input.
    #[serde(default)]
    pub input: Payload,
    /// Who sent it: while an entity is locked, only its holder's requests run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<InstanceId>,
    /// Where the answer goes (calls and locks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<EntityReplyTo>,
    /// The entities of a critical section, in lock order (locks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lock_set: Vec<InstanceId>,
    /// This entity's position in `lock_set` (locks).
    #[serde(default)]
    pub position: usize,
}

impl EntityRequest {
    /// A one-way operation.
    pub fn signal(operation: &str, input: Payload, sender: Option<InstanceId>) -> Self {
        Self {
            kind: EntityRequestKind::Signal,
            operation: Some(operation.to_string()),
            input,
            sender,
            reply_to: None,
            lock_set: Vec::new(),
            position: 0,
        }
    }
}

/// Something an operation asked to happen once its state change commits.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityEffect {
    /// Signal another entity.
    Signal {
        /// The target.
        entity: EntityId,
        /// The operation.
        operation: String,
        /// Its input.
        input: Payload,
        /// Deliver no earlier than this.
        at: Option<DateTime<Utc>>,
    },
    /// Start an orchestration.
    StartOrchestration {
        /// The orchestrator.
        name: String,
        /// The instance id, or `None` for a generated one.
        instance_id: Option<InstanceId>,
        /// Its input.
        input: Payload,
    },
}

/// Handed to an entity operation: the operation, its input, the state, and a way to send messages.
#[derive(Debug)]
pub struct EntityContext {
    id: EntityId,
    operation: String,
    input: Payload,
    state: Option<Payload>,
    effects: Vec<EntityEffect>,
}

impl EntityContext {
    /// A context for one operation on `state`.
    pub fn new(
        id: EntityId,
        operation: impl Into<String>,
        input: Payload,
        state: Option<Payload>,
    ) -> Self {
        Self {
            id,
            operation: operation.into(),
            input,
            state,
            effects: Vec::new(),
        }
    }

    /// The entity.
    pub fn entity_id(&self) -> &EntityId {
        &self.id
    }

    /// The operation's name, as sent (compare ignoring case if you like; Durable Functions does).
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The operation's input, decoded.
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, FunctionError> {
        self.input.decode().map_err(|e| {
            FunctionError::from_failure(FailureDetails::system(
                SystemFailure::InputError,
                format!(
                    "operation '{}' on entity {} could not decode its input: {e}",
                    self.operation, self.id
                ),
            ))
        })
    }

    /// The raw input.
    pub fn input_payload(&self) -> &Payload {
        &self.input
    }

    /// Whether the entity holds state.
    pub fn has_state(&self) -> bool {
        self.state.is_some()
    }

    /// The state, decoded; `None` if the entity holds none.
    pub fn get_state<T: DeserializeOwned>(&self) -> Result<Option<T>, FunctionError> {
        match &self.state {
            None => Ok(None),
            Some(p) => p.decode().map(Some).map_err(|e| {
                FunctionError::from_failure(FailureDetails::system(
                    SystemFailure::EntityStateError,
                    format!("the state of entity {} could not be decoded: {e}", self.id),
                ))
            }),
        }
    }

    /// Replaces the state.
    pub fn set_state<T: Serialize>(&mut self, state: &T) -> Result<(), FunctionError> {
        self.state = Some(Payload::encode(state).map_err(|e| FunctionError::msg(e.to_string()))?);
        Ok(())
    }

    /// Deletes the state (the entity then holds none, and can be cleaned up).
    pub fn delete_state(&mut self) {
        self.state = None;
    }

    /// Signals another entity once this operation commits.
    pub fn signal_entity(&mut self, entity: &EntityId, operation: &str, input: &impl Serialize) {
        self.effects.push(EntityEffect::Signal {
            entity: entity.clone(),
            operation: operation.to_string(),
            input: Payload::encode(input).unwrap_or_default(),
            at: None,
        });
    }

    /// Starts an orchestration once this operation commits.
    pub fn start_new_orchestration(
        &mut self,
        name: &str,
        instance_id: Option<InstanceId>,
        input: &impl Serialize,
    ) {
        self.effects.push(EntityEffect::StartOrchestration {
            name: name.to_string(),
            instance_id,
            input: Payload::encode(input).unwrap_or_default(),
        });
    }

    /// The state and effects, after the operation.
    pub fn finish(self) -> (Option<Payload>, Vec<EntityEffect>) {
        (self.state, self.effects)
    }
}

/// What an entity turn's load step knows when it asks an entity to prepare its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPreparation {
    /// The entity.
    pub id: EntityId,
    /// Its state before the batch.
    pub state: Option<Payload>,
    /// The orchestration holding its lock, if one does.
    pub lock_owner: Option<InstanceId>,
    /// The requests that waited for the lock to be released, in arrival order.
    pub waiting: Vec<EntityRequest>,
    /// The requests this turn delivers, in arrival order.
    pub incoming: Vec<EntityRequest>,
}

/// The future of [`Entity::prepare_batch`]: the entity that runs the batch.
pub type PrepareBatchFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Arc<dyn Entity>, FunctionError>> + Send>,
>;

/// An entity function: runs one operation against the state in the context.
pub trait Entity: Send + Sync + 'static {
    /// The name it is registered under (entity names are lower-cased).
    fn name(&self) -> &str;
    /// Runs one operation and returns its result (JSON `null` for none).
    fn run(&self, ctx: &mut EntityContext) -> Result<Payload, FunctionError>;

    /// Asynchronous work to do before a batch of this entity runs, outside the pure planner:
    /// an entity whose operations run out of process runs them here. The default does nothing
    /// (`None`).
    ///
    /// When it returns a future, the runtime awaits it in the turn's load step and plans the
    /// batch with the entity it yields (one that answers each operation from what was prepared)
    /// instead of this one. A preparation that fails leaves the requests to be delivered again.
    fn prepare_batch(&self, _batch: &BatchPreparation) -> Option<PrepareBatchFuture> {
        None
    }
}

/// A class-style entity: a struct whose methods are the operations, its fields the state.
/// The `#[entity]` macro implements this for an `impl` block.
pub trait EntityState: Default + Serialize + DeserializeOwned + Send + 'static {
    /// Runs the operation `ctx.operation()` on `self`.
    fn dispatch(&mut self, ctx: &mut EntityContext) -> Result<Payload, FunctionError>;
}

/// Runs a class-style entity: loads the state (or the default), dispatches, saves the state.
/// The operation `delete` deletes the state unless the class defines it.
pub struct EntityClass<S> {
    name: String,
    _state: PhantomData<fn() -> S>,
}

/// Registers a class-style entity under `name`.
pub fn entity_class<S: EntityState>(name: impl Into<String>) -> EntityClass<S> {
    EntityClass {
        name: name.into().to_lowercase(),
        _state: PhantomData,
    }
}

impl<S: EntityState> Entity for EntityClass<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, ctx: &mut EntityContext) -> Result<Payload, FunctionError> {
        let mut state: S = ctx.get_state()?.unwrap_or_default();
        match state.dispatch(ctx) {
            Err(e)
                if e.failure().is(SystemFailure::UnknownOperation)
                    && ctx.operation().eq_ignore_ascii_case("delete") =>
            {
                ctx.delete_state();
                Ok(Payload::null())
            }
            Err(e) => Err(e),
            Ok(result) => {
                if !ctx.operation().eq_ignore_ascii_case("delete") || ctx.has_state() {
                    ctx.set_state(&state)?;
                }
                Ok(result)
            }
        }
    }
}

/// The error for an operation an entity does not define.
pub fn unknown_operation(ctx: &EntityContext) -> FunctionError {
    FunctionError::from_failure(FailureDetails::system(
        SystemFailure::UnknownOperation,
        format!(
            "entity '{}' has no operation '{}'",
            ctx.entity_id().name,
            ctx.operation()
        ),
    ))
}

/// An entity made from a closure; see [`entity_fn`].
pub struct FnEntity<F> {
    name: String,
    f: F,
}

/// Makes an entity from a function of the context that returns the operation's result.
pub fn entity_fn<F, O>(name: impl Into<String>, f: F) -> FnEntity<F>
where
    F: Fn(&mut EntityContext) -> Result<O, FunctionError> + Send + Sync + 'static,
    O: Serialize,
{
    FnEntity {
        name: name.into().to_lowercase(),
        f,
    }
}

impl<F, O> Entity for FnEntity<F>
where
    F: Fn(&mut EntityContext) -> Result<O, FunctionError> + Send + Sync + 'static,
    O: Serialize,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, ctx: &mut EntityContext) -> Result<Payload, FunctionError> {
        let out = (self.f)(ctx)?;
        Payload::encode(&out).map_err(|e| FunctionError::msg(e.to_string()))
    }
}

/// Runs one operation with Durable Functions' failure rule: a failed operation leaves the state
/// and sends nothing.
pub fn run_operation(
    entity: &Arc<dyn Entity>,
    id: EntityId,
    operation: &str,
    input: Payload,
    state: Option<Payload>,
) -> (
    Option<Payload>,
    Vec<EntityEffect>,
    Result<Payload, FailureDetails>,
) {
    let before = state.clone();
    let mut ctx = EntityContext::new(id, operation, input, state);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entity.run(&mut ctx)));
    match result {
        Ok(Ok(value)) => {
            let (state, effects) = ctx.finish();
            (state, effects, Ok(value))
        }
        Ok(Err(error)) => (before, Vec::new(), Err(error.into_failure())),
        Err(_) => (
            before,
            Vec::new(),
            Err(FailureDetails::system(
                SystemFailure::EntityPanicked,
                format!("operation '{operation}' panicked"),
            )),
        ),
    }
}
