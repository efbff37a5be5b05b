//! Entities under kill -9: a counter receives 1,000 signals from 50 orchestrations and accounts
//! trade under locks while the app is killed with SIGKILL at random moments and restarted. At the
//! end the counter is exactly 1,000, money is conserved and no account is negative.

use std::process::{Command, Stdio};
use std::sync::Arc;

use durafn_chaos::kill::{Rng, kill_repeatedly, run_to_completion, seed};
use durafn_chaos::{
    ACCOUNTS, OPENING_BALANCE, SIGNALLERS, SIGNALS_PER_SIGNALLER, TRANSFERS, account, counter,
};
use durafn_core::RuntimeStatus;
use durafn_runtime::DurableClient;
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::Store;

#[test]
fn entities_survive_kill_nine() {
    let kills: u64 = std::env::var("DURAFN_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed = seed();
    println!("entity crash test: {kills} kills, seed {seed}");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("hub.db");
    let command = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chaos-app"));
        c.args(["--db", db.to_str().expect("utf-8 path"), "--entities"])
            .stderr(Stdio::inherit())
            .stdout(Stdio::piped());
        c
    };
    let killed = kill_repeatedly(
        || command().spawn().expect("the app starts"),
        kills,
        &mut Rng(seed),
    );
    println!("entity crash test: killed {killed} times");
    assert!(
        killed >= kills.min(3),
        "the app was killed too few times ({killed}) to test anything"
    );
    run_to_completion(command());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&db, SqliteOptions::default()).expect("open"));
        let client = DurableClient::detached(store, None);
        let value: Option<u64> = client.read_entity_state(&counter()).await.expect("read");
        assert_eq!(
            value,
            Some(SIGNALLERS * SIGNALS_PER_SIGNALLER),
            "every signal applied exactly once"
        );
        let mut total = 0;
        for i in 0..ACCOUNTS {
            let balance: i64 = client
                .read_entity_state(&account(i))
                .await
                .expect("read")
                .expect("funded");
            assert!(balance >= 0, "account {i} is negative: {balance}");
            total += balance;
        }
        assert_eq!(
            total,
            OPENING_BALANCE * ACCOUNTS as i64,
            "money is conserved"
        );
        let mut moved = 0;
        for t in 0..TRANSFERS {
            let s = client
                .get_status(&format!("transfer-{t}"), Default::default())
                .await
                .expect("status")
                .expect("exists");
            assert_eq!(s.runtime_status, RuntimeStatus::Completed);
            moved += u64::from(s.output.and_then(|o| o.decode::<bool>().ok()) == Some(true));
        }
        assert!(
            moved > TRANSFERS / 2,
            "most transfers moved money ({moved} of {TRANSFERS})"
        );
        let page = client
            .list_entities(Some("account"), 100, None)
            .await
            .expect("list");
        assert!(
            page.entities.iter().all(|e| e.locked_by.is_none()),
            "no lock is left behind"
        );
    });
}
