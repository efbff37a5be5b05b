//! Demo data: synthetic audit rows so the app answers something on first
//! start, and the `load-demo` command that fills any configured table.
//!
//! The rows come from [`durafn_tables::demo::demo_rows`], which is
//! deterministic: the same seed gives the same rows everywhere, so the
//! README's example query has a fixed answer and tests can compute the
//! expected count from the rows themselves.

use std::io::{IsTerminal, Write};
use std::ops::RangeInclusive;

use chrono::NaiveDate;
use durafn_tables::{Entity, Query, StoreError, TableStore};

/// The seed of the data filled in on first start.
pub const DEMO_SEED: u64 = 2021;

/// How many rows each day gets (drawn per day from this range).
pub const DEMO_ROWS_PER_DAY: RangeInclusive<u32> = 5..=40;

/// Rows written per store call while loading: big enough to batch, small
/// enough for a smooth progress line.
const CHUNK: usize = 1_000;

/// The first day of demo data.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default()
}

/// The days the first-start data covers: 2020 to 2023, around the
/// article's example (October to December 2021).
pub fn demo_days() -> RangeInclusive<NaiveDate> {
    first_day()..=NaiveDate::from_ymd_opt(2023, 12, 31).unwrap_or_default()
}

/// The rows filled in on first start.
pub fn first_start_rows() -> impl Iterator<Item = Entity> {
    durafn_tables::demo::demo_rows(DEMO_SEED, demo_days(), DEMO_ROWS_PER_DAY)
}

/// The first `count` rows of the demo data with `seed`, day after day from
/// [`first_day`] (as many days as it takes).
pub fn rows(seed: u64, count: u64) -> impl Iterator<Item = Entity> {
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    durafn_tables::demo::demo_rows(seed, first_day()..=last, DEMO_ROWS_PER_DAY)
        .take(usize::try_from(count).unwrap_or(usize::MAX))
}

/// Whether `table` holds no rows (or does not exist yet).
pub async fn is_empty(store: &dyn TableStore, table: &str) -> Result<bool, StoreError> {
    let probe = Query::default().top(1);
    let mut continuation = None;
    loop {
        match store.query_page(table, &probe, continuation).await {
            Ok(page) if !page.entities.is_empty() => return Ok(false),
            Ok(page) => match page.continuation {
                Some(next) => continuation = Some(next),
                None => return Ok(true),
            },
            Err(StoreError::TableNotFound(_)) => return Ok(true),
            Err(e) => return Err(e),
        }
    }
}

/// Creates `table` and writes `rows` into it, `total` being how many there
/// are (for progress), calling `progress(written, total)` after each chunk.
/// Returns how many rows were written.
pub async fn load(
    store: &dyn TableStore,
    table: &str,
    rows: impl Iterator<Item = Entity>,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, StoreError> {
    store.create_table(table).await?;
    let mut written = 0u64;
    let mut rows = rows.peekable();
    progress(0, total);
    while rows.peek().is_some() {
        let chunk: Vec<Entity> = rows.by_ref().take(CHUNK).collect();
        written += chunk.len() as u64;
        store.upsert(table, chunk).await?;
        progress(written, total);
    }
    Ok(written)
}

/// Fills `table` with the first-start rows if it is empty. Returns how
/// many rows were written (0 when the table already had data).
pub async fn seed_if_empty(
    store: &dyn TableStore,
    table: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, StoreError> {
    if !is_empty(store, table).await? {
        return Ok(0);
    }
    let total = first_start_rows().count() as u64;
    load(store, table, first_start_rows(), total, progress).await
}

/// A progress line on standard error: redrawn in place on a terminal,
/// printed at every tenth otherwise (so logs stay readable).
#[derive(Debug)]
pub struct ProgressLine {
    label: String,
    terminal: bool,
    last_tenth: Option<u64>,
}

impl ProgressLine {
    /// A progress line that starts with `label`.
    pub fn new(label: impl Into<String>) -> ProgressLine {
        ProgressLine {
            label: label.into(),
            terminal: std::io::stderr().is_terminal(),
            last_tenth: None,
        }
    }

    /// The text for `done` of `total`.
    pub fn render(&self, done: u64, total: u64) -> String {
        let percent = (done.saturating_mul(100))
            .checked_div(total)
            .unwrap_or(100)
            .min(100);
        format!("{}: {done}/{total} rows ({percent}%)", self.label)
    }

    /// Reports progress.
    pub fn update(&mut self, done: u64, total: u64) {
        let line = self.render(done, total);
        let finished = done >= total;
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r{line}");
            if finished {
                let _ = writeln!(err);
            }
        } else {
            let tenth = done.saturating_mul(10).checked_div(total).unwrap_or(10);
            if self.last_tenth != Some(tenth) || finished {
                self.last_tenth = Some(tenth);
                let _ = writeln!(err, "{line}");
            }
        }
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use durafn_tables::store::embedded::EmbeddedStore;

    use super::*;

    #[tokio::test]
    async fn seeds_an_empty_table_once() {
        let store = EmbeddedStore::in_memory().expect("store");
        assert!(is_empty(&store, "audit").await.expect("probe"));
        let mut calls = Vec::new();
        let written = seed_if_empty(&store, "audit", &mut |done, total| {
            calls.push((done, total))
        })
        .await
        .expect("seed");
        let expected = first_start_rows().count() as u64;
        assert_eq!(written, expected);
        assert!(expected > 10_000, "several years of rows: {expected}");
        assert_eq!(calls.first(), Some(&(0, expected)));
        assert_eq!(calls.last(), Some(&(expected, expected)));
        assert!(!is_empty(&store, "audit").await.expect("probe"));
        let again = seed_if_empty(&store, "audit", &mut |_, _| {})
            .await
            .expect("seed");
        assert_eq!(again, 0);
    }

    #[test]
    fn rows_are_deterministic_and_counted() {
        let a: Vec<Entity> = rows(7, 500).collect();
        let b: Vec<Entity> = rows(7, 500).collect();
        assert_eq!(a.len(), 500);
        assert_eq!(a, b);
        assert_eq!(
            a.first().map(|r| r.partition_key.as_str()),
            Some("2020-01-01")
        );
        // The first-start rows are the seed's rows over the demo days.
        let n = first_start_rows().count() as u64;
        assert!(rows(DEMO_SEED, n).eq(first_start_rows()));
    }

    #[test]
    fn progress_text() {
        let p = ProgressLine::new("loading demo rows into audit");
        assert_eq!(
            p.render(250, 1000),
            "loading demo rows into audit: 250/1000 rows (25%)"
        );
        assert_eq!(
            p.render(0, 0),
            "loading demo rows into audit: 0/0 rows (100%)"
        );
    }
}
