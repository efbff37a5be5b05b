use durafn::prelude::*;

#[queue_trigger(connection = "Storage")]
async fn no_queue(_item: QueueItem, _client: DurableHttpClient) {}

#[queue_trigger(queue = "jobs", schedule = "0 * * * * *")]
async fn queue_with_schedule(_item: QueueItem, _client: DurableHttpClient) {}

#[timer_trigger(run_on_startup = true)]
async fn no_schedule(_timer: TimerInfo, _client: DurableHttpClient) {}

#[timer_trigger(schedule = "0 * * * * *", use_monitor = "yes")]
async fn monitor_not_a_bool(_timer: TimerInfo, _client: DurableHttpClient) {}

#[timer_trigger(schedule = "0 * * * * *")]
fn not_async(_timer: TimerInfo, _client: DurableHttpClient) {}

fn main() {}
