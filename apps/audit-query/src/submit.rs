//! The client function's logic without the HTTP plumbing: read `s` and
//! `e`, validate them in the article's order with its messages, and say
//! what to answer.
//!
//! Kept pure (strings in, status and body out) so every rule is tested
//! directly, and the HTTP function only moves bytes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dateparse::{self, Context};
use crate::pyjson;

/// The orchestration's input: the first and last day of the range, as
/// `YYYY-MM-DD` (the article's `{"start": ..., "end": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryInput {
    /// The first day, inclusive.
    pub start: String,
    /// The last day, inclusive.
    pub end: String,
}

/// Why a submission is refused, in the order the article checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// `s` is missing or empty.
    #[error("Empty start date.")]
    EmptyStart,
    /// `s` is not a date.
    #[error("Invalid start date format.")]
    InvalidStart,
    /// `e` is missing or empty.
    #[error("Empty end date.")]
    EmptyEnd,
    /// `e` is not a date.
    #[error("Invalid end date format.")]
    InvalidEnd,
    /// `e` is less than a whole day after `s`.
    #[error("Invalid date range.")]
    InvalidRange,
    /// One date has a time zone and the other has none: the original
    /// cannot subtract them and fails with an unhandled error (HTTP 500
    /// with no body), and so does this app.
    #[error("a date with a time zone and one without cannot be compared")]
    Incomparable,
}

impl Rejection {
    /// The HTTP status: 400, or 500 for [`Rejection::Incomparable`].
    pub fn status(self) -> u16 {
        match self {
            Rejection::Incomparable => 500,
            _ => 400,
        }
    }

    /// The response body: `{"error": "<message>"}` as `json.dumps` writes
    /// it; empty for [`Rejection::Incomparable`].
    pub fn body(self) -> String {
        match self {
            Rejection::Incomparable => String::new(),
            other => pyjson::object(&[("error", Value::String(other.to_string()))]),
        }
    }

    /// Whether the body is JSON (and the response says so).
    pub fn is_json(self) -> bool {
        self != Rejection::Incomparable
    }
}

/// Checks the two query parameters as the article's client function does
/// and returns the orchestration input. A missing parameter and an empty
/// one are both "Empty …".
pub fn validate(
    start: Option<&str>,
    end: Option<&str>,
    ctx: &Context,
) -> Result<QueryInput, Rejection> {
    let start = match start.filter(|s| !s.is_empty()) {
        None => return Err(Rejection::EmptyStart),
        Some(s) => dateparse::parse(s, ctx).map_err(|_| Rejection::InvalidStart)?,
    };
    let end = match end.filter(|s| !s.is_empty()) {
        None => return Err(Rejection::EmptyEnd),
        Some(s) => dateparse::parse(s, ctx).map_err(|_| Rejection::InvalidEnd)?,
    };
    let days = start
        .days_until(&end)
        .map_err(|_| Rejection::Incomparable)?;
    if days < 1 {
        return Err(Rejection::InvalidRange);
    }
    Ok(QueryInput {
        start: start.date_key(),
        end: end.date_key(),
    })
}

/// The query parameters as the original function sees them: names are
/// matched exactly (`S` is not `s`), and a name given more than once
/// (ignoring case, as the service's query collection groups them) has its
/// values joined with commas under its first spelling.
pub fn service_params(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in pairs {
        match params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(value);
            }
            None => params.push((name.clone(), value.clone())),
        }
    }
    params
}

/// The value of parameter `name` (matched exactly) among `params`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The article's `build_api_url`: where the caller polls for the job.
pub fn status_uri(scheme: &str, host: &str, instance_id: &str) -> String {
    format!("{scheme}://{host}/api/status/{instance_id}")
}

/// The success body: `{"statusUri": "<uri>"}`.
pub fn accepted_body(status_uri: &str) -> String {
    pyjson::object(&[("statusUri", Value::String(status_uri.to_owned()))])
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn ctx() -> Context {
        Context::on(NaiveDate::from_ymd_opt(2024, 2, 29).expect("valid"))
    }

    fn check(s: Option<&str>, e: Option<&str>) -> Result<QueryInput, Rejection> {
        validate(s, e, &ctx())
    }

    fn input(start: &str, end: &str) -> QueryInput {
        QueryInput {
            start: start.into(),
            end: end.into(),
        }
    }

    #[test]
    fn the_articles_test_section() {
        let no_start = check(None, None).unwrap_err();
        assert_eq!(no_start.status(), 400);
        assert_eq!(no_start.body(), r#"{"error": "Empty start date."}"#);
        let bad_end = check(Some("10/08/2021"), Some("abcd")).unwrap_err();
        assert_eq!(bad_end.body(), r#"{"error": "Invalid end date format."}"#);
        let backwards = check(Some("10/08/2021"), Some("05/08/2021")).unwrap_err();
        assert_eq!(backwards.body(), r#"{"error": "Invalid date range."}"#);
        assert_eq!(
            check(Some("10/10/2021"), Some("10/12/2021")),
            Ok(input("2021-10-10", "2021-12-10"))
        );
    }

    #[test]
    fn checks_run_in_the_articles_order() {
        assert_eq!(check(Some(""), Some("abcd")), Err(Rejection::EmptyStart));
        assert_eq!(check(Some("abcd"), None), Err(Rejection::InvalidStart));
        assert_eq!(
            check(Some("abcd"), Some("abcd")),
            Err(Rejection::InvalidStart)
        );
        assert_eq!(check(Some("10/10/2021"), None), Err(Rejection::EmptyEnd));
        assert_eq!(
            check(Some("10/10/2021"), Some("")),
            Err(Rejection::EmptyEnd)
        );
        assert_eq!(
            check(Some("10/10/2021"), Some(" ")),
            Err(Rejection::InvalidEnd)
        );
        for (r, message) in [
            (Rejection::EmptyStart, "Empty start date."),
            (Rejection::InvalidStart, "Invalid start date format."),
            (Rejection::EmptyEnd, "Empty end date."),
            (Rejection::InvalidEnd, "Invalid end date format."),
            (Rejection::InvalidRange, "Invalid date range."),
        ] {
            assert_eq!(r.body(), format!(r#"{{"error": "{message}"}}"#));
            assert_eq!(r.status(), 400);
            assert!(r.is_json());
        }
    }

    #[test]
    fn the_range_must_be_a_whole_day() {
        assert_eq!(
            check(Some("10/10/2021"), Some("10/10/2021")),
            Err(Rejection::InvalidRange)
        );
        assert_eq!(
            check(Some("10/10/2021 12:00"), Some("11/10/2021 11:59")),
            Err(Rejection::InvalidRange)
        );
        assert_eq!(
            check(Some("10/10/2021 12:00"), Some("11/10/2021 12:00")),
            Ok(input("2021-10-10", "2021-10-11"))
        );
        assert_eq!(
            check(Some("2021-10-10"), Some("Oct 11 2021")),
            Ok(input("2021-10-10", "2021-10-11"))
        );
    }

    #[test]
    fn zones_are_kept_and_mixed_zones_fail_as_in_the_original() {
        // Each date keeps its own wall-clock day.
        assert_eq!(
            check(
                Some("10/10/2021 23:00 -05:00"),
                Some("13/10/2021 01:00 +02:00")
            ),
            Ok(input("2021-10-10", "2021-10-13"))
        );
        // 19 hours apart as instants, though two calendar days apart.
        assert_eq!(
            check(
                Some("10/10/2021 23:00 -05:00"),
                Some("12/10/2021 01:00 +02:00")
            ),
            Err(Rejection::InvalidRange)
        );
        let mixed = check(Some("10/10/2021 13:00 Z"), Some("12/10/2021")).unwrap_err();
        assert_eq!(mixed, Rejection::Incomparable);
        assert_eq!((mixed.status(), mixed.body()), (500, String::new()));
        assert!(!mixed.is_json());
    }

    #[test]
    fn parameters_as_the_service_hands_them_over() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect()
        };
        let params = service_params(&pairs(&[("S", "1"), ("e", "2"), ("s", "3"), ("E", "4")]));
        assert_eq!(param(&params, "s"), None);
        assert_eq!(param(&params, "S"), Some("1,3"));
        assert_eq!(param(&params, "e"), Some("2,4"));
        let params = service_params(&pairs(&[("s", "10/10/2021"), ("e", "")]));
        assert_eq!(param(&params, "s"), Some("10/10/2021"));
        assert_eq!(param(&params, "e"), Some(""));
    }

    #[test]
    fn status_uri_and_body() {
        let uri = status_uri("http", "localhost:7071", "433ebcfe85ec4012abe94dcda2aa6b00");
        assert_eq!(
            uri,
            "http://localhost:7071/api/status/433ebcfe85ec4012abe94dcda2aa6b00"
        );
        assert_eq!(
            accepted_body(&uri),
            r#"{"statusUri": "http://localhost:7071/api/status/433ebcfe85ec4012abe94dcda2aa6b00"}"#
        );
    }
}
