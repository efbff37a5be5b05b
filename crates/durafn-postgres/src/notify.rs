//! Wake-ups across hosts with `LISTEN`/`NOTIFY`.
//!
//! After a transaction that made work visible commits (new messages visible now, new activity
//! work items, released work), the store asks for a notification on the channel
//! `<schema>_work`, with payload `o` (orchestration work), `a` (activity work) or `oa`. One
//! dedicated connection per store both sends and listens:
//!
//! - **Sending** happens after the data transaction committed, never inside it: a notifying
//!   transaction holds a database-wide lock while it commits, which would serialise every commit
//!   of the task hub. Requests made while a notification is on its way are merged into the next
//!   one, so there is at most one in flight per store, and the connection commits them without
//!   waiting for the disk (`synchronous_commit = off`; a lost notification only costs a poll).
//!   Requests made while the connection is not (yet) open wait for it and go out once it is,
//!   so work created right after a store connects still wakes the other hosts.
//! - **Listening** bumps the counters of [`WorkSignals`]; [`crate::PostgresStore::subscribe`]
//!   hands out receivers. After (re)connecting, both counters are bumped, since notifications
//!   sent while the listener was away are lost.
//!
//! Notifications are hints: dispatchers still poll (with backoff) and fetch under leases, so a
//! lost or spurious notification never loses or duplicates work.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Statement};

const ORCHESTRATIONS: u8 = 1;
const ACTIVITIES: u8 = 2;

/// Counters bumped whenever some host of the task hub reports new work; compare with the last
/// value seen to know which kind of work to look for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct WorkSignals {
    /// Bumped when orchestration work may have become visible (messages, released instances).
    pub orchestrations: u64,
    /// Bumped when activity work may have become visible.
    pub activities: u64,
}

/// Which kinds of work a call made visible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wake {
    pub(crate) orchestrations: bool,
    pub(crate) activities: bool,
}

impl Wake {
    /// Orchestration work only.
    pub(crate) const ORCHESTRATIONS: Wake = Wake {
        orchestrations: true,
        activities: false,
    };

    /// Activity work only.
    pub(crate) const ACTIVITIES: Wake = Wake {
        orchestrations: false,
        activities: true,
    };

    fn bits(self) -> u8 {
        u8::from(self.orchestrations) * ORCHESTRATIONS + u8::from(self.activities) * ACTIVITIES
    }
}

/// The state shared by the store and the notification task.
pub(crate) struct Notifier {
    channel: String,
    pending: AtomicU8,
    kick: Notify,
    sender: Mutex<Option<(Arc<Client>, Statement)>>,
    signals: watch::Sender<WorkSignals>,
}

impl Notifier {
    /// A notifier for the channel of `schema`.
    pub(crate) fn new(schema: &str) -> Arc<Self> {
        Arc::new(Self {
            channel: format!("{schema}_work"),
            pending: AtomicU8::new(0),
            kick: Notify::new(),
            sender: Mutex::new(None),
            signals: watch::channel(WorkSignals::default()).0,
        })
    }

    /// The channel name.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    /// A receiver of the work counters.
    pub(crate) fn subscribe(&self) -> watch::Receiver<WorkSignals> {
        self.signals.subscribe()
    }

    /// Asks for a notification to other hosts (after the work committed).
    pub(crate) fn wake(&self, wake: Wake) {
        let bits = wake.bits();
        if bits != 0 {
            self.pending.fetch_or(bits, Ordering::AcqRel);
            self.kick.notify_one();
        }
    }

    fn bump(&self, bits: u8) {
        self.signals.send_modify(|s| {
            if bits & ORCHESTRATIONS != 0 {
                s.orchestrations = s.orchestrations.wrapping_add(1);
            }
            if bits & ACTIVITIES != 0 {
                s.activities = s.activities.wrapping_add(1);
            }
        });
    }
}

fn payload_bits(payload: &str) -> u8 {
    let mut bits = 0;
    if payload.contains('o') {
        bits |= ORCHESTRATIONS;
    }
    if payload.contains('a') {
        bits |= ACTIVITIES;
    }
    if bits == 0 {
        ORCHESTRATIONS | ACTIVITIES
    } else {
        bits
    }
}

/// Sends the requested notifications, merging requests made while one is in flight.
pub(crate) async fn send_loop(notifier: Arc<Notifier>) {
    loop {
        notifier.kick.notified().await;
        let bits = notifier.pending.swap(0, Ordering::AcqRel);
        if bits == 0 {
            continue;
        }
        let payload = match bits {
            ORCHESTRATIONS => "o",
            ACTIVITIES => "a",
            _ => "oa",
        };
        let sender = notifier
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // Without a connection the request waits for one: the listener kicks this loop once it
        // has (re)connected.
        let Some((client, statement)) = sender else {
            notifier.pending.fetch_or(bits, Ordering::AcqRel);
            continue;
        };
        if let Err(e) = client
            .execute(&statement, &[&notifier.channel, &payload])
            .await
        {
            tracing::debug!(error = %e, "sending a work notification failed");
        }
    }
}

/// Keeps a listening connection open, reconnecting with backoff.
pub(crate) async fn listen_loop(config: Config, notifier: Arc<Notifier>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let started = tokio::time::Instant::now();
        if let Err(e) = listen_once(&config, &notifier).await {
            tracing::debug!(error = %e, "the work notification listener lost its connection");
        }
        *notifier
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        if started.elapsed() > Duration::from_secs(10) {
            backoff = Duration::from_millis(100);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(config: &Config, notifier: &Notifier) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let client = Arc::new(client);
    let setup = async {
        client
            .batch_execute(&format!(
                "SET synchronous_commit = off; LISTEN \"{}\"",
                notifier.channel
            ))
            .await?;
        client.prepare("SELECT pg_notify($1, $2)").await
    };
    tokio::pin!(setup);
    // The connection must be driven while the setup runs on it.
    let statement = loop {
        tokio::select! {
            prepared = &mut setup => break prepared?,
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(n))) => notifier.bump(payload_bits(n.payload())),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    };
    *notifier
        .sender
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some((client.clone(), statement));
    notifier.bump(ORCHESTRATIONS | ACTIVITIES);
    // Send what was asked for while there was no connection.
    notifier.kick.notify_one();
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(n))) => notifier.bump(payload_bits(n.payload())),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_kinds_of_work() {
        assert_eq!(payload_bits("o"), ORCHESTRATIONS);
        assert_eq!(payload_bits("a"), ACTIVITIES);
        assert_eq!(payload_bits("oa"), ORCHESTRATIONS | ACTIVITIES);
        assert_eq!(payload_bits(""), ORCHESTRATIONS | ACTIVITIES);
        assert_eq!(Wake::ORCHESTRATIONS.bits(), ORCHESTRATIONS);
    }

    #[tokio::test]
    async fn wakes_are_merged_and_counters_bump() {
        let n = Notifier::new("hub");
        let mut rx = n.subscribe();
        n.wake(Wake::ACTIVITIES);
        n.wake(Wake::ORCHESTRATIONS);
        assert_eq!(
            n.pending.load(Ordering::Acquire),
            ORCHESTRATIONS | ACTIVITIES
        );
        n.bump(ACTIVITIES);
        rx.changed().await.expect("changed");
        assert_eq!(
            *rx.borrow(),
            WorkSignals {
                orchestrations: 0,
                activities: 1
            }
        );
        assert_eq!(n.channel(), "hub_work");
    }
}
