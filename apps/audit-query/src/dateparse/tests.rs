//! Unit tests of the parser: each supported format, the article's inputs,
//! and round trips of formatted dates. The golden-file test under `tests/`
//! compares thousands more inputs with the reference's own answers.

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use proptest::prelude::*;

use super::*;

/// Today is pinned to a leap day, so defaulted days and their clamping show.
fn ctx() -> Context {
    Context::on(date(2024, 2, 29))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_opt(h, min, s).expect("valid time")
}

fn p(s: &str) -> DateTime {
    parse(s, &ctx()).unwrap_or_else(|_| panic!("{s:?} should parse"))
}

fn day(s: &str) -> NaiveDate {
    let parsed = p(s);
    assert_eq!(parsed.zone, Zone::Naive, "{s:?} has no zone");
    parsed.local.date()
}

fn invalid(s: &str) {
    assert!(parse(s, &ctx()).is_err(), "{s:?} should be invalid");
}

#[test]
fn the_articles_inputs() {
    assert_eq!(day("10/08/2021"), date(2021, 8, 10));
    assert_eq!(day("05/08/2021"), date(2021, 8, 5));
    assert_eq!(day("10/10/2021"), date(2021, 10, 10));
    assert_eq!(day("10/12/2021"), date(2021, 12, 10));
    invalid("abcd");
    // 10/08 to 05/08 goes back five days: "Invalid date range."
    assert_eq!(p("10/08/2021").days_until(&p("05/08/2021")), Ok(-5));
    assert_eq!(p("10/10/2021").days_until(&p("10/12/2021")), Ok(61));
}

#[test]
fn day_first_numeric_dates() {
    for s in ["10/08/2021", "10-08-2021", "10.08.2021", "10 08 2021"] {
        assert_eq!(day(s), date(2021, 8, 10), "{s}");
    }
    // When the first number cannot be a month... or the second a month.
    assert_eq!(day("13/08/2021"), date(2021, 8, 13));
    assert_eq!(day("08/13/2021"), date(2021, 8, 13));
    // Two-digit years land within 50 years of the current year.
    assert_eq!(day("10/08/21"), date(2021, 8, 10));
    assert_eq!(day("10/08/73"), date(2073, 8, 10));
    assert_eq!(day("10/08/74"), date(1974, 8, 10));
    // Four digits keep their century, even a small one.
    assert_eq!(day("10/08/0021"), date(21, 8, 10));
}

#[test]
fn iso_dates_and_the_day_first_quirk() {
    assert_eq!(day("2021-10-10"), date(2021, 10, 10));
    assert_eq!(day("2021-10-25"), date(2021, 10, 25));
    assert_eq!(day("2021/10/25"), date(2021, 10, 25));
    // With dayfirst the reference reads YYYY-DD-MM when both are valid.
    assert_eq!(day("2021-10-05"), date(2021, 5, 10));
    // Either order is accepted when only one reading is valid.
    assert_eq!(day("2021-13-01"), date(2021, 1, 13));
    assert_eq!(day("2021-31-12"), date(2021, 12, 31));
    invalid("2021-13-13");
}

#[test]
fn compact_dates() {
    assert_eq!(day("20211010"), date(2021, 10, 10));
    assert_eq!(day("20211025"), date(2021, 10, 25));
    assert_eq!(day("20211005"), date(2021, 5, 10));
    // Six digits are YYMMDD read day first: 21 October 2010.
    assert_eq!(day("211010"), date(2010, 10, 21));
    assert_eq!(p("202110101345").local, at(2021, 10, 10, 13, 45, 0));
    assert_eq!(p("20211010134530").local, at(2021, 10, 10, 13, 45, 30));
    assert_eq!(p("20211010T1345").local, at(2021, 10, 10, 13, 45, 0));
}

#[test]
fn month_names() {
    for s in [
        "10 Oct 2021",
        "Oct 10 2021",
        "October 10, 2021",
        "10 october 2021",
        "OCT 10 2021",
        "10th of October 2021",
        "Oct 10th, 2021",
        "Sunday, 10 Oct 2021",
        "Sun 10 Oct 2021",
        "10-Oct-2021",
        "Oct-10-2021",
        "10/Oct/2021",
        "10.Oct.2021",
        "Oct.10.2021",
        "10 Oct '21",
        "10 Oct 21",
    ] {
        assert_eq!(day(s), date(2021, 10, 10), "{s}");
    }
    assert_eq!(day("Sept 10 2021"), date(2021, 9, 10));
    assert_eq!(day("10 sept. 2021"), date(2021, 9, 10));
    invalid("Oct Oct");
}

#[test]
fn missing_parts_come_from_today() {
    // Today is 2024-02-29; a missing day is clamped to the month's end.
    assert_eq!(day("Oct 2021"), date(2021, 10, 29));
    assert_eq!(day("10/2021"), date(2021, 10, 29));
    assert_eq!(day("2021"), date(2021, 2, 28));
    assert_eq!(day("10"), date(2024, 2, 10));
    assert_eq!(day("Oct"), date(2024, 10, 29));
    assert_eq!(day("10/08"), date(2024, 8, 10));
    // A weekday alone is the next such day, today included.
    assert_eq!(day("Monday"), date(2024, 3, 4));
    assert_eq!(day("Thursday"), date(2024, 2, 29));
}

#[test]
fn times() {
    assert_eq!(p("10/10/2021 13:45").local, at(2021, 10, 10, 13, 45, 0));
    assert_eq!(p("10/10/2021 13:45:30").local, at(2021, 10, 10, 13, 45, 30));
    assert_eq!(p("10/10/2021 1:45 PM").local, at(2021, 10, 10, 13, 45, 0));
    assert_eq!(p("10/10/2021 1:45pm").local, at(2021, 10, 10, 13, 45, 0));
    assert_eq!(p("10/10/2021 12 am").local, at(2021, 10, 10, 0, 0, 0));
    assert_eq!(p("10/10/2021 13h45").local, at(2021, 10, 10, 13, 45, 0));
    assert_eq!(
        p("10 Oct 2021 at 1:45 pm").local,
        at(2021, 10, 10, 13, 45, 0)
    );
    let fraction = p("2021-10-10T13:45:30.5").local;
    assert_eq!(
        fraction,
        at(2021, 10, 10, 13, 45, 30) + TimeDelta::milliseconds(500)
    );
    assert_eq!(p("2021-10-10T13:45:30,5").local, fraction);
    // A time alone is today at that time.
    assert_eq!(p("13:45").local, at(2024, 2, 29, 13, 45, 0));
    invalid("10/10/2021 25:00");
    invalid("10/10/2021 24:00");
    invalid("10/10/2021 23:60");
    invalid("10 Oct 2021 13:00 pm");
    invalid("10 Oct 2021 a");
}

#[test]
fn zones() {
    let utc = p("2021-10-10T13:45:00Z");
    assert_eq!(
        (utc.local, &utc.zone),
        (at(2021, 10, 10, 13, 45, 0), &Zone::Utc)
    );
    for s in [
        "2021-10-10T13:45:00z",
        "2021-10-10 13:45 UTC",
        "2021-10-10 13:45 GMT",
        "2021-10-10 13:45 +00:00",
    ] {
        assert_eq!(p(s).zone, Zone::Utc, "{s}");
    }
    let fixed = |name: Option<&str>, offset_seconds| Zone::Fixed {
        name: name.map(str::to_owned),
        offset_seconds,
    };
    assert_eq!(p("2021-10-10 13:45 +02:00").zone, fixed(None, 7200));
    assert_eq!(p("2021-10-10 13:45 -0300").zone, fixed(None, -10800));
    assert_eq!(p("2021-10-10 13:45 -03").zone, fixed(None, -10800));
    // "GMT+3" means "my time + 3 is GMT".
    assert_eq!(p("2021-10-10 13:45 GMT+3").zone, fixed(None, -10800));
    assert_eq!(
        p("2021-10-10 13:45 -0300 (BRST)").zone,
        fixed(Some("BRST"), -10800)
    );
    // Unknown zone names are ignored.
    assert_eq!(p("2021-10-10 13:45 EST").zone, Zone::Naive);
    invalid("2021-10-10 13:45 ABCDEF");
    invalid("10/10/2021 Z");
}

#[test]
fn not_dates() {
    for s in [
        "abcd",
        "",
        " ",
        "-",
        "at",
        "32/10/2021",
        "29/02/2021",
        "0",
        "nan",
        "inf",
        "99999",
        "10/10/2021 10/10",
        "10/10/",
        "x10/10/2021",
        "10/10/2021x",
        "١٠/١٠/٢٠٢١",
    ] {
        invalid(s);
    }
    assert_eq!(day("29/02/2024"), date(2024, 2, 29));
}

#[test]
fn days_until_rounds_down_like_python() {
    let a = p("10/10/2021 12:00");
    assert_eq!(a.days_until(&p("11/10/2021 11:59")), Ok(0));
    assert_eq!(a.days_until(&p("11/10/2021 12:00")), Ok(1));
    assert_eq!(a.days_until(&p("10/10/2021 11:00")), Ok(-1));
    assert_eq!(a.days_until(&a), Ok(0));
    // Aware dates compare as instants; the same zone as wall times.
    let east = p("11/10/2021 01:00 +02:00");
    let utc = p("10/10/2021 00:00 Z");
    assert_eq!(utc.days_until(&east), Ok(0));
    assert_eq!(p("10/10/2021 00:00 +02:00").days_until(&east), Ok(1));
    // A naive and an aware date cannot be subtracted, nor can offsets of a
    // day or more be applied.
    assert_eq!(a.days_until(&utc), Err(Incomparable));
    assert_eq!(utc.days_until(&a), Err(Incomparable));
    let huge = p("10/10/2021 13:45 +25:00");
    assert_eq!(utc.days_until(&huge), Err(Incomparable));
    assert_eq!(huge.days_until(&p("12/10/2021 13:45 +25:00")), Ok(2));
}

#[test]
fn date_keys_are_python_strftime() {
    assert_eq!(p("10/08/2021 13:45 +02:00").date_key(), "2021-08-10");
    assert_eq!(p("10/08/0999").date_key(), "999-08-10");
}

const ROUND_TRIP_FORMATS: &[&str] = &[
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%B %d, %Y",
    "%A, %d %B %Y",
    "%a %d %b %Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %I:%M %p",
];

proptest! {
    #[test]
    fn formatted_dates_parse_back(
        days in 0i64..3_000_000,
        seconds in 0u32..86_400,
        format in proptest::sample::select(ROUND_TRIP_FORMATS),
    ) {
        let d = date(1000, 1, 1) + TimeDelta::days(days);
        prop_assume!(d.year() <= 9999);
        let t = d.and_time(NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).expect("in range"));
        let text = t.format(format).to_string();
        let parsed = p(&text);
        let expected = if format.contains("%H") || format.contains("%I") {
            date(d.year(), d.month(), d.day()).and_hms_opt(t.hour(), t.minute(), 0).expect("valid")
        } else {
            d.and_hms_opt(0, 0, 0).expect("valid")
        };
        prop_assert_eq!(parsed.local, expected, "{}", text);
        prop_assert_eq!(parsed.zone, Zone::Naive);
    }

    #[test]
    fn iso_dates_parse_back_or_swap(days in 0i64..3_000_000, compact in any::<bool>()) {
        let d = date(1000, 1, 1) + TimeDelta::days(days);
        prop_assume!(d.year() <= 9999);
        let text = d.format(if compact { "%Y%m%d" } else { "%Y-%m-%d" }).to_string();
        // Day first: YYYY-DD-MM wins whenever the day could be a month.
        let expected = if d.day() <= 12 {
            date(d.year(), d.day(), d.month())
        } else {
            d
        };
        prop_assert_eq!(day(&text), expected, "{}", text);
    }

    #[test]
    fn never_panics(s in "\\PC{0,24}") {
        let _ = parse(&s, &ctx());
    }

    #[test]
    fn never_panics_on_date_like_soup(s in "[0-9 /:.,+TZzamph()-]{0,24}") {
        let _ = parse(&s, &ctx());
    }
}
