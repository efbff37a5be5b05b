//! The parser against python-dateutil's own answers.
//!
//! `data/dateutil_golden.tsv` holds what `dateutil.parser.parse(s,
//! dayfirst=True)` returned for about three thousand inputs (hand-picked
//! formats and corner cases, dates formatted every common way, and random
//! token soup), with today pinned to 2024-02-29 on a UTC host;
//! `data/dateutil_golden.py` regenerates it.

use audit_query::dateparse::{self, Context, Zone};
use chrono::NaiveDate;

const GOLDEN: &str = include_str!("../data/dateutil_golden.tsv");

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn render(result: Result<dateparse::DateTime, dateparse::Invalid>) -> String {
    match result {
        Err(_) => "invalid".to_owned(),
        Ok(dt) => {
            let zone = match dt.zone {
                Zone::Naive => "naive".to_owned(),
                Zone::Utc => "utc".to_owned(),
                Zone::Fixed {
                    name,
                    offset_seconds,
                } => format!("fixed:{}:{offset_seconds}", name.as_deref().unwrap_or("-")),
            };
            format!("{} {zone}", dt.local.format("%Y-%m-%dT%H:%M:%S%.6f"))
        }
    }
}

#[test]
fn agrees_with_dateutil() {
    let ctx = Context {
        today: NaiveDate::from_ymd_opt(2024, 2, 29).expect("valid date"),
        current_year: 2024,
    };
    let mut failures = Vec::new();
    let mut total = 0;
    for line in GOLDEN.lines() {
        let (input, expected) = line.split_once('\t').expect("input<TAB>result");
        let input = unescape(input);
        let got = render(dateparse::parse(&input, &ctx));
        total += 1;
        if got != expected {
            failures.push(format!("{input:?}: expected {expected}, got {got}"));
        }
    }
    assert!(total > 2000, "the golden file has {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
