//! The orchestration dispatcher: fetches batches of instances with new messages and runs each
//! batch through one turn (see [`turn`](crate::turn)).

use std::sync::Arc;

use crate::poll::{Backoff, fetch_or_idle};
use crate::shared::Shared;
use crate::turn::run_batch;

pub(crate) async fn orchestration_loop(shared: Arc<Shared>) {
    let mut backoff = Backoff::new(shared.options.max_poll_interval);
    while !shared.stopping() {
        let max_items = shared.options.max_concurrent_orchestrations.max(1);
        let fetched = fetch_or_idle(
            &shared,
            &shared.orchestration_work,
            &mut backoff,
            "orchestration",
            || async {
                let request = shared.fetch_request(max_items);
                let items = shared.store.fetch_orchestration_work(request).await?;
                Ok((items, max_items))
            },
        )
        .await;
        if let Some(items) = fetched {
            run_batch(&shared, items).await;
        }
    }
}
