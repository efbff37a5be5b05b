//! The PostgreSQL task hub of durafn: many hosts, one database.
//!
//! [`PostgresStore`] implements the whole storage contract of [`durafn_store`] (it is a
//! [`Store`](durafn_store::Store)) on PostgreSQL, behaves like the in-memory reference task hub
//! and passes the same conformance suite. Several hosts (processes, machines) connected to the
//! same task hub share its work: each instance runs one turn at a time anywhere, and the work of
//! a host that dies is picked up by the others when its leases expire.
//!
//! ```no_run
//! # async fn run() -> Result<(), durafn_store::StoreError> {
//! use std::sync::Arc;
//! use durafn_postgres::{PostgresOptions, PostgresStore};
//! use durafn_store::Store;
//!
//! let options = PostgresOptions { schema: "orders".into(), ..PostgresOptions::default() };
//! let store = PostgresStore::connect("postgres://app@db.internal:5432/durafn", options).await?;
//! let signals = store.subscribe(); // wake-ups when other hosts create work
//! let store: Arc<dyn Store> = Arc::new(store);
//! # drop((signals, store)); Ok(()) }
//! ```
//!
//! # One schema per task hub
//!
//! A task hub is a PostgreSQL schema named by [`PostgresOptions::schema`]; it is created on
//! connect if missing, and every connection of the store uses it as its only `search_path`.
//! Two apps, or two tests, with different schema names never share state. The schema carries
//! versioned migrations (table `schema_version`); connecting applies the missing ones, each
//! once, under an advisory lock so hosts starting together do not race. A schema written by a
//! newer version of this crate is refused.
//!
//! # Work distribution and leases
//!
//! - **Orchestrations.** Table `instance_locks` has one row per instance with queued messages
//!   or a live lease; its `ready_at` is when the instance can next be fetched: the earliest
//!   visibility of its messages, but never before its lease ends. A fetch is one statement: it
//!   picks ready rows in order (`FOR UPDATE SKIP LOCKED`, so concurrent fetchers skip each
//!   other's rows instead of waiting or coming back empty-handed), writes the lease (token,
//!   owner, end), counts the deliveries of the visible messages and returns them with the
//!   instance rows. Instances with messages visible at once come first (oldest message first),
//!   then due timers and expired leases by time.
//! - **Instance exclusivity.** While a lease lasts, the row is not ready, so no other host
//!   fetches the instance; a commit or abandon checks the token under the row lock and fails
//!   with [`StoreError::LockLost`] if it changed. The same
//!   row is the instance's mutex for writes: every transaction that changes instances locks
//!   their rows first, all in one statement in sorted order, so writers do not deadlock.
//! - **Activities.** Work items carry their own lease columns and are fetched the same way.
//!   The runtime renews the leases of running activities; an expired lease (a dead host) makes
//!   the item ready again, with its delivery count raised.
//! - **Clocks.** Lease ends and timers are computed from the `now` each host passes in, so the
//!   hosts of a task hub need synchronised clocks (NTP): a host whose clock runs ahead by more
//!   than a lease takes over work that is still held.
//! - **Dead rows.** The queue tables churn a few rows per step; the store vacuums them itself
//!   every [`PostgresOptions::vacuum_every`] committed items, in the background, rather than
//!   wait up to a minute for autovacuum while fetches read past dead rows.
//!
//! # Round trips and batching
//!
//! Statements are prepared once per connection and take arrays, so a batch costs a fixed
//! number of statements whatever its size, and they are pipelined (sent back to back, answered
//! in one round trip):
//!
//! - a fetch (orchestrations or activities) is one statement;
//! - a batch of turn commits ([`OrchestrationQueue::commit_turns`])
//!   is one transaction in two round trips (lock and read the lease tokens; apply everything
//!   and commit), however many turns it holds; each turn still succeeds or fails on its own;
//! - a batch of activity completions is one transaction in one round trip, and
//!   `send_messages` one statement;
//! - instance creations are group-committed: concurrent `create_instance` calls are gathered
//!   by a background task into one transaction (up to 512 at a time), each still succeeding or
//!   failing on its own.
//!
//! A turn appends one history row (the JSON array of its events), not one per event.
//!
//! # Wake-ups across hosts
//!
//! After a call that made work visible commits, the store sends `NOTIFY` on the channel
//! `<schema>_work` from a dedicated connection (payload `o` for orchestration work, `a` for
//! activity work), and that connection also `LISTEN`s: [`PostgresStore::subscribe`] returns a
//! [`tokio::sync::watch::Receiver`] of [`WorkSignals`] counters bumped by every notification,
//! from any host (this one included). A dispatcher that found no work can wait for a change (or
//! for its poll interval) instead of sleeping a fixed time:
//!
//! ```no_run
//! # async fn run(store: &durafn_postgres::PostgresStore,
//! #              orchestrations: std::sync::Arc<tokio::sync::Notify>,
//! #              activities: std::sync::Arc<tokio::sync::Notify>) {
//! let mut signals = store.subscribe();
//! tokio::spawn(async move {
//!     let mut seen = *signals.borrow_and_update();
//!     while signals.changed().await.is_ok() {
//!         let now = *signals.borrow_and_update();
//!         if now.orchestrations != seen.orchestrations {
//!             orchestrations.notify_waiters(); // every idle orchestration dispatcher
//!         }
//!         if now.activities != seen.activities {
//!             activities.notify_one();
//!         }
//!         seen = now;
//!     }
//! });
//! # }
//! ```
//!
//! Notifications are hints: a lost one costs a poll interval, a spurious one a fetch.

//! # Faults
//!
//! A lost connection, a terminated backend or a restarted server makes the calls in flight fail
//! with a retryable [`StoreError::Backend`]; the broken
//! connections are discarded and the next call connects again. Every call is one transaction,
//! so a failure never leaves half of it applied; a call whose `COMMIT` was cut off may or may not
//! have committed, which the lease and token checks make safe to retry.
//!
//! # Durability
//!
//! A call that returned `Ok` has committed with the server's `synchronous_commit` setting (by
//! default, flushed to the server's write-ahead log on disk).
//!
//! # Storage details
//!
//! Times are microseconds since the Unix epoch (`BIGINT`); payloads, history events, failure
//! details and parents are stored as JSON text (`TEXT`, not `jsonb`, so payloads come back
//! verbatim); ids use the `"C"` collation, so listings order them bytewise as the other task hubs
//! do. Connections are plain TCP or Unix sockets (no TLS).

mod activities;
mod batch;
mod codec;
mod creates;
mod error;
mod inspect;
mod instances;
mod lease;
mod notify;
mod orchestrations;
mod pipeline;
mod pool;
mod schema;
mod shared;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod vacuum;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityQueue, ActivityWorkItem, AdminStore, ClaimedStart,
    Committed, Completed, Durable, FetchRequest, InstanceClaim, InstanceFilter, InstancePage,
    InstanceRecord, InstanceStore, LockToken, NewInstance, NewMessage, OrchestrationQueue,
    OrchestrationWorkItem, StoreError, StoreFuture, TurnCommit, decode_continuation,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_postgres::Config;

pub use lease::{Lease, LeasedWork};
pub use notify::WorkSignals;

use durafn_store::kit::LockTokens;

use crate::creates::CreateRequest;
use crate::notify::Notifier;
use crate::pool::Pool;
use crate::shared::Shared;

/// How a [`PostgresStore`] connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The task hub: the PostgreSQL schema holding it, created if missing. ASCII letters,
    /// digits, `_` and `-`, at most 58 bytes, not starting with `pg_`. Default: `durafn`.
    pub schema: String,
    /// The most connections the store opens for its calls (one more listens for
    /// notifications). Default: 8; 0 counts as 1.
    pub pool_size: usize,
    /// The `application_name` of the connections, so operators (and tests) can tell them
    /// apart in `pg_stat_activity`; overrides the connection string's unless empty.
    /// Default: `durafn`.
    pub application_name: String,
    /// How long connecting may take, unless the connection string says. Default: 10 seconds.
    pub connect_timeout: Duration,
    /// Whether to send and listen for work notifications (see the [crate docs](crate)).
    /// Default: true.
    pub notifications: bool,
    /// Vacuum the queue tables after this many committed turns and activity results, so dead
    /// rows do not pile up between autovacuum's visits (see `src/vacuum.rs`); 0 leaves it to
    /// autovacuum. Default: 2,000.
    pub vacuum_every: u64,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: "durafn".into(),
            pool_size: 8,
            application_name: "durafn".into(),
            connect_timeout: Duration::from_secs(10),
            notifications: true,
            vacuum_every: 2_000,
        }
    }
}

/// A task hub in a PostgreSQL schema (see the [crate docs](crate)).
///
/// Dropping it stops its notification tasks; its connections close as they are released.
pub struct PostgresStore {
    shared: Arc<Shared>,
    creates: mpsc::UnboundedSender<CreateRequest>,
    tasks: Vec<JoinHandle<()>>,
    config: Config,
    schema: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Parses a connection string (`key=value` pairs or a `postgres://` URL) and applies the
/// options that are not in it.
fn config(connection_string: &str, options: &PostgresOptions) -> Result<Config, StoreError> {
    let mut config = Config::from_str(connection_string).map_err(|e| {
        StoreError::InvalidInput(format!("invalid PostgreSQL connection string: {e}"))
    })?;
    if !options.application_name.is_empty() {
        config.application_name(&options.application_name);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    Ok(config)
}

/// Runs an operation on a pooled connection; a backend error discards the connection.
macro_rules! on_conn {
    ($self:ident, |$conn:ident| $body:expr) => {{
        let mut $conn = $self.shared.pool.get().await?;
        let result = $body;
        $conn.check(&result);
        result
    }};
}

/// Like `on_conn!` for operations that report the work they made visible.
macro_rules! waking {
    ($self:ident, |$conn:ident| $body:expr) => {{
        let result = on_conn!($self, |$conn| $body);
        result.map(|(value, wake)| {
            $self.shared.notifier.wake(wake);
            value
        })
    }};
}

/// Counts `items` committed turns or activity results and, when a vacuum of the queue tables
/// is due (see `vacuum.rs`), runs it in the background on one of the store's connections.
fn vacuum_if_due(shared: &Arc<Shared>, items: usize) {
    if !shared.vacuum.due(items) {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        match shared.pool.get().await {
            Ok(conn) => {
                if let Err(e) = conn.client().batch_execute(vacuum::STATEMENT).await {
                    tracing::debug!(error = %e, "vacuuming the queue tables failed");
                }
            }
            Err(e) => tracing::debug!(error = %e, "no connection to vacuum the queue tables with"),
        }
        shared.vacuum.finished();
    });
}

/// Drops a task hub's schema with everything in it (for tests and decommissioning).
pub async fn drop_task_hub(connection_string: &str, schema: &str) -> Result<(), StoreError> {
    let config = config(connection_string, &PostgresOptions::default())?;
    let client = pool::open(&config).await?;
    schema::drop_schema(&client, schema).await
}

impl PostgresStore {
    /// Connects to the task hub in schema `options.schema`, creating the schema and applying
    /// migrations if needed, and starts the notification connection. Must be called within a
    /// tokio runtime, which then drives the store's connections.
    pub async fn connect(
        connection_string: &str,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        let quoted = schema::quoted(&options.schema)?;
        let config = config(connection_string, &options)?;
        {
            let client = pool::open(&config).await?;
            schema::migrate(&client, &options.schema).await?;
        }
        let pool = Pool::new(
            config.clone(),
            format!("SET search_path TO {quoted}"),
            options.pool_size,
        );
        // Open one connection now, so that a wrong setup fails here rather than on first use.
        drop(pool.get().await?);
        let notifier = Notifier::new(&options.schema);
        let shared = Arc::new(Shared {
            pool,
            tokens: LockTokens::unique(),
            notifier: notifier.clone(),
            vacuum: vacuum::Vacuum::new(options.vacuum_every),
        });
        let (creates, queue) = mpsc::unbounded_channel();
        let mut tasks = vec![tokio::spawn(creates::create_loop(shared.clone(), queue))];
        if options.notifications {
            tasks.push(tokio::spawn(notify::listen_loop(
                config.clone(),
                notifier.clone(),
            )));
            tasks.push(tokio::spawn(notify::send_loop(notifier.clone())));
        }
        Ok(Self {
            shared,
            creates,
            tasks,
            config,
            schema: options.schema,
        })
    }

    /// The task hub's schema.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The notification channel of the task hub (`<schema>_work`).
    pub fn notification_channel(&self) -> &str {
        self.shared.notifier.channel()
    }

    /// Counters bumped whenever any host of the task hub (this one included) reports new work,
    /// and after the listening connection (re)connects. Wait with `changed()` and compare the
    /// fields with the last value seen to know which dispatchers to wake. With
    /// [`PostgresOptions::notifications`] off, the counters never move.
    pub fn subscribe(&self) -> watch::Receiver<WorkSignals> {
        self.shared.notifier.subscribe()
    }

    /// The leases currently recorded (expired ones included, until another host takes the work
    /// or the holder finishes it), optionally only those of one owner: which work a host holds,
    /// for diagnostics and for checking that a dead host's work is taken over.
    pub async fn leases(&self, owner: Option<&str>) -> Result<Vec<Lease>, StoreError> {
        on_conn!(self, |c| instances::leases(&mut c, owner).await)
    }

    /// Drops the task hub's schema with everything in it. The store is unusable afterwards.
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        self.shared.pool.close_idle();
        let client = pool::open(&self.config).await?;
        schema::drop_schema(&client, &self.schema).await
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl InstanceStore for PostgresStore {
    fn create_instance(&self, instance: NewInstance) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            // Group commit: queued for the creation task (see `creates`).
            let (reply, answer) = oneshot::channel();
            self.creates
                .send(CreateRequest {
                    instance,
                    claim: None,
                    reply,
                })
                .map_err(|_| creates::closed())?;
            answer.await.map_err(|_| creates::closed())?.map(|_| ())
        })
    }

    fn create_and_claim(
        &self,
        instance: NewInstance,
        claim: InstanceClaim,
    ) -> StoreFuture<'_, ClaimedStart> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            self.creates
                .send(CreateRequest {
                    instance,
                    claim: Some(claim),
                    reply,
                })
                .map_err(|_| creates::closed())?;
            // A commit has been made as durable as the server's `synchronous_commit` makes it.
            let turn = answer.await.map_err(|_| creates::closed())??;
            Ok(ClaimedStart {
                turn,
                durable: Durable::already(),
            })
        })
    }

    fn get_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Option<InstanceRecord>> {
        Box::pin(async move { on_conn!(self, |c| instances::get_instance(&mut c, id).await) })
    }

    fn get_history<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Vec<HistoryEvent>> {
        Box::pin(async move { on_conn!(self, |c| instances::get_history(&mut c, id).await) })
    }

    fn get_histories<'a>(
        &'a self,
        ids: &'a [InstanceId],
    ) -> StoreFuture<'a, Vec<Vec<HistoryEvent>>> {
        Box::pin(async move { on_conn!(self, |c| instances::get_histories(&mut c, ids).await) })
    }

    fn send_messages(&self, messages: Vec<NewMessage>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            waking!(self, |c| instances::send_messages(&mut c, &messages)
                .await
                .map(|w| ((), w)))
        })
    }
}

impl OrchestrationQueue for PostgresStore {
    fn fetch_orchestration_work(
        &self,
        request: FetchRequest,
    ) -> StoreFuture<'_, Vec<OrchestrationWorkItem>> {
        Box::pin(async move {
            on_conn!(self, |c| orchestrations::fetch(
                &mut c,
                &self.shared.tokens,
                &request
            )
            .await)
        })
    }

    fn commit_turns(
        &self,
        commits: Vec<TurnCommit>,
    ) -> StoreFuture<'_, Vec<Result<Committed, StoreError>>> {
        Box::pin(async move {
            let items = commits.len();
            let results = waking!(self, |c| orchestrations::commit_turns(
                &mut c,
                &self.shared.tokens,
                &commits
            )
            .await);
            vacuum_if_due(&self.shared, items);
            results
        })
    }

    fn abandon_orchestration<'a>(
        &'a self,
        instance_id: &'a InstanceId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            waking!(self, |c| orchestrations::abandon(
                &mut c,
                instance_id,
                lock,
                retry_at
            )
            .await
            .map(|w| ((), w)))
        })
    }
}

impl ActivityQueue for PostgresStore {
    fn fetch_activity_work(&self, request: FetchRequest) -> StoreFuture<'_, Vec<ActivityWorkItem>> {
        Box::pin(async move {
            on_conn!(self, |c| activities::fetch(
                &mut c,
                &self.shared.tokens,
                &request
            )
            .await)
        })
    }

    fn complete_activities(
        &self,
        completions: Vec<ActivityCompletion>,
    ) -> StoreFuture<'_, Vec<Result<Completed, StoreError>>> {
        Box::pin(async move {
            let items = completions.len();
            let results = waking!(self, |c| activities::complete(
                &mut c,
                &self.shared.tokens,
                &completions
            )
            .await);
            vacuum_if_due(&self.shared, items);
            results
        })
    }

    fn abandon_activity<'a>(
        &'a self,
        id: ActivityId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            waking!(self, |c| activities::abandon(&mut c, id, lock, retry_at)
                .await
                .map(|w| ((), w)))
        })
    }

    fn renew_activity_leases(
        &self,
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<ActivityId>> {
        Box::pin(async move { on_conn!(self, |c| activities::renew(&mut c, &leases, until).await) })
    }
}

impl AdminStore for PostgresStore {
    /// Forwards this hub's LISTEN/NOTIFY signals (from every host) to the runtime's wake-ups.
    fn watch_work(&self, wake: durafn_store::WorkWaker) {
        let mut rx = self.subscribe();
        tokio::spawn(async move {
            let mut seen = *rx.borrow_and_update();
            while rx.changed().await.is_ok() {
                let now = *rx.borrow_and_update();
                if now.orchestrations != seen.orchestrations {
                    wake(durafn_store::WorkKind::Orchestrations);
                }
                if now.activities != seen.activities {
                    wake(durafn_store::WorkKind::Activities);
                }
                seen = now;
            }
        });
    }

    fn list_instances<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        Box::pin(async move {
            let after = continuation.map(decode_continuation).transpose()?;
            on_conn!(self, |c| instances::list(&mut c, filter, page_size, after)
                .await)
        })
    }

    fn purge_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, bool> {
        Box::pin(async move { on_conn!(self, |c| instances::purge_one(&mut c, id).await) })
    }

    fn purge_instances<'a>(&'a self, filter: &'a InstanceFilter) -> StoreFuture<'a, u64> {
        Box::pin(async move { on_conn!(self, |c| instances::purge_many(&mut c, filter).await) })
    }

    fn next_visible_at(&self, now: DateTime<Utc>) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        Box::pin(async move { on_conn!(self, |c| instances::next_visible_at(&mut c, now).await) })
    }

    fn count_by_status(&self) -> StoreFuture<'_, Vec<(RuntimeStatus, u64)>> {
        Box::pin(async move { on_conn!(self, |c| instances::count_by_status(&mut c).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_and_urls_parse() {
        let options = PostgresOptions {
            application_name: "durafn-test".into(),
            ..PostgresOptions::default()
        };
        let url = config("postgres://postgres@127.0.0.1:5432/test", &options).expect("url");
        assert_eq!(url.get_application_name(), Some("durafn-test"));
        assert_eq!(url.get_dbname(), Some("test"));
        let kv = config("host=127.0.0.1 user=postgres dbname=test", &options).expect("kv");
        assert_eq!(kv.get_connect_timeout(), Some(&Duration::from_secs(10)));
        assert!(matches!(
            config("postgres://[oops", &options),
            Err(StoreError::InvalidInput(_))
        ));
    }
}
