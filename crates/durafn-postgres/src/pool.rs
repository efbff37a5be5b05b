//! A small pool of tokio-postgres connections, each with its statements prepared.
//!
//! Connections are opened on demand up to the pool size and reused. One that failed, was
//! closed by the server, or was dropped in the middle of a transaction (a cancelled call) is
//! discarded, so after a lost connection or a database restart the next call simply connects
//! again.

use std::sync::{Arc, Mutex, PoisonError};

use durafn_store::StoreError;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::{Client, Config, NoTls};

use crate::error::backend;
use crate::sql::Statements;

/// One open connection.
struct Session {
    client: Client,
    statements: Arc<Statements>,
}

/// The pool.
pub(crate) struct Pool {
    config: Config,
    setup: String,
    idle: Mutex<Vec<Session>>,
    permits: Semaphore,
}

/// Opens a connection whose task is driven on the current tokio runtime.
pub(crate) async fn open(config: &Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(backend)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a task hub connection ended");
        }
    });
    Ok(client)
}

impl Pool {
    /// A pool of at most `size` connections (at least one); `setup` is run on every new one.
    pub(crate) fn new(config: Config, setup: String, size: usize) -> Self {
        Self {
            config,
            setup,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
        }
    }

    /// Takes an idle connection or opens one, waiting while all are in use.
    pub(crate) async fn get(&self) -> Result<Conn<'_>, StoreError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::backend("the PostgreSQL task hub was closed", false))?;
        let reused = loop {
            let session = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match session {
                Some(s) if s.client.is_closed() => continue,
                other => break other,
            }
        };
        let session = match reused {
            Some(s) => s,
            None => self.connect().await?,
        };
        Ok(Conn {
            pool: self,
            session: Some(session),
            _permit: permit,
            in_transaction: false,
            broken: false,
        })
    }

    async fn connect(&self) -> Result<Session, StoreError> {
        let client = open(&self.config).await?;
        client.batch_execute(&self.setup).await.map_err(backend)?;
        let statements = Statements::prepare(&client).await.map_err(backend)?;
        Ok(Session {
            client,
            statements: Arc::new(statements),
        })
    }

    /// Closes the idle connections (the others close when returned).
    pub(crate) fn close_idle(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it is unusable.
pub(crate) struct Conn<'a> {
    pool: &'a Pool,
    session: Option<Session>,
    _permit: SemaphorePermit<'a>,
    in_transaction: bool,
    broken: bool,
}

impl Conn<'_> {
    fn session(&self) -> &Session {
        // Present from `get` until drop.
        self.session
            .as_ref()
            .expect("a pooled connection has a session")
    }

    /// The client.
    pub(crate) fn client(&self) -> &Client {
        &self.session().client
    }

    /// The prepared statements.
    pub(crate) fn statements(&self) -> Arc<Statements> {
        self.session().statements.clone()
    }

    /// Notes that a transaction is open: dropping the connection now discards it, so a
    /// cancelled call never leaves a half-done transaction on a pooled connection.
    pub(crate) fn begin(&mut self) {
        self.in_transaction = true;
    }

    /// Notes that the transaction ended (committed or rolled back).
    pub(crate) fn end(&mut self) {
        self.in_transaction = false;
    }

    /// Discards the connection after a backend error (its state is unknown).
    pub(crate) fn check<T>(&mut self, result: &Result<T, StoreError>) {
        if matches!(
            result,
            Err(StoreError::Backend { .. }) | Err(StoreError::Corrupt(_))
        ) {
            self.broken = true;
        }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            if !self.broken && !self.in_transaction && !session.client.is_closed() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(session);
            }
        }
    }
}
