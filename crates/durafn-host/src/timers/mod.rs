//! Timer triggers: [`TimerFunction`] (or any [`TimerHandler`]) runs on an NCRONTAB or
//! `TimeSpan` schedule, each occurrence once across the hosts of a task hub.

mod function;
pub(crate) mod schedule;

pub use function::{
    ScheduleStatus, TimerFunction, TimerHandler, TimerHandlerFuture, TimerInfo, TimerTrigger,
};
pub use schedule::{PAST_DUE_AFTER, schedule_instance_id};
