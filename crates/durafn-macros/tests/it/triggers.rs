//! `#[queue_trigger]` and `#[timer_trigger]` functions carry their queue, connection and
//! schedule, with the Functions defaults.

use durafn::host::{QueueHandler, QueueTrigger, TimerHandler, TimerTrigger};
use durafn::prelude::*;

#[queue_trigger(queue = "%JobsQueue%", connection = "JobsStorage", name = "take-job")]
async fn take_job(
    item: QueueItem,
    _client: DurableHttpClient,
) -> Result<(), durafn::host::HandlerError> {
    let _ = item.bytes();
    Ok(())
}

#[queue_trigger(queue = "orders")]
async fn take_order(_item: QueueItem, _client: DurableHttpClient) {}

#[timer_trigger(schedule = "0 */5 * * * *", run_on_startup = true, use_monitor = false)]
async fn every_five_minutes(_timer: TimerInfo, _client: DurableHttpClient) {}

#[timer_trigger(schedule = "%Nightly%", name = "nightly")]
async fn nightly_report(
    timer: TimerInfo,
    _client: DurableHttpClient,
) -> Result<(), std::io::Error> {
    let _ = timer.is_past_due;
    Ok(())
}

#[test]
fn triggers_carry_their_queue_connection_and_schedule() {
    assert_eq!(take_job.name(), "take-job");
    assert_eq!(
        take_job.trigger(),
        QueueTrigger {
            queue: "%JobsQueue%".into(),
            connection: "JobsStorage".into()
        }
    );
    assert_eq!(take_order.name(), "take-order");
    assert_eq!(take_order.trigger().connection, "", "AzureWebJobsStorage");
    assert_eq!(
        every_five_minutes.trigger(),
        TimerTrigger {
            schedule: "0 */5 * * * *".into(),
            run_on_startup: true,
            use_monitor: false
        }
    );
    assert_eq!(nightly_report.name(), "nightly");
    assert_eq!(
        nightly_report.trigger(),
        TimerTrigger {
            schedule: "%Nightly%".into(),
            run_on_startup: false,
            use_monitor: true
        }
    );
    let _app = App::new()
        .queue_function(take_job)
        .queue_function(take_order)
        .timer_function(every_five_minutes)
        .timer_function(nightly_report);
}
