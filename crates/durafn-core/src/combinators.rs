//! `when_all` and `when_any` over durable futures.
//!
//! They poll their children in input order, so which child wins a race is decided by history
//! order alone (the engine delivers one history event at a time and runs the code after each).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Waits for all futures; fails as soon as one fails. Results come back in input order.
pub fn when_all<F, T, E>(futures: Vec<F>) -> WhenAll<F, T>
where
    F: Future<Output = Result<T, E>> + Unpin,
{
    let results = futures.iter().map(|_| None).collect();
    WhenAll {
        remaining: futures.len(),
        futures: futures.into_iter().map(Some).collect(),
        results,
        wakers: Vec::new(),
        woken: Arc::default(),
    }
}

/// The future of [`when_all`].
///
/// Each child gets a waker of its own, so a poll polls only the children woken since the last
/// one (in input order), not all of them: the engine polls after every event that wakes the
/// code, and re-polling every pending child each time made a fan-out of `n` calls cost O(n²)
/// (a 10,000-way fan-out spent seconds polling children that had nothing new).
#[must_use = "futures do nothing unless awaited"]
pub struct WhenAll<F, T> {
    futures: Vec<Option<F>>,
    results: Vec<Option<T>>,
    /// One per child, made at the first poll (empty before it).
    wakers: Vec<Waker>,
    woken: Arc<Woken>,
    remaining: usize,
}

/// Which children of a [`WhenAll`] were woken since it last polled them, and the waker of
/// whoever polls it.
#[derive(Default)]
struct Woken(Mutex<WokenState>);

#[derive(Default)]
struct WokenState {
    children: Vec<usize>,
    parent: Option<Waker>,
}

impl Woken {
    fn state(&self) -> std::sync::MutexGuard<'_, WokenState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The waker of child `index`: records it and wakes the parent.
struct ChildWaker {
    woken: Arc<Woken>,
    index: usize,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let parent = {
            let mut state = self.woken.state();
            state.children.push(self.index);
            state.parent.clone()
        };
        if let Some(parent) = parent {
            parent.wake();
        }
    }
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
        let due: Vec<usize> = {
            let mut state = this.woken.state();
            if !state
                .parent
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.parent = Some(cx.waker().clone());
            }
            if this.wakers.is_empty() && !this.futures.is_empty() {
                state.children.clear();
                (0..this.futures.len()).collect()
            } else {
                let mut due = std::mem::take(&mut state.children);
                due.sort_unstable();
                due.dedup();
                due
            }
        };
        if this.wakers.is_empty() {
            this.wakers = (0..this.futures.len())
                .map(|index| {
                    Waker::from(Arc::new(ChildWaker {
                        woken: this.woken.clone(),
                        index,
                    }))
                })
                .collect();
        }
        for index in due {
            let (Some(slot), Some(waker)) = (this.futures.get_mut(index), this.wakers.get(index))
            else {
                continue;
            };
            let Some(future) = slot else {
                continue;
            };
            match Pin::new(future).poll(&mut Context::from_waker(waker)) {
                Poll::Ready(Ok(value)) => {
                    this.results[index] = Some(value);
                    *slot = None;
                    this.remaining -= 1;
                }
                Poll::Ready(Err(error)) => {
                    *slot = None;
                    return Poll::Ready(Err(error));
                }
                Poll::Pending => {}
            }
        }
        if this.remaining == 0 {
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
