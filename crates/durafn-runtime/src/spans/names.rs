//! The span attribute names and `durabletask.type` values, as the Durable Task Framework,
//! Durable Functions and the Durable Task SDKs write them, so existing queries and dashboards
//! read durafn's traces.

/// What the span is: one of the `TYPE_*` values.
pub const TYPE: &str = "durabletask.type";
/// The function (orchestrator, activity) or event name.
pub const TASK_NAME: &str = "durabletask.task.name";
/// The instance's version.
pub const TASK_VERSION: &str = "durabletask.task.version";
/// The orchestration instance the span belongs to.
pub const INSTANCE_ID: &str = "durabletask.task.instance_id";
/// The execution of the instance.
pub const EXECUTION_ID: &str = "durabletask.task.execution_id";
/// How the orchestration ended (`Completed`, `Failed`, ...).
pub const STATUS: &str = "durabletask.task.status";
/// The task's sequence number in its orchestration's history.
pub const TASK_ID: &str = "durabletask.task.task_id";
/// The instance an event or signal is sent to.
pub const TARGET_INSTANCE_ID: &str = "durabletask.event.target_instance_id";
/// Which delivery of an activity work item an attempt is (2 and more: re-run after a crash or a
/// lost lease); durafn's own attribute.
pub const DELIVERY: &str = "durafn.delivery";
/// When a timer is due (RFC 3339).
pub const FIRE_AT: &str = "durabletask.fire_at";

/// A client starting an orchestration.
pub const TYPE_CREATE_ORCHESTRATION: &str = "create_orchestration";
/// An orchestration's execution (server) or a sub-orchestration call (client).
pub const TYPE_ORCHESTRATION: &str = "orchestration";
/// An activity call (client) or attempt (server).
pub const TYPE_ACTIVITY: &str = "activity";
/// A durable timer.
pub const TYPE_TIMER: &str = "timer";
/// An event raised on or sent to an instance.
pub const TYPE_EVENT: &str = "event";
/// An entity operation called or signalled.
pub const TYPE_ENTITY: &str = "entity";
