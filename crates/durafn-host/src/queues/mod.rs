//! Queue triggers and queue output on Azure Storage Queues (or Azurite), as Azure Functions
//! has them: [`QueueFunction`] (or any [`QueueHandler`]) runs once per message of its queue,
//! [`Queues`] sends messages. `extensions.queues` in host.json sets [`QueueOptions`].

pub(crate) mod connection;
mod function;
pub(crate) mod listener;
mod options;
mod output;

pub use connection::DEFAULT_CONNECTION;
pub use function::{
    IntoTriggerResult, QueueFunction, QueueHandler, QueueHandlerFuture, QueueItem, QueueTrigger,
};
pub(crate) use options::MIN_POLLING_INTERVAL;
pub use options::QueueOptions;
pub use output::{ActivityQueues, QueueOutput, Queues};
