//! Deterministic synthetic audit rows, so the sample app, its benchmarks and
//! the tests have realistic data without shipping any.
//!
//! The same seed gives the same rows on every run and platform: the only
//! randomness is a self-contained SplitMix64 generator, and each day draws
//! from its own stream (seed mixed with the date), so generating a sub-range
//! of days yields exactly the rows the full range has for those days.
//!
//! Each row is an audit record: `PartitionKey` is the day (`YYYY-MM-DD`),
//! `RowKey` a sequence number within the day, and the properties are
//!
//! | name | type | notes |
//! | --- | --- | --- |
//! | `identificationNumber` | String | drawn from a pool of [`ID_POOL`] values, so they repeat across days |
//! | `CertNumber` | String | empty (`''`) in about 30% of rows, absent in about 5% |
//! | `Action` | String | one of a few verbs |
//! | `Attempt` | Int32 | 1–5 |
//! | `Sequence` | Int64 | large, unique per row |
//! | `Amount` | Double | absent in about 20% of rows |
//! | `Approved` | Boolean | |
//! | `OccurredAt` | DateTime | within the row's day |
//! | `CorrelationId` | Guid | |
//!
//! [`count_distinct_ids`] computes the audit query's answer with a plain
//! loop, independently of the filter evaluator, as the tests' oracle.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, TimeDelta};

use crate::entity::Entity;

/// How many distinct `identificationNumber` values the rows draw from.
pub const ID_POOL: u64 = 997;

/// The audit query of the sample app, with `@start` and `@end` parameters
/// for the first and last day (inclusive, as `YYYY-MM-DD`).
pub const AUDIT_FILTER: &str =
    "PartitionKey ge @start and PartitionKey le @end and CertNumber ne ''";

/// The property the audit query selects and counts.
pub const ID_PROPERTY: &str = "identificationNumber";

/// SplitMix64: tiny, fast, and fully specified, hence identical everywhere.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (n > 0); the slight modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A value in the inclusive range.
    fn in_range(&mut self, range: &RangeInclusive<u32>) -> u32 {
        let (lo, hi) = (*range.start(), *range.end());
        if hi <= lo {
            return lo;
        }
        let span = u64::from(hi - lo) + 1;
        // `below(span)` < span <= u32::MAX + 1, so lo + it fits in u32.
        lo.saturating_add(u32::try_from(self.below(span)).unwrap_or(u32::MAX))
    }
}

const ACTIONS: [&str; 5] = ["issue", "renew", "revoke", "inspect", "transfer"];

/// The rows for `days`, `rows_per_day` rows each day (a count drawn
/// uniformly from the range, per day), in key order.
pub fn demo_rows(
    seed: u64,
    days: RangeInclusive<NaiveDate>,
    rows_per_day: RangeInclusive<u32>,
) -> impl Iterator<Item = Entity> {
    let first = *days.start();
    let last = *days.end();
    let day_count = (last - first).num_days().max(-1) + 1;
    (0..day_count)
        .filter_map(move |offset| first.checked_add_signed(TimeDelta::days(offset)))
        .flat_map(move |day| day_rows(seed, day, rows_per_day.clone()))
}

fn day_rows(
    seed: u64,
    day: NaiveDate,
    rows_per_day: RangeInclusive<u32>,
) -> impl Iterator<Item = Entity> {
    // An independent stream per (seed, day).
    let day_number = u64::from(day.num_days_from_ce().unsigned_abs());
    let mut rng = SplitMix64(seed ^ day_number.wrapping_mul(0xD134_2543_DE82_EF95));
    rng.next();
    let count = rng.in_range(&rows_per_day);
    let partition = day.format("%Y-%m-%d").to_string();
    let midnight = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    (0..count).map(move |i| {
        let id = rng.below(ID_POOL);
        let cert_roll = rng.below(100);
        let cert = rng.below(100_000_000);
        let action = ACTIONS
            .get(usize::try_from(rng.below(ACTIONS.len() as u64)).unwrap_or(0))
            .copied()
            .unwrap_or("issue");
        let attempt = i32::try_from(rng.below(5) + 1).unwrap_or(1);
        let amount_roll = rng.below(100);
        let amount_cents = rng.below(1_000_000);
        let approved = rng.below(2) == 0;
        let second = i64::try_from(rng.below(86_400)).unwrap_or(0);
        let guid = uuid::Uuid::from_u64_pair(rng.next(), rng.next());

        let mut row = Entity::new(partition.clone(), format!("{i:07}"))
            .with(ID_PROPERTY, format!("ID{:06}", 100_000 + id))
            .with("Action", action)
            .with("Attempt", attempt)
            .with(
                "Sequence",
                i64::from(day.num_days_from_ce()) * 10_000_000 + i64::from(i),
            )
            .with("Approved", approved)
            .with("CorrelationId", guid);
        match cert_roll {
            0..=4 => {}
            5..=34 => row = row.with("CertNumber", ""),
            _ => row = row.with("CertNumber", format!("C-{cert:08}")),
        }
        if amount_roll >= 20 {
            // Whole cents, so the value prints and parses exactly.
            row = row.with("Amount", amount_cents as f64 / 100.0);
        }
        if let Some(midnight) = midnight {
            row = row.with("OccurredAt", midnight + TimeDelta::seconds(second));
        }
        row
    })
}

/// The number of distinct `identificationNumber` values among rows whose
/// partition key lies in `start..=end` (as `YYYY-MM-DD`) and whose
/// `CertNumber` is present and not empty: the audit query's answer,
/// computed without the filter machinery.
pub fn count_distinct_ids<E: Borrow<Entity>>(
    rows: impl IntoIterator<Item = E>,
    start: NaiveDate,
    end: NaiveDate,
) -> u64 {
    let start = start.format("%Y-%m-%d").to_string();
    let end = end.format("%Y-%m-%d").to_string();
    let mut seen: HashSet<String> = HashSet::new();
    for row in rows {
        let row = row.borrow();
        let pk = row.partition_key.as_str();
        if pk < start.as_str() || pk > end.as_str() {
            continue;
        }
        let has_cert = matches!(row.get_str("CertNumber"), Some(c) if !c.is_empty());
        if !has_cert {
            continue;
        }
        if let Some(id) = row.get_str(ID_PROPERTY) {
            if !seen.contains(id) {
                seen.insert(id.to_owned());
            }
        }
    }
    seen.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Value;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("valid date")
    }

    #[test]
    fn deterministic_and_stable() {
        let a: Vec<Entity> = demo_rows(7, date("2024-01-01")..=date("2024-01-03"), 5..=8).collect();
        let b: Vec<Entity> = demo_rows(7, date("2024-01-01")..=date("2024-01-03"), 5..=8).collect();
        assert_eq!(a, b);
        let other: Vec<Entity> =
            demo_rows(8, date("2024-01-01")..=date("2024-01-03"), 5..=8).collect();
        assert_ne!(a, other);
        // Pin the generator: these values must never change across
        // platforms or releases, or stored demo data would stop matching.
        let first = a.first().expect("rows");
        assert_eq!(first.partition_key, "2024-01-01");
        assert_eq!(first.row_key, "0000000");
        assert_eq!(SplitMix64(0).next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(SplitMix64(1234567).next(), 6_457_827_717_110_365_317);
    }

    #[test]
    fn days_are_independent_streams() {
        let all: Vec<Entity> =
            demo_rows(3, date("2024-02-27")..=date("2024-03-02"), 0..=20).collect();
        let one: Vec<Entity> =
            demo_rows(3, date("2024-02-29")..=date("2024-02-29"), 0..=20).collect();
        let from_all: Vec<Entity> = all
            .iter()
            .filter(|e| e.partition_key == "2024-02-29")
            .cloned()
            .collect();
        assert_eq!(one, from_all);
    }

    #[test]
    fn shape_of_rows() {
        let rows: Vec<Entity> =
            demo_rows(1, date("2024-01-01")..=date("2024-01-10"), 100..=100).collect();
        assert_eq!(rows.len(), 1000);
        let keys: HashSet<(&str, &str)> = rows
            .iter()
            .map(|r| (r.partition_key.as_str(), r.row_key.as_str()))
            .collect();
        assert_eq!(keys.len(), rows.len(), "keys are unique");
        let empty = rows
            .iter()
            .filter(|r| r.get_str("CertNumber") == Some(""))
            .count();
        let absent = rows
            .iter()
            .filter(|r| !r.properties.contains_key("CertNumber"))
            .count();
        assert!((200..400).contains(&empty), "{empty} empty CertNumbers");
        assert!((10..100).contains(&absent), "{absent} absent CertNumbers");
        let ids: HashSet<&str> = rows.iter().filter_map(|r| r.get_str(ID_PROPERTY)).collect();
        assert!(ids.len() < 700, "ids repeat: {} distinct", ids.len());
        assert!(
            rows.iter()
                .all(|r| matches!(r.properties.get("Sequence"), Some(Value::Int64(_))))
        );
    }

    #[test]
    fn count_distinct_ids_by_hand() {
        let rows = vec![
            Entity::new("2024-01-01", "1")
                .with(ID_PROPERTY, "a")
                .with("CertNumber", "x"),
            Entity::new("2024-01-02", "1")
                .with(ID_PROPERTY, "a")
                .with("CertNumber", "y"),
            Entity::new("2024-01-02", "2")
                .with(ID_PROPERTY, "b")
                .with("CertNumber", ""),
            Entity::new("2024-01-03", "1").with(ID_PROPERTY, "c"),
            Entity::new("2024-01-03", "2")
                .with(ID_PROPERTY, "d")
                .with("CertNumber", "z"),
            Entity::new("2024-01-04", "1")
                .with(ID_PROPERTY, "e")
                .with("CertNumber", "z"),
        ];
        assert_eq!(
            count_distinct_ids(&rows, date("2024-01-01"), date("2024-01-03")),
            2
        );
        assert_eq!(
            count_distinct_ids(&rows, date("2024-01-02"), date("2024-01-04")),
            3
        );
        assert_eq!(
            count_distinct_ids(&rows, date("2024-01-05"), date("2024-01-09")),
            0
        );
    }
}
