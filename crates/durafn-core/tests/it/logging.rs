//! The replay-safe logger speaks once per message, not again on every replay.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use durafn_core::testkit::TestOrchestration;
use durafn_core::{FunctionError, OrchestrationContext, Registry, orchestrator_fn};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

struct Counter(Arc<AtomicUsize>);

impl Subscriber for Counter {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn each_message_is_logged_once_despite_replays() {
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "chatty",
            |ctx: OrchestrationContext, _: ()| async move {
                for i in 0..3 {
                    ctx.logger()
                        .info(format!("step {i}, replaying={}", ctx.is_replaying()));
                    ctx.call_activity::<()>("A", &()).await?;
                }
                Ok::<_, FunctionError>(())
            },
        ))
        .build()
        .expect("registry builds");
    let count = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::with_default(Counter(count.clone()), || {
        // Each turn also runs a full replay of the history so far (TestOrchestration checks both
        // paths); the replayed steps must stay silent.
        let mut t = TestOrchestration::start(registry, "chatty", ());
        for id in 0..3 {
            t.turn(vec![t.completed(id, ())]);
        }
    });
    // Three messages, each logged once by the live executor and once by the fresh replay of the
    // turn in which it was first reached; never by the replay of older turns.
    assert_eq!(count.load(Ordering::SeqCst), 6);
}
