//! Registration of orchestrator and activity functions under their names.
//!
//! The `#[orchestrator]` and `#[activity]` macros generate implementations of [`Orchestrator`] and
//! [`Activity`]; the `*_fn` constructors do the same for closures, for code that prefers no macros.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::OrchestrationContext;
use crate::error::FunctionError;
use crate::failure::{FailureDetails, SystemFailure};
use crate::history::HistoryEvent;
use crate::ids::{EventId, InstanceId};
use crate::payload::Payload;

/// The type-erased future of a running orchestrator or activity.
pub type FunctionFuture = Pin<Box<dyn Future<Output = Result<Payload, FunctionError>> + Send>>;

/// The future of [`Orchestrator::prepare_turn`].
pub type PrepareFuture = Pin<Box<dyn Future<Output = Result<Payload, FunctionError>> + Send>>;

/// What a turn's load step knows when it asks an orchestrator to prepare the turn.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnPreparation {
    /// The instance.
    pub instance_id: InstanceId,
    /// The history of the current execution so far.
    pub history: Vec<HistoryEvent>,
    /// The events this turn delivers.
    pub new_events: Vec<HistoryEvent>,
    /// The turn's time: the timestamp of the `OrchestratorStarted` the turn records (code out
    /// of process must see the time the engine records, or its timers and GUIDs would change
    /// on replay).
    pub now: chrono::DateTime<chrono::Utc>,
}

/// An orchestrator function: deterministic code over an [`OrchestrationContext`].
pub trait Orchestrator: Send + Sync + 'static {
    /// The name it is registered and started under.
    fn name(&self) -> &str;
    /// Starts one execution.
    fn start(&self, ctx: OrchestrationContext, input: Payload) -> FunctionFuture;

    /// Asynchronous work to do before a turn of this orchestrator runs, outside the pure engine:
    /// an orchestrator that runs out of process asks its worker for the turn's actions here.
    /// The default does nothing (`None`).
    ///
    /// When it returns a future, the runtime awaits it in the turn's load step, before it
    /// replays the execution's history, and hands its result to the turn's code
    /// ([`OrchestrationContext::prepared_turn`]), which can read it from its first poll on.
    /// Because that result
    /// is not part of the history, such an orchestrator is never kept in the instance cache:
    /// every turn replays its history with the new preparation. A preparation that fails leaves
    /// the work to be delivered again.
    fn prepare_turn(&self, _turn: &TurnPreparation) -> Option<PrepareFuture> {
        None
    }
}

/// An activity function: ordinary async code, run at least once per scheduling.
pub trait Activity: Send + Sync + 'static {
    /// The name it is registered and called under.
    fn name(&self) -> &str;
    /// Runs once.
    fn run(&self, ctx: ActivityContext, input: Payload) -> FunctionFuture;
}

/// Shared application state that activities read (connection pools, clients, settings).
#[derive(Clone, Default)]
pub struct AppData {
    items: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl AppData {
    /// Adds a value, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        Arc::make_mut(&mut self.items).insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Adds a value that the caller keeps a handle to as well.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        Arc::make_mut(&mut self.items).insert(TypeId::of::<T>(), value);
    }

    /// The value of type `T`, if one was added.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.items
            .get(&TypeId::of::<T>())
            .cloned()
            .and_then(|v| v.downcast::<T>().ok())
    }
}

impl std::fmt::Debug for AppData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppData({} items)", self.items.len())
    }
}

/// What an activity knows about the call it serves.
#[derive(Debug, Clone)]
pub struct ActivityContext {
    /// The orchestration that scheduled it.
    pub instance_id: InstanceId,
    /// The activity's name.
    pub name: String,
    /// The scheduling event's id within the orchestration.
    pub task_id: EventId,
    /// 1 on the first delivery; higher when a crash made the runtime deliver it again.
    pub delivery: u32,
    data: AppData,
}

impl ActivityContext {
    /// Builds a context (the runtime does this for every delivery).
    pub fn new(
        instance_id: InstanceId,
        name: impl Into<String>,
        task_id: EventId,
        delivery: u32,
        data: AppData,
    ) -> Self {
        Self {
            instance_id,
            name: name.into(),
            task_id,
            delivery,
            data,
        }
    }

    /// Application state of type `T`, registered with the app.
    pub fn data<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.data.get()
    }
}

/// Adapts a typed async function into the erased form; used by closures and by the macros.
pub fn start_typed<I, O, E, Fut>(
    kind: &'static str,
    name: &str,
    input: Payload,
    call: impl FnOnce(I) -> Fut,
) -> FunctionFuture
where
    I: DeserializeOwned,
    O: Serialize,
    E: Into<FunctionError>,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
{
    let input: I = match input.decode() {
        Ok(input) => input,
        Err(e) => {
            let error = FunctionError::from_failure(FailureDetails::system(
                SystemFailure::InputError,
                format!("{kind} '{name}' could not decode its input: {e}"),
            ));
            return Box::pin(std::future::ready(Err(error)));
        }
    };
    let fut = call(input);
    Box::pin(async move {
        let output = fut.await.map_err(Into::into)?;
        Payload::encode(&output).map_err(|e| {
            FunctionError::from_failure(FailureDetails::system(
                SystemFailure::OutputError,
                e.to_string(),
            ))
        })
    })
}

/// An orchestrator made from a closure; see [`orchestrator_fn`].
pub struct FnOrchestrator<F, I, O> {
    name: String,
    f: F,
    _types: PhantomData<fn(I) -> O>,
}

/// Makes an orchestrator from an async closure taking the context and a typed input.
pub fn orchestrator_fn<F, I, O, E, Fut>(name: impl Into<String>, f: F) -> FnOrchestrator<F, I, O>
where
    F: Fn(OrchestrationContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    I: DeserializeOwned + 'static,
    O: Serialize + 'static,
    E: Into<FunctionError> + 'static,
{
    FnOrchestrator {
        name: name.into(),
        f,
        _types: PhantomData,
    }
}

impl<F, I, O, E, Fut> Orchestrator for FnOrchestrator<F, I, O>
where
    F: Fn(OrchestrationContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    I: DeserializeOwned + 'static,
    O: Serialize + 'static,
    E: Into<FunctionError> + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn start(&self, ctx: OrchestrationContext, input: Payload) -> FunctionFuture {
        start_typed("orchestrator", &self.name, input, |i| (self.f)(ctx, i))
    }
}

/// An activity made from a closure; see [`activity_fn`].
pub struct FnActivity<F, I, O> {
    name: String,
    f: F,
    _types: PhantomData<fn(I) -> O>,
}

/// Makes an activity from an async closure taking the context and a typed input.
pub fn activity_fn<F, I, O, E, Fut>(name: impl Into<String>, f: F) -> FnActivity<F, I, O>
where
    F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    I: DeserializeOwned + 'static,
    O: Serialize + 'static,
    E: Into<FunctionError> + 'static,
{
    FnActivity {
        name: name.into(),
        f,
        _types: PhantomData,
    }
}

impl<F, I, O, E, Fut> Activity for FnActivity<F, I, O>
where
    F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    I: DeserializeOwned + 'static,
    O: Serialize + 'static,
    E: Into<FunctionError> + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, ctx: ActivityContext, input: Payload) -> FunctionFuture {
        start_typed("activity", &self.name, input, |i| (self.f)(ctx, i))
    }
}

/// Why a registry could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two functions of one kind share a name (names match ignoring case).
    #[error("{kind} '{name}' is registered twice")]
    Duplicate {
        /// "orchestrator" or "activity".
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A name that cannot be used in a route.
    #[error(
        "{kind} name {name:?} is not valid: names must be non-empty and contain no '/', '\\', '?', '#' or control characters"
    )]
    InvalidName {
        /// "orchestrator" or "activity".
        kind: &'static str,
        /// The name.
        name: String,
    },
}

/// The functions of a function app, by name.
#[derive(Clone, Default)]
pub struct Registry {
    orchestrators: HashMap<String, Arc<dyn Orchestrator>>,
    activities: HashMap<String, Arc<dyn Activity>>,
    entities: HashMap<String, Arc<dyn crate::entity::Entity>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("orchestrators", &self.orchestrator_names())
            .field("activities", &self.activity_names())
            .field("entities", &self.entity_names())
            .finish()
    }
}

impl Registry {
    /// Starts an empty registry.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The orchestrator of that name (ignoring case).
    pub fn orchestrator(&self, name: &str) -> Option<Arc<dyn Orchestrator>> {
        self.orchestrators.get(&name.to_lowercase()).cloned()
    }

    /// The activity of that name (ignoring case).
    pub fn activity(&self, name: &str) -> Option<Arc<dyn Activity>> {
        self.activities.get(&name.to_lowercase()).cloned()
    }

    /// The entity of that name (ignoring case).
    pub fn entity(&self, name: &str) -> Option<Arc<dyn crate::entity::Entity>> {
        self.entities.get(&name.to_lowercase()).cloned()
    }

    /// Registered entity names, sorted.
    pub fn entity_names(&self) -> Vec<String> {
        sorted_names(self.entities.values().map(|e| e.name().to_string()))
    }

    /// Registered orchestrator names, sorted.
    pub fn orchestrator_names(&self) -> Vec<String> {
        sorted_names(self.orchestrators.values().map(|o| o.name().to_string()))
    }

    /// Registered activity names, sorted.
    pub fn activity_names(&self) -> Vec<String> {
        sorted_names(self.activities.values().map(|a| a.name().to_string()))
    }
}

fn sorted_names(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names
}

/// Collects functions; [`RegistryBuilder::build`] checks names.
#[derive(Default, Clone)]
pub struct RegistryBuilder {
    orchestrators: Vec<Arc<dyn Orchestrator>>,
    activities: Vec<Arc<dyn Activity>>,
    entities: Vec<Arc<dyn crate::entity::Entity>>,
}

impl std::fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |it: &mut dyn Iterator<Item = &str>| it.map(String::from).collect::<Vec<_>>();
        f.debug_struct("RegistryBuilder")
            .field(
                "orchestrators",
                &names(&mut self.orchestrators.iter().map(|o| o.name())),
            )
            .field(
                "activities",
                &names(&mut self.activities.iter().map(|a| a.name())),
            )
            .field(
                "entities",
                &names(&mut self.entities.iter().map(|e| e.name())),
            )
            .finish()
    }
}

impl RegistryBuilder {
    /// Adds an orchestrator (from `#[orchestrator]` or [`orchestrator_fn`]).
    pub fn orchestrator(mut self, orchestrator: impl Orchestrator) -> Self {
        self.orchestrators.push(Arc::new(orchestrator));
        self
    }

    /// Adds an activity (from `#[activity]` or [`activity_fn`]).
    pub fn activity(mut self, activity: impl Activity) -> Self {
        self.activities.push(Arc::new(activity));
        self
    }

    /// Adds an entity (from `#[entity]`, [`entity_class`](crate::entity_class) or
    /// [`entity_fn`](crate::entity_fn)).
    pub fn entity(mut self, entity: impl crate::entity::Entity) -> Self {
        self.entities.push(Arc::new(entity));
        self
    }

    /// Adds an orchestrator another registry or builder already holds.
    pub fn shared_orchestrator(mut self, orchestrator: Arc<dyn Orchestrator>) -> Self {
        self.orchestrators.push(orchestrator);
        self
    }

    /// Adds an activity another registry or builder already holds.
    pub fn shared_activity(mut self, activity: Arc<dyn Activity>) -> Self {
        self.activities.push(activity);
        self
    }

    /// Adds an entity another registry or builder already holds.
    pub fn shared_entity(mut self, entity: Arc<dyn crate::entity::Entity>) -> Self {
        self.entities.push(entity);
        self
    }

    /// Adds every orchestrator, activity and entity of a built registry, so that an app can be
    /// assembled from the registries of several modules.
    pub fn include(mut self, registry: &Registry) -> Self {
        self.orchestrators
            .extend(registry.orchestrators.values().cloned());
        self.activities
            .extend(registry.activities.values().cloned());
        self.entities.extend(registry.entities.values().cloned());
        self
    }

    /// Checks that names are valid and unique.
    pub fn build(self) -> Result<Registry, RegistryError> {
        for e in &self.entities {
            if e.name().contains('@') {
                return Err(RegistryError::InvalidName {
                    kind: "entity",
                    name: e.name().to_string(),
                });
            }
        }
        Ok(Registry {
            orchestrators: index("orchestrator", self.orchestrators, |o| o.name())?,
            activities: index("activity", self.activities, |a| a.name())?,
            entities: index("entity", self.entities, |e| e.name())?,
        })
    }
}

fn index<T: ?Sized>(
    kind: &'static str,
    items: Vec<Arc<T>>,
    name: impl Fn(&T) -> &str,
) -> Result<HashMap<String, Arc<T>>, RegistryError> {
    let mut map = HashMap::new();
    for item in items {
        let n = name(&item).to_string();
        if InstanceId::parse(n.as_str()).is_err() {
            return Err(RegistryError::InvalidName { kind, name: n });
        }
        if map.insert(n.to_lowercase(), item).is_some() {
            return Err(RegistryError::Duplicate { kind, name: n });
        }
    }
    Ok(map)
}
