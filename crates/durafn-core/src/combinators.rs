//! `when_all` and `when_any` over durable futures.
//!
//! They poll their children in input order, so which child wins a race is decided by history
//! order alone (the engine delivers one history event at a time and runs the code after each).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Waits for all futures; fails as soon as one fails. Results come back in input order.
pub fn when_all<F, T, E>(futures: Vec<F>) -> WhenAll<F, T>
where
    F: Future<Output = Result<T, E>> + Unpin,
{
    let results = futures.iter().map(|_| None).collect();
    WhenAll {
        futures: futures.into_iter().map(Some).collect(),
        results,
    }
}

/// The future of [`when_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct WhenAll<F, T> {
    futures: Vec<Option<F>>,
    results: Vec<Option<T>>,
}

// Results are never pinned, only moved out, so the future is `Unpin` whenever its children are.
impl<F: Unpin, T> Unpin for WhenAll<F, T> {}

impl<F, T, E> Future for WhenAll<F, T>
where
    F: Future<Output = Result<T, E>> + Unpin,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        for (slot, result) in this.futures.iter_mut().zip(this.results.iter_mut()) {
            if let Some(future) = slot {
                match Pin::new(future).poll(cx) {
                    Poll::Ready(Ok(value)) => {
                        *result = Some(value);
                        *slot = None;
                    }
                    Poll::Ready(Err(error)) => {
                        *slot = None;
                        return Poll::Ready(Err(error));
                    }
                    Poll::Pending => {}
                }
            }
        }
        if this.futures.iter().all(Option::is_none) {
            Poll::Ready(Ok(this
                .results
                .iter_mut()
                .filter_map(Option::take)
                .collect()))
        } else {
            Poll::Pending
        }
    }
}

/// Waits for the first future to finish, even with an error, and hands back the others.
pub fn when_any<F: Future + Unpin>(futures: Vec<F>) -> WhenAny<F> {
    WhenAny {
        futures: Some(futures),
    }
}

/// The future of [`when_any`].
#[must_use = "futures do nothing unless awaited"]
pub struct WhenAny<F> {
    futures: Option<Vec<F>>,
}

/// What [`when_any`] resolves to.
#[derive(Debug)]
pub struct AnyResult<F: Future> {
    /// The position of the winner in the input.
    pub index: usize,
    /// The winner's output.
    pub output: F::Output,
    /// The other futures, in input order, still pending. Dropping them cancels timers among
    /// them; activities keep running either way.
    pub remaining: Vec<F>,
}

impl<F: Future + Unpin> Future for WhenAny<F> {
    type Output = AnyResult<F>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(futures) = this.futures.as_mut() else {
            return Poll::Pending;
        };
        let winner = futures.iter_mut().enumerate().find_map(|(index, future)| {
            match Pin::new(future).poll(cx) {
                Poll::Ready(output) => Some((index, output)),
                Poll::Pending => None,
            }
        });
        match winner {
            Some((index, output)) => {
                let mut remaining = this.futures.take().unwrap_or_default();
                remaining.remove(index);
                Poll::Ready(AnyResult {
                    index,
                    output,
                    remaining,
                })
            }
            None => Poll::Pending,
        }
    }
}
