//! The timeline: an SVG Gantt chart of an execution's steps over time (activities, timers,
//! sub-orchestrations, entity calls and locks as bars, events and requests as marks, and the
//! events the code still waits for), drawn on the server so it needs no script.

use chrono::{DateTime, TimeDelta, Utc};
use maud::{Markup, html};

use crate::format::duration;
use crate::history::{Kind, Step};

const WIDTH: f64 = 1000.0;
const LABELS: f64 = 240.0;
/// Room on the right for the last bar's duration.
const RIGHT: f64 = 64.0;
const ROW: f64 = 24.0;
const AXIS: f64 = 28.0;
const MAX_ROWS: usize = 300;

/// The chart, from `start` to `end`; `awaited` are the events the code waits for since
/// `waiting_since`.
pub(crate) fn chart(
    steps: &[Step],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
    awaited: &[String],
    waiting_since: Option<DateTime<Utc>>,
) -> Markup {
    let rows: Vec<&Step> = steps
        .iter()
        .filter(|s| !matches!(s.kind, Kind::Start | Kind::End))
        .take(MAX_ROWS)
        .collect();
    let total = (end - start).max(TimeDelta::microseconds(1));
    let plot = WIDTH - LABELS - RIGHT;
    let x = |t: DateTime<Utc>| {
        let frac = (t - start).num_microseconds().unwrap_or(0) as f64
            / total.num_microseconds().unwrap_or(1) as f64;
        LABELS + frac.clamp(0.0, 1.0) * plot
    };
    let n = rows.len() + awaited.len();
    let height = AXIS + ROW * n.max(1) as f64 + 8.0;
    let ticks: Vec<(f64, String)> = (0..=4)
        .map(|i| {
            let frac = f64::from(i) / 4.0;
            let at = TimeDelta::microseconds(
                (total.num_microseconds().unwrap_or(0) as f64 * frac) as i64,
            );
            let label = if i == 0 {
                "0".to_string()
            } else {
                format!("+{}", duration(at))
            };
            (LABELS + frac * plot, label)
        })
        .collect();
    html! {
        figure.timeline {
            svg viewBox={ "0 0 " (WIDTH) " " (height) } width="100%" role="img"
                aria-labelledby="timeline-title timeline-desc" preserveAspectRatio="xMinYMin meet" {
                title #timeline-title { "Timeline" }
                desc #timeline-desc {
                    (rows.len()) " steps from " (start.format("%H:%M:%S%.3f")) " over " (duration(total))
                    ". The history table below lists the same steps."
                }
                @for (tx, label) in &ticks {
                    line.grid x1=(tx) x2=(tx) y1=(AXIS - 6.0) y2=(height - 4.0) {}
                    text.tick x=(tx) y=(AXIS - 10.0) text-anchor="middle" { (label) }
                }
                @for (i, s) in rows.iter().enumerate() {
                    @let y = AXIS + ROW * i as f64;
                    @let label = if s.name.is_empty() { s.kind.label().to_string() } else { format!("{} {}", s.kind.label(), s.name) };
                    text.row-label x="8" y=(y + 16.0) { (crate::format::cut(&label, 34).0) }
                    @if s.kind.spans() {
                        @let x0 = x(s.started);
                        @let x1 = x(s.finished.unwrap_or(now)).max(x0 + 2.0);
                        rect class={ "bar " (s.kind.class()) @if s.status == "Failed" { " failed" } @if s.finished.is_none() { " open" } }
                            x=(x0) y=(y + 5.0) width=(x1 - x0) height=(ROW - 10.0) rx="3" {
                            title {
                                (label) " · " (s.status)
                                @if let Some(d) = s.duration(now) { " · " (duration(d)) }
                            }
                        }
                        @if let Some(d) = s.duration(now) {
                            text.bar-label x=(x1 + 4.0) y=(y + 16.0) { (duration(d)) }
                        }
                    } @else {
                        @let cx = x(s.started);
                        @let cy = y + ROW / 2.0;
                        path class={ "mark " (s.kind.class()) }
                            d={ "M" (cx) " " (cy - 6.0) " L" (cx + 6.0) " " (cy) " L" (cx) " " (cy + 6.0) " L" (cx - 6.0) " " (cy) " Z" } {
                            title { (label) " · " (s.status) " at " (s.started.format("%H:%M:%S%.3f")) }
                        }
                    }
                }
                @for (j, event) in awaited.iter().enumerate() {
                    @let y = AXIS + ROW * (rows.len() + j) as f64;
                    @let x0 = x(waiting_since.unwrap_or(start));
                    @let x1 = x(now).max(x0 + 2.0);
                    text.row-label x="8" y=(y + 16.0) { "waiting for " (event) }
                    rect.bar.k-wait.open x=(x0) y=(y + 5.0) width=(x1 - x0) height=(ROW - 10.0) rx="3" {
                        title { "waiting for the event " (event) }
                    }
                }
            }
            figcaption {
                span.key.k-activity { "activity" }
                span.key.k-sub { "sub-orchestration" }
                span.key.k-timer { "timer" }
                span.key.k-entity { "entity" }
                span.key.k-event { "event" }
                span.key.k-wait { "waiting" }
                @if steps.len() > MAX_ROWS { " (the first " (MAX_ROWS) " steps)" }
            }
        }
    }
}
