//! Pipelining: several statements sent at once, answered in one round trip.
//!
//! tokio-postgres sends a request when its future is first polled and answers requests in
//! order, so polling a list of query futures together, first poll in list order, puts them on
//! the wire back to back and the server runs them in that order. A transaction is then
//! `BEGIN`, its statements and `COMMIT` in one or two round trips instead of one per statement.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio_postgres::Row;

/// A statement's future.
pub(crate) type Step<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + Send + 'a>>;

/// Statements to run back to back.
pub(crate) type Pipeline<'a, T> = Vec<Step<'a, T>>;

/// Runs the futures together, polling each in list order, and returns their outputs in order;
/// the first error wins (the others are dropped; their replies are discarded).
pub(crate) async fn pipeline<T>(steps: Pipeline<'_, T>) -> Result<Vec<T>, tokio_postgres::Error> {
    let mut steps: Vec<Option<Step<'_, T>>> = steps.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<T>> = steps.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (step, output) in steps.iter_mut().zip(outputs.iter_mut()) {
            let Some(future) = step else { continue };
            match future.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => {
                    *output = Some(value);
                    *step = None;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => pending = true,
            }
        }
        if pending {
            return Poll::Pending;
        }
        Poll::Ready(Ok(outputs.iter_mut().filter_map(Option::take).collect()))
    })
    .await
}

/// The rows of a statement run with `query`, or nothing for `batch_execute` steps.
pub(crate) type Rows = Vec<Row>;

/// A step that yields no rows (`BEGIN`, `COMMIT`, statements run with `execute`).
pub(crate) fn no_rows<'a, F>(future: F) -> Step<'a, Rows>
where
    F: Future<Output = Result<(), tokio_postgres::Error>> + Send + 'a,
{
    Box::pin(async move { future.await.map(|()| Vec::new()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_order_and_stops_at_the_first_error() {
        let ok: Pipeline<'_, u32> = vec![
            Box::pin(async { Ok(1) }),
            Box::pin(async {
                tokio::task::yield_now().await;
                Ok(2)
            }),
            Box::pin(async { Ok(3) }),
        ];
        assert_eq!(pipeline(ok).await.expect("ok"), vec![1, 2, 3]);
    }
}
