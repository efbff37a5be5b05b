//! The seed article's Test section, replayed over a socket against
//! `durafn start --script-root examples/python/audit-query` with the article's code unchanged,
//! its table in Azurite filled by the Rust sample's demo-data loader, and the answer compared
//! with the Rust sample's own query over the same rows.
//!
//! The app's table name is fixed (`audit`), so the rows go into a far-future year of their own:
//! runs by several people never see each other's rows. The activity reaches the table through a
//! proxy that answers after a pause, so the job is visibly `Running` before it completes, as in
//! the article ("If I query the get-status function right away, it returns that the job is
//! still being executed").

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use audit_query::demo;
use audit_query::submit::QueryInput;
use chrono::NaiveDate;
use durafn_tables::store::azure::{DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME};

use crate::start::common::{self, Started, eventually};

const AZURITE_TABLES: &str = "127.0.0.1:10002";

fn connection(endpoint: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};AccountKey={DEV_ACCOUNT_KEY};TableEndpoint=http://{endpoint}/{DEV_ACCOUNT_NAME};"
    )
}

/// A TCP proxy to `upstream` whose connections answer only after `pause`.
fn slow_proxy(upstream: &'static str, pause: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(server) = TcpStream::connect(upstream) else {
                    return;
                };
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                });
                let (mut s_in, mut c_out) = (server, client);
                let mut first = true;
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = s_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if first {
                        std::thread::sleep(pause);
                        first = false;
                    }
                    if c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

fn unique_year() -> i32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    3000 + ((nanos ^ std::process::id()) % 6000) as i32
}

#[test]
fn the_articles_test_section_against_the_python_app() {
    let Some(python) = common::python() else {
        return;
    };
    if !common::azurite() {
        return;
    }
    let year = unique_year();
    let day = |m, d| NaiveDate::from_ymd_opt(year, m, d).unwrap();
    // The Rust sample's demo rows and loader, in a year of this run's own.
    let rows: Vec<_> =
        durafn_tables::demo::demo_rows(7, day(1, 1)..=day(5, 31), demo::DEMO_ROWS_PER_DAY)
            .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let tables = durafn_tables::store::open(&connection(AZURITE_TABLES), data.path()).unwrap();
    let loaded = runtime
        .block_on(demo::load(
            tables.as_ref(),
            "audit",
            rows.clone().into_iter(),
            rows.len() as u64,
            &mut |_, _| {},
        ))
        .expect("is Azurite running?");
    assert_eq!(loaded, rows.len() as u64);
    // The Rust sample's answer: its query over the table, and the count over the rows.
    let input = QueryInput {
        start: day(1, 10).format("%Y-%m-%d").to_string(),
        end: day(4, 10).format("%Y-%m-%d").to_string(),
    };
    let rust = runtime
        .block_on(audit_query::query::count_distinct_ids(
            tables.as_ref(),
            "audit",
            &input,
        ))
        .unwrap();
    assert_eq!(
        rust,
        durafn_tables::demo::count_distinct_ids(&rows, day(1, 10), day(4, 10))
    );
    assert!(rust > 0);

    let proxy = slow_proxy(AZURITE_TABLES, Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app("examples/python/audit-query", dir.path());
    let table = connection(&format!("127.0.0.1:{proxy}"));
    let host = Started::new(
        &root,
        &dir.path().join("data"),
        &python,
        &[("AuditTableConnection", &table)],
    );

    let json = "application/json";
    for (path, message) in [
        ("/api/submit/query".to_string(), "Empty start date."),
        (
            "/api/submit/query?s=10/08/2021&e=abcd".to_string(),
            "Invalid end date format.",
        ),
        (
            "/api/submit/query?s=10/08/2021&e=05/08/2021".to_string(),
            "Invalid date range.",
        ),
        (
            "/api/submit/query?s=abcd".to_string(),
            "Invalid start date format.",
        ),
        (
            format!("/api/submit/query?s=10/01/{year}"),
            "Empty end date.",
        ),
    ] {
        let r = host.get(&path);
        assert_eq!(
            (r.status, r.header("content-type")),
            (400, Some(json)),
            "{path}: {r:?}"
        );
        assert_eq!(r.body, format!(r#"{{"error": "{message}"}}"#), "{path}");
    }
    // Day first, as dateutil reads it: 10 January to 10 April.
    let r = host.get(&format!("/api/submit/query?s=10/01/{year}&e=10/04/{year}"));
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some(json)),
        "{r:?}"
    );
    let prefix = format!(
        r#"{{"statusUri": "http://localhost:{}/api/status/"#,
        host.port
    );
    let id = r
        .body
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("unexpected body {}", r.body))
        .to_string();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let status = format!("/api/status/{id}");
    let running = eventually(30, "the job to leave Pending", || {
        let r = host.get(&status);
        assert_eq!(r.status, 200, "{r:?}");
        (!r.body.contains(r#""status": "Pending""#)).then_some(r.body)
    });
    assert_eq!(
        running,
        format!(r#"{{"id": "{id}", "status": "Running", "result": null}}"#)
    );
    let done = eventually(120, "the job to complete", || {
        let r = host.get(&status);
        (!r.body.contains(r#""status": "Running""#)).then_some(r.body)
    });
    assert_eq!(
        done,
        format!(r#"{{"id": "{id}", "status": "Completed", "result": {rust}}}"#),
        "{}",
        host.output()
    );
    let unknown = host.get("/api/status/433ebcfe85ec4012abe94dcda2aa6b00");
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, "Job not found")
    );
    // The Python app's host serves the dashboard too, and the job is on its instance page.
    let page = host.request("GET", &format!("/dashboard/instances/{id}"), None, true);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body.contains("Completed") && page.body.contains("History"),
        "{page:?}"
    );
    host.stop();
}
