//! The durable client: start, query and manage orchestration instances.
//!
//! A client attached to a running [`Runtime`](crate::Runtime) wakes its dispatchers at once and
//! hears about completions in-process; a detached client (a CLI, another process) works on the
//! same task hub and polls.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use durafn_core::{
    EntityId, EntityRequest, EventKind, ExecutionId, FailureDetails, HistoryEvent, InstanceId,
    Payload, Registry, RuntimeStatus, Scheduler, TraceContext,
};
use durafn_store::{
    InstanceClaim, InstanceFilter, InstancePage, InstanceRecord, NewInstance, NewMessage, Store,
    StoreError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) mod inspect;

use crate::clock::{Clock, SystemClock};
use crate::error::ClientError;
use crate::ids::{IdGen, RandomIds};
use crate::shared::Shared;
use crate::spans::{self, SpanRecord};
use crate::turn::work::request_message;

/// What to include in a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusOptions {
    /// Include the history of the current execution.
    pub show_history: bool,
    /// Include the input.
    pub show_input: bool,
}

impl Default for StatusOptions {
    fn default() -> Self {
        Self {
            show_history: false,
            show_input: true,
        }
    }
}

/// How to start an instance, beyond its orchestrator and input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// The instance id; a random one is generated when `None`.
    pub instance_id: Option<InstanceId>,
    /// The version to start it with, recorded on `ExecutionStarted` and shown in its status;
    /// `None` takes the runtime's `default_version`.
    pub version: Option<String>,
    /// The caller's W3C trace context, recorded on `ExecutionStarted`.
    pub trace_context: Option<TraceContext>,
}

/// An instance's status as clients see it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceStatus {
    /// The orchestrator function.
    pub name: String,
    /// The instance.
    pub instance_id: InstanceId,
    /// Its status.
    pub runtime_status: RuntimeStatus,
    /// The input, when asked for.
    pub input: Option<Payload>,
    /// The custom status.
    pub custom_status: Option<Payload>,
    /// The output (Completed), reason (Terminated).
    pub output: Option<Payload>,
    /// Why it failed (Failed).
    pub failure: Option<FailureDetails>,
    /// When it was created.
    pub created_time: DateTime<Utc>,
    /// When it last changed.
    pub last_updated_time: DateTime<Utc>,
    /// The history, when asked for.
    pub history: Option<Vec<HistoryEvent>>,
    /// The version it was started with.
    pub version: Option<String>,
}

impl InstanceStatus {
    fn from_record(r: InstanceRecord, show_input: bool) -> Self {
        Self {
            name: r.name,
            instance_id: r.instance_id,
            runtime_status: r.status,
            input: show_input.then_some(r.input),
            custom_status: r.custom_status,
            output: r.output,
            failure: r.failure,
            created_time: r.created_at,
            last_updated_time: r.last_updated_at,
            history: None,
            version: r.version,
        }
    }
}

/// An entity as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMetadata {
    /// The entity.
    pub entity_id: EntityId,
    /// When its last operation ran.
    pub last_operation_time: DateTime<Utc>,
    /// Its state, if it holds any.
    pub state: Option<Payload>,
    /// The orchestration holding its lock, if any.
    pub locked_by: Option<InstanceId>,
}

/// One page of entities.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityPage {
    /// The entities.
    pub entities: Vec<EntityMetadata>,
    /// Pass back for the next page.
    pub continuation: Option<String>,
}

/// Starts and manages orchestration instances in a task hub.
#[derive(Clone)]
pub struct DurableClient {
    store: Arc<dyn Store>,
    registry: Option<Arc<Registry>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    runtime: Option<Arc<Shared>>,
}

impl std::fmt::Debug for DurableClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableClient")
            .field("attached", &self.runtime.is_some())
            .finish()
    }
}

/// The deadline of a wait for an instance, and how long to wait for news before looking again
/// (growing, so a detached client polls less and less often).
struct Waiting {
    id: InstanceId,
    deadline: tokio::time::Instant,
    poll: Duration,
}

impl Waiting {
    fn new(id: &InstanceId, timeout: Duration) -> Self {
        Self {
            id: id.clone(),
            deadline: tokio::time::Instant::now() + timeout,
            poll: Duration::from_millis(5),
        }
    }

    /// A waiter that hears of this host's finishes at once polls only for other hosts', so
    /// it starts slower: with hundreds of callers waiting on one host, polling from 5 ms
    /// doubled the reads of the instance rows per orchestration (six for W1's).
    fn attached(id: &InstanceId, timeout: Duration) -> Self {
        Self {
            poll: Duration::from_millis(100),
            ..Self::new(id, timeout)
        }
    }

    /// How long to wait before looking again; a timeout once the deadline has passed.
    fn next(&mut self) -> Result<Duration, ClientError> {
        let left = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        let wait = self.poll.min(left);
        if wait.is_zero() {
            return Err(ClientError::Timeout(self.id.clone()));
        }
        self.poll = (self.poll * 2).min(Duration::from_millis(500));
        Ok(wait)
    }
}

fn parse_id(id: &str) -> Result<InstanceId, ClientError> {
    Ok(InstanceId::parse(id)?)
}

impl DurableClient {
    pub(crate) fn attached(shared: Arc<Shared>) -> Self {
        Self {
            store: shared.store.clone(),
            registry: Some(shared.registry.clone()),
            clock: shared.clock.clone(),
            ids: shared.ids.clone(),
            runtime: Some(shared),
        }
    }

    /// A client of a task hub with no runtime in this process. With a registry, starts of
    /// unknown orchestrators are refused.
    pub fn detached(store: Arc<dyn Store>, registry: Option<Arc<Registry>>) -> Self {
        Self {
            store,
            registry,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            runtime: None,
        }
    }

    /// The task hub.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn span_sink(&self) -> Option<&Arc<dyn spans::SpanSink>> {
        self.runtime.as_ref()?.spans.as_ref()
    }

    fn emit(&self, span: Option<SpanRecord>) {
        if let (Some(sink), Some(span)) = (self.span_sink(), span) {
            sink.emit(vec![span]);
        }
    }

    /// Refuses a payload over the payload limit: the attached runtime's, or the default for a
    /// detached client.
    fn within_limit(
        &self,
        what: impl FnOnce() -> String,
        payload: &Payload,
    ) -> Result<(), ClientError> {
        let limit = self
            .runtime
            .as_ref()
            .map_or(crate::options::DEFAULT_MAX_PAYLOAD_BYTES, |rt| {
                rt.options.max_payload_bytes
            });
        if payload.len() > limit {
            return Err(ClientError::PayloadTooLarge {
                what: what(),
                size: payload.len(),
                limit,
            });
        }
        Ok(())
    }

    fn wake(&self) {
        if let Some(rt) = &self.runtime {
            rt.orchestration_work.notify_one();
        }
    }

    /// Starts an orchestration; without an instance id, a random one is generated.
    pub async fn start_new(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: &impl Serialize,
    ) -> Result<InstanceId, ClientError> {
        let input = Payload::encode(input).map_err(|e| ClientError::InvalidInput(e.to_string()))?;
        let instance_id = instance_id.map(parse_id).transpose()?;
        self.start_with_payload(name, instance_id, input).await
    }

    /// Starts an orchestration with an input that is already JSON.
    pub async fn start_with_payload(
        &self,
        name: &str,
        instance_id: Option<InstanceId>,
        input: Payload,
    ) -> Result<InstanceId, ClientError> {
        let options = StartOptions {
            instance_id,
            ..StartOptions::default()
        };
        self.start_payload_with(name, input, options).await
    }

    /// Starts an orchestration with options (an instance id, a version, a trace context).
    pub async fn start_new_with(
        &self,
        name: &str,
        input: &impl Serialize,
        options: StartOptions,
    ) -> Result<InstanceId, ClientError> {
        let input = Payload::encode(input).map_err(|e| ClientError::InvalidInput(e.to_string()))?;
        self.start_payload_with(name, input, options).await
    }

    /// [`start_new_with`](Self::start_new_with) with an input that is already JSON.
    pub async fn start_payload_with(
        &self,
        name: &str,
        input: Payload,
        options: StartOptions,
    ) -> Result<InstanceId, ClientError> {
        let name = match &self.registry {
            Some(registry) => registry
                .orchestrator(name)
                .map(|o| o.name().to_string())
                .ok_or_else(|| ClientError::UnknownOrchestrator(name.to_string()))?,
            None => name.to_string(),
        };
        self.within_limit(|| format!("the input of '{name}'"), &input)?;
        let instance_id = options
            .instance_id
            .unwrap_or_else(|| InstanceId::from_trusted(self.ids.new_id()));
        let version = options.version.or_else(|| {
            self.runtime
                .as_ref()
                .and_then(|rt| rt.options.default_version.clone())
        });
        let caller = options.trace_context.or_else(spans::current_trace_context);
        let span = self.span_sink().map(|_| {
            spans::client::create_orchestration(
                &name,
                version.as_deref(),
                instance_id.as_str(),
                caller.as_ref(),
                &self.ids.new_id(),
                self.clock.now(),
            )
        });
        let new = NewInstance {
            instance_id: instance_id.clone(),
            name,
            execution_id: ExecutionId::new(self.ids.new_id()),
            input,
            parent: None,
            created_at: self.clock.now(),
            version,
            trace_context: span.as_ref().map(SpanRecord::context).or(caller),
        };
        // On a quiet host that runs orchestrations, the start's first turn is claimed and run
        // here (see `handoff`); otherwise a dispatcher fetches it.
        let claimant = self
            .runtime
            .as_ref()
            .filter(|rt| rt.options.run_orchestrations && !rt.stopping() && rt.handoff.quiet());
        let created = match claimant {
            None => self.store.create_instance(new).await.map(|()| None),
            Some(rt) => {
                let now = self.clock.now();
                let claim = InstanceClaim {
                    owner: rt.owner.clone(),
                    until: now + rt.lease(),
                    now,
                };
                self.store.create_and_claim(new, claim).await.map(Some)
            }
        };
        match created {
            Ok(start) => {
                let (turn, durable) = start.map_or((None, None), |s| (s.turn, Some(s.durable)));
                match claimant.zip(turn) {
                    Some((rt, turn)) => crate::turn::run_claimed_turns(rt, vec![turn]),
                    None => self.wake(),
                }
                // The first turn runs meanwhile; its commit's flush is usually the one that
                // makes the creation durable too.
                if let Some(durable) = durable {
                    durable.wait().await?;
                }
                self.emit(span);
                Ok(instance_id)
            }
            Err(StoreError::InstanceExists {
                instance_id,
                status,
            }) => Err(ClientError::InstanceExists {
                instance_id,
                status,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The status of an instance, or `None` if there is none with that id.
    pub async fn get_status(
        &self,
        instance_id: &str,
        options: StatusOptions,
    ) -> Result<Option<InstanceStatus>, ClientError> {
        let id = parse_id(instance_id)?;
        let Some(record) = self.store.get_instance(&id).await? else {
            return Ok(None);
        };
        let mut status = InstanceStatus::from_record(record, options.show_input);
        if options.show_history {
            status.history = Some(self.store.get_history(&id).await?);
        }
        Ok(Some(status))
    }

    /// Waits until the instance is Completed, Failed or Terminated, up to `timeout`.
    pub async fn wait_for_completion(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<InstanceStatus, ClientError> {
        let id = parse_id(instance_id)?;
        // Registered before the first read, so a finish between the two is not missed; only
        // a host that runs orchestrations finishes any.
        let mut finished = self
            .runtime
            .as_ref()
            .filter(|rt| rt.options.run_orchestrations)
            .map(|rt| rt.finishes.watch(&id));
        let mut waiting = match finished {
            Some(_) => Waiting::attached(&id, timeout),
            None => Waiting::new(&id, timeout),
        };
        loop {
            let record = self
                .store
                .get_instance(&id)
                .await?
                .ok_or_else(|| ClientError::NotFound(id.clone()))?;
            if record.status.is_terminal() {
                return Ok(InstanceStatus::from_record(record, true));
            }
            let wait = waiting.next()?;
            match finished.as_mut() {
                // In-process completions arrive at once, with the final row, which is then not
                // read back; other hosts' are found by polling.
                Some(watch) => {
                    if let Some(done) = watch.finished_within(wait).await {
                        return Ok(InstanceStatus::from_record(
                            Arc::unwrap_or_clone(done),
                            true,
                        ));
                    }
                }
                None => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Waits until the instance exists and its status satisfies `done` (read with `options`),
    /// up to `timeout`: a status other than a finished one, such as Running or Suspended, a
    /// history that records some event, an entity's state (an entity's row appears with its
    /// first operation). An attached client looks again after every committed batch of turns of
    /// its runtime; a detached one polls.
    pub async fn wait_for_status(
        &self,
        instance_id: &str,
        options: StatusOptions,
        timeout: Duration,
        done: impl Fn(&InstanceStatus) -> bool,
    ) -> Result<InstanceStatus, ClientError> {
        let id = parse_id(instance_id)?;
        let mut turns = self.runtime.as_ref().map(|rt| rt.turns.subscribe());
        let mut waiting = Waiting::new(&id, timeout);
        loop {
            if let Some(rx) = turns.as_mut() {
                rx.borrow_and_update();
            }
            if let Some(status) = self.get_status(instance_id, options).await? {
                if done(&status) {
                    return Ok(status);
                }
            }
            let wait = waiting.next()?;
            match turns.as_mut() {
                // Every status change in this process is a committed turn; other hosts' changes
                // are found by polling.
                Some(rx) => {
                    let _ = tokio::time::timeout(wait, rx.changed()).await;
                }
                None => tokio::time::sleep(wait).await,
            }
        }
    }

    async fn active(&self, id: &InstanceId) -> Result<InstanceRecord, ClientError> {
        let record = self
            .store
            .get_instance(id)
            .await?
            .ok_or_else(|| ClientError::NotFound(id.clone()))?;
        if record.status.is_terminal() {
            return Err(ClientError::Finished {
                instance_id: id.clone(),
                status: record.status,
            });
        }
        Ok(record)
    }

    async fn send(&self, id: InstanceId, kind: EventKind) -> Result<(), ClientError> {
        let event = HistoryEvent::new(self.clock.now(), kind);
        self.store
            .send_messages(vec![NewMessage {
                instance_id: id,
                execution_id: None,
                event,
                visible_at: None,
            }])
            .await?;
        self.wake();
        Ok(())
    }

    /// Raises an event on a running instance (buffered until the orchestrator waits for it).
    pub async fn raise_event(
        &self,
        instance_id: &str,
        name: &str,
        data: &impl Serialize,
    ) -> Result<(), ClientError> {
        let input = Payload::encode(data).map_err(|e| ClientError::InvalidInput(e.to_string()))?;
        self.raise_event_payload(instance_id, name, input).await
    }

    /// Raises an event whose data is already JSON.
    pub async fn raise_event_payload(
        &self,
        instance_id: &str,
        name: &str,
        input: Payload,
    ) -> Result<(), ClientError> {
        let id = parse_id(instance_id)?;
        self.within_limit(|| format!("the data of event '{name}'"), &input)?;
        self.active(&id).await?;
        let span = self.span_sink().map(|_| {
            spans::client::raise_event(
                name,
                id.as_str(),
                spans::current_trace_context().as_ref(),
                &self.ids.new_id(),
                self.clock.now(),
            )
        });
        self.send(
            id,
            EventKind::EventRaised {
                name: name.to_string(),
                input,
            },
        )
        .await?;
        self.emit(span);
        Ok(())
    }

    /// Terminates a running instance.
    pub async fn terminate(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let id = parse_id(instance_id)?;
        self.active(&id).await?;
        let input = Payload::encode(reason).unwrap_or_default();
        self.send(id, EventKind::ExecutionTerminated { input })
            .await
    }

    /// Suspends a running instance: its messages queue until it is resumed.
    pub async fn suspend(
        &self,
        instance_id: &str,
        reason: Option<&str>,
    ) -> Result<(), ClientError> {
        let id = parse_id(instance_id)?;
        self.active(&id).await?;
        self.send(
            id,
            EventKind::ExecutionSuspended {
                reason: reason.map(str::to_string),
            },
        )
        .await
    }

    /// Resumes a suspended instance.
    pub async fn resume(&self, instance_id: &str, reason: Option<&str>) -> Result<(), ClientError> {
        let id = parse_id(instance_id)?;
        self.active(&id).await?;
        self.send(
            id,
            EventKind::ExecutionResumed {
                reason: reason.map(str::to_string),
            },
        )
        .await
    }

    /// Rewinds a failed instance: what failed runs again.
    pub async fn rewind(&self, instance_id: &str, reason: Option<&str>) -> Result<(), ClientError> {
        let id = parse_id(instance_id)?;
        let record = self
            .store
            .get_instance(&id)
            .await?
            .ok_or_else(|| ClientError::NotFound(id.clone()))?;
        if record.status != RuntimeStatus::Failed {
            return Err(ClientError::NotFailed {
                instance_id: id,
                status: record.status,
            });
        }
        self.send(
            id,
            EventKind::ExecutionRewound {
                reason: reason.map(str::to_string),
            },
        )
        .await
    }

    /// Starts the instance's orchestrator again with the same input and version, under a new id
    /// or the same one (which must then be finished). Returns the id of the new instance.
    pub async fn restart(
        &self,
        instance_id: &str,
        new_instance_id: bool,
    ) -> Result<InstanceId, ClientError> {
        let id = parse_id(instance_id)?;
        let record = self
            .store
            .get_instance(&id)
            .await?
            .ok_or_else(|| ClientError::NotFound(id.clone()))?;
        let options = StartOptions {
            instance_id: (!new_instance_id).then_some(id),
            version: record.version,
            trace_context: None,
        };
        self.start_payload_with(&record.name, record.input, options)
            .await
    }

    /// Deletes a finished instance and its history. `Ok(false)` if there was none.
    pub async fn purge(&self, instance_id: &str) -> Result<bool, ClientError> {
        let id = parse_id(instance_id)?;
        match self.store.purge_instance(&id).await {
            Ok(found) => Ok(found),
            Err(StoreError::NotTerminal {
                instance_id,
                status,
            }) => Err(ClientError::InstanceExists {
                instance_id,
                status,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every finished instance matching the filter; returns how many.
    pub async fn purge_where(&self, filter: &InstanceFilter) -> Result<u64, ClientError> {
        Ok(self.store.purge_instances(filter).await?)
    }

    /// Signals an entity operation (one-way); the entity is created by its first operation.
    pub async fn signal_entity(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &impl Serialize,
    ) -> Result<(), ClientError> {
        let input = Payload::encode(input).map_err(|e| ClientError::InvalidInput(e.to_string()))?;
        self.signal_entity_payload(entity, operation, input).await
    }

    /// Signals an entity operation whose input is already JSON.
    pub async fn signal_entity_payload(
        &self,
        entity: &EntityId,
        operation: &str,
        input: Payload,
    ) -> Result<(), ClientError> {
        self.within_limit(|| format!("the input of operation '{operation}'"), &input)?;
        let request = EntityRequest::signal(operation, input, None);
        let message = request_message(entity.instance_id(), request, self.clock.now(), None);
        self.store.send_messages(vec![message]).await?;
        self.wake();
        Ok(())
    }

    /// An entity's state, or `None` if it holds none (or never existed).
    pub async fn read_entity_state<T: DeserializeOwned>(
        &self,
        entity: &EntityId,
    ) -> Result<Option<T>, ClientError> {
        match self.read_entity_state_payload(entity).await? {
            None => Ok(None),
            Some(p) => p
                .decode()
                .map(Some)
                .map_err(|e| ClientError::InvalidInput(e.to_string())),
        }
    }

    /// An entity's state as JSON.
    pub async fn read_entity_state_payload(
        &self,
        entity: &EntityId,
    ) -> Result<Option<Payload>, ClientError> {
        Ok(self
            .store
            .get_instance(&entity.instance_id())
            .await?
            .and_then(|r| r.output))
    }

    /// Lists entities (of one entity function, or all), one page at a time, ordered by when
    /// they were first used. Entities that hold no state are listed too (with `state: None`).
    pub async fn list_entities(
        &self,
        name: Option<&str>,
        page_size: usize,
        continuation: Option<&str>,
    ) -> Result<EntityPage, ClientError> {
        let prefix = match name {
            Some(name) => format!("@{}@", name.to_lowercase()),
            None => "@".to_string(),
        };
        let filter = InstanceFilter {
            instance_id_prefix: Some(prefix),
            ..Default::default()
        };
        let page = self
            .store
            .list_instances(&filter, page_size, continuation)
            .await?;
        let entities = page
            .instances
            .into_iter()
            .filter_map(|r| {
                Some(EntityMetadata {
                    entity_id: EntityId::from_instance_id(&r.instance_id)?,
                    last_operation_time: r.last_updated_at,
                    state: r.output,
                    locked_by: Scheduler::from_row(Some(&r.input)).lock_owner,
                })
            })
            .collect();
        Ok(EntityPage {
            entities,
            continuation: page.continuation,
        })
    }

    /// Deletes the records of entities that hold no state and are neither locked nor waited on;
    /// returns how many.
    pub async fn clean_entity_storage(&self) -> Result<u64, ClientError> {
        let filter = InstanceFilter {
            instance_id_prefix: Some("@".into()),
            statuses: vec![RuntimeStatus::Completed],
            ..Default::default()
        };
        Ok(self.store.purge_instances(&filter).await?)
    }

    /// Lists instances, one page at a time.
    pub async fn list(
        &self,
        filter: &InstanceFilter,
        page_size: usize,
        continuation: Option<&str>,
    ) -> Result<InstancePage, ClientError> {
        Ok(self
            .store
            .list_instances(filter, page_size, continuation)
            .await?)
    }
}
