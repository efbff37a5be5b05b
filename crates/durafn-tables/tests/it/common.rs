//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use durafn_tables::filter::{BoundFilter, Filter, Params};
use durafn_tables::{Entity, demo, eval};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{nanos:x}{:x}{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A table name no other test run uses.
pub fn unique_table(prefix: &str) -> String {
    let mut name = format!("{prefix}{}", unique_suffix());
    name.truncate(63);
    name
}

/// A fresh directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("durafn-tables-test-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("valid date")
}

/// The audit filter bound to a day range.
pub fn audit_filter(start: NaiveDate, end: NaiveDate) -> BoundFilter {
    let mut params = Params::new();
    params.insert("start".into(), start.format("%Y-%m-%d").to_string().into());
    params.insert("end".into(), end.format("%Y-%m-%d").to_string().into());
    Filter::parse(demo::AUDIT_FILTER)
        .expect("the audit filter parses")
        .bind(&params)
        .expect("binds")
}

/// The distinct identification numbers among query results.
pub fn distinct_ids(rows: &[Entity]) -> u64 {
    rows.iter()
        .filter_map(|r| r.get_str(demo::ID_PROPERTY))
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// The keys of the rows the evaluator says match.
pub fn expected_keys(rows: &[Entity], filter: &BoundFilter) -> BTreeSet<(String, String)> {
    rows.iter()
        .filter(|r| eval::matches(filter, r))
        .map(keys)
        .collect()
}

pub fn keys(e: &Entity) -> (String, String) {
    (e.partition_key.clone(), e.row_key.clone())
}

/// Filters over the demo rows' mixed types, including missing properties,
/// `ne`, `not`, and every literal kind. The Azurite tests check that the
/// service agrees with the evaluator on each.
pub const MIXED_FILTERS: &[&str] = &[
    "CertNumber ne ''",
    "CertNumber eq ''",
    "not (CertNumber eq '')",
    "not (CertNumber ne '')",
    "Amount gt 5000.0",
    "Amount le 100.5",
    "Amount ne 1.0",
    "not (Amount lt 5000.0)",
    "Attempt eq 3",
    "Attempt ge 4 and Approved eq true",
    "Sequence gt 7389470000010L",
    "Sequence le 7389460000005L or Attempt eq 1",
    "Approved eq false",
    "Approved ne true",
    "OccurredAt lt datetime'2024-03-02T12:00:00Z'",
    "OccurredAt ge datetime'2024-03-03T06:30:00Z' and OccurredAt lt datetime'2024-03-04T00:00:00Z'",
    "CorrelationId eq guid'00000000-0000-0000-0000-000000000000'",
    "CorrelationId ne guid'00000000-0000-0000-0000-000000000000'",
    "Action eq 'renew' or Action eq 'revoke'",
    "Action gt 'issue' and Action lt 'revoke'",
    "identificationNumber ge 'ID100500'",
    "PartitionKey eq '2024-03-02' and not (Action eq 'issue')",
    "RowKey lt '0000005'",
    "Missing eq 'x'",
    "Missing ne 'x'",
    "not (Missing eq 'x')",
    "not (Missing ne 'x') and Attempt lt 3",
    "CorrelationId gt guid'80000000-0000-0000-0000-000000000000'",
    "Bytes eq X'0102'",
    "Bytes gt X'01'",
    "Bytes lt X'0100'",
    "Name lt 'a'",
    "Name ge 'Z'",
    "Name gt 'z'",
    "Timestamp gt datetime'2000-01-01T00:00:00Z'",
    "true",
    "false or Attempt eq 2",
];

/// Filters that compare values of different types. The evaluator says
/// false for all of them (see the `eval` module); the emulator does not
/// follow the service here (it compares loosely, or fails), so these are
/// checked against the evaluator's documented semantics only.
pub const MISMATCHED_TYPE_FILTERS: &[&str] = &[
    "Attempt eq '3'",
    "Action ne 5",
    "Attempt ne 3L",
    "Amount gt 5000",
    "Approved ne 'true'",
];

/// Hand-made rows for the corners demo rows lack: binary values, and
/// strings whose order depends on case and non-ASCII characters.
pub fn corner_rows() -> Vec<Entity> {
    let names = ["abc", "ABC", "Zed", "z", "é", "", "a b"];
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut row = Entity::new("2024-03-02", format!("zz-{i}")).with("Name", *name);
            let bytes: &[u8] = match i {
                0 => &[1, 2],
                1 => &[1],
                2 => &[0, 255],
                3 => &[],
                4 => &[2],
                _ => &[1, 0],
            };
            row = row.with("Bytes", bytes.to_vec());
            row
        })
        .collect()
}
