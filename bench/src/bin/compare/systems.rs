//! The systems under test: which program runs each, on which store, with which durability.

/// Which program runs a system's workloads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Engine {
    Durafn,
    Duroxide,
    Dbos,
    Temporal,
    Restate,
}

/// Where a system keeps its state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
    /// Its own server process, started for each workload.
    Server,
}

/// Client requests every system gets in flight at once in W1 and W5: the bounded concurrency a
/// client application has, rather than every instance started at once.
pub(crate) const IN_FLIGHT: usize = 200;

/// One system under test.
pub(crate) struct System {
    pub(crate) id: &'static str,
    pub(crate) label: &'static str,
    pub(crate) engine: Engine,
    pub(crate) backend: Backend,
    /// Whether a commit is fsynced before it is acknowledged (picks durafn's matching variant).
    pub(crate) fsync: bool,
    pub(crate) durability: &'static str,
    pub(crate) worker: &'static str,
    /// The client call that is one request in flight: it starts an instance and waits for its
    /// result (W5 starts only).
    pub(crate) client: &'static str,
}

impl System {
    /// The store argument of the worker protocol (`BENCH_STORE`).
    pub(crate) fn store(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "postgres",
            _ => "sqlite",
        }
    }
}

const DURAFN_CLIENT: &str = "`DurableClient::start_new`, then `wait_for_completion`";
const DUROXIDE_CLIENT: &str = "`Client::start_orchestration`, then `wait_for_orchestration`";
const DBOS_CLIENT: &str = "`DBOS.start_workflow_async`, then `handle.get_result()`";

pub(crate) const SYSTEMS: &[System] = &[
    System {
        id: "durafn-sqlite",
        label: "durafn · SQLite (fsync)",
        engine: Engine::Durafn,
        backend: Backend::Sqlite,
        fsync: true,
        durability: "SQLite WAL, fsync per commit batch (`Durability::Fsync`)",
        worker: "Rust, in process",
        client: DURAFN_CLIENT,
    },
    System {
        id: "durafn-sqlite-nofsync",
        label: "durafn · SQLite (no fsync)",
        engine: Engine::Durafn,
        backend: Backend::Sqlite,
        fsync: false,
        durability: "SQLite WAL, no fsync (`Durability::ProcessCrashSafe`)",
        worker: "Rust, in process",
        client: DURAFN_CLIENT,
    },
    System {
        id: "durafn-postgres",
        label: "durafn · PostgreSQL",
        engine: Engine::Durafn,
        backend: Backend::Postgres,
        fsync: true,
        durability: "PostgreSQL, `synchronous_commit=on` (WAL flushed per commit)",
        worker: "Rust, in process",
        client: DURAFN_CLIENT,
    },
    System {
        id: "duroxide-sqlite",
        label: "duroxide · SQLite",
        engine: Engine::Duroxide,
        backend: Backend::Sqlite,
        fsync: false,
        durability: "SQLite WAL, `synchronous` NORMAL (fixed by the provider: no fsync per commit)",
        worker: "Rust, in process",
        client: DUROXIDE_CLIENT,
    },
    System {
        id: "duroxide-postgres",
        label: "duroxide · PostgreSQL",
        engine: Engine::Duroxide,
        backend: Backend::Postgres,
        fsync: true,
        durability: "PostgreSQL, `synchronous_commit=on`",
        worker: "Rust, in process",
        client: DUROXIDE_CLIENT,
    },
    System {
        id: "dbos-sqlite",
        label: "DBOS · SQLite",
        engine: Engine::Dbos,
        backend: Backend::Sqlite,
        fsync: true,
        durability: "SQLite rollback journal, `synchronous=FULL` (SQLite's defaults, which DBOS keeps)",
        worker: "Python, in process (async workflows)",
        client: DBOS_CLIENT,
    },
    System {
        id: "dbos-postgres",
        label: "DBOS · PostgreSQL",
        engine: Engine::Dbos,
        backend: Backend::Postgres,
        fsync: true,
        durability: "PostgreSQL, `synchronous_commit=on`",
        worker: "Python, in process (async workflows)",
        client: DBOS_CLIENT,
    },
    System {
        id: "temporal",
        label: "Temporal dev server",
        engine: Engine::Temporal,
        backend: Backend::Server,
        fsync: true,
        durability: "dev server on a SQLite file, WAL with `synchronous=FULL` (set by pragma flags)",
        worker: "Python SDK worker + client, one process",
        client: "`Client.execute_workflow` (W5: `start_workflow`)",
    },
    System {
        id: "restate",
        label: "Restate",
        engine: Engine::Restate,
        backend: Backend::Server,
        fsync: true,
        durability: "single node, default config (RocksDB WAL fsync on)",
        worker: "Rust SDK endpoint + ingress client, one process",
        client: "HTTP `POST /<Workflow>/<key>/run` to the ingress, which answers with the result (W5: `.../run/send`)",
    },
];

/// The durafn variant a peer is compared with: same backend kind and same durability.
pub(crate) fn baseline(peer: &System, available: &[&'static System]) -> Option<&'static System> {
    let want = if peer.backend == Backend::Postgres {
        "durafn-postgres"
    } else if peer.fsync {
        "durafn-sqlite"
    } else {
        "durafn-sqlite-nofsync"
    };
    available.iter().copied().find(|s| s.id == want)
}
