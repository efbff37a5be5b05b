//! How values are shown: times, durations, statuses and JSON payloads (pretty, and cut with a
//! download link when large).

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use durafn_core::{Payload, RuntimeStatus};
use maud::{Markup, html};

/// The current time (the system clock; pages show it and filters count back from it).
pub(crate) fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

/// The most characters of a payload shown on a page; the rest is a download away.
pub(crate) const PAYLOAD_LIMIT: usize = 4096;

/// A time as a `<time>` element (UTC, to the second; the attribute keeps microseconds).
pub(crate) fn time(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339_opts(SecondsFormat::Micros, true)) {
            (at.format("%Y-%m-%d %H:%M:%S"))
        }
    }
}

/// A time of day with milliseconds, for history rows.
pub(crate) fn clock(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339_opts(SecondsFormat::Micros, true)) {
            (at.format("%H:%M:%S%.3f"))
        }
    }
}

/// A duration in the largest unit that keeps it short: `850µs`, `42ms`, `3.2s`, `4m 10s`,
/// `2h 5m`, `3d 4h`.
pub(crate) fn duration(d: TimeDelta) -> String {
    let micros = d.num_microseconds().unwrap_or(i64::MAX).max(0);
    let secs = micros / 1_000_000;
    match micros {
        m if m < 1_000 => format!("{m}µs"),
        m if m < 1_000_000 => format!("{}ms", m / 1_000),
        m if m < 60_000_000 => format!("{:.1}s", m as f64 / 1e6),
        _ if secs < 3600 => format!("{}m {}s", secs / 60, secs % 60),
        _ if secs < 86_400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// A status as a coloured badge whose text says the status (colour is never the only cue).
pub(crate) fn status(s: RuntimeStatus) -> Markup {
    html! { span class={ "status status-" (s.as_str().to_lowercase()) } { (s.as_str()) } }
}

/// A payload's JSON, pretty-printed.
pub(crate) fn pretty(payload: &Payload) -> String {
    match serde_json::from_str::<serde_json::Value>(payload.as_json()) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| payload.as_json().into()),
        Err(_) => payload.as_json().to_string(),
    }
}

/// Cuts text to `limit` characters at a character boundary; says whether it was cut.
pub(crate) fn cut(text: &str, limit: usize) -> (&str, bool) {
    match text.char_indices().nth(limit) {
        Some((i, _)) => (&text[..i], true),
        None => (text, false),
    }
}

/// A payload as a formatted JSON block, cut at [`PAYLOAD_LIMIT`] with a link to all of it.
pub(crate) fn json_block(label: &str, payload: Option<&Payload>, download: &str) -> Markup {
    html! {
        @match payload {
            None => p.muted { "None" },
            Some(p) => {
                @let text = pretty(p);
                @let (shown, was_cut) = cut(&text, PAYLOAD_LIMIT);
                pre.json tabindex="0" aria-label=(label) { code { (shown) @if was_cut { "\n…" } } }
                @if was_cut {
                    p.cut {
                        "Showing " (PAYLOAD_LIMIT) " of " (text.chars().count()) " characters. "
                        a href=(download) download { "Download all of it" }
                    }
                }
            }
        }
    }
}

/// A one-line preview of a payload, for tables.
pub(crate) fn preview(payload: Option<&Payload>, limit: usize) -> String {
    match payload {
        None => String::new(),
        Some(p) => {
            let (shown, was_cut) = cut(p.as_json(), limit);
            if was_cut {
                format!("{shown}…")
            } else {
                shown.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_short_unit() {
        let d = |us: i64| duration(TimeDelta::microseconds(us));
        assert_eq!(d(850), "850µs");
        assert_eq!(d(42_000), "42ms");
        assert_eq!(d(3_200_000), "3.2s");
        assert_eq!(d(250_000_000), "4m 10s");
        assert_eq!(d(7_500_000_000), "2h 5m");
        assert_eq!(d(273_600_000_000), "3d 4h");
        assert_eq!(d(-5), "0µs");
    }

    #[test]
    fn large_payloads_are_cut_with_a_download_link() {
        let big = Payload::encode(&"x".repeat(PAYLOAD_LIMIT * 2)).unwrap();
        let html = json_block("Output", Some(&big), "/d").into_string();
        assert!(html.contains("Download all of it"));
        assert!(html.len() < PAYLOAD_LIMIT * 2);
        let small = Payload::encode(&serde_json::json!({"a": 1})).unwrap();
        let html = json_block("Output", Some(&small), "/d").into_string();
        assert!(html.contains("&quot;a&quot;: 1") && !html.contains("Download"));
        assert_eq!(cut("héllo", 2), ("hé", true));
    }
}
