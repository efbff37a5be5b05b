//! Two log-scale bar charts of the medians: W1 throughput, and W3 latency (p50 and p99).

use std::fmt::Write as _;

use super::{METRICS, Metric, Report};
use crate::format::{fmt_int, fmt_num};
use crate::systems::{Engine, System};

const ROW_H: f64 = 26.0;
const TOP: f64 = 60.0;
const LABEL_W: f64 = 215.0;
const PANEL_W: f64 = 330.0;
const GAP: f64 = 40.0;

/// One chart: a title and the metrics drawn as bars, each in its colour.
struct Panel<'m> {
    x0: f64,
    title: &'static str,
    series: Vec<(&'m Metric, &'static str)>,
}

fn value(r: &Report<'_>, s: &System, m: &Metric) -> Option<f64> {
    r.median(s, m).map(|m| m.value).filter(|v| *v > 0.0)
}

fn panel(svg: &mut String, r: &Report<'_>, rows: &[&System], p: &Panel<'_>) {
    let all: Vec<f64> = rows
        .iter()
        .flat_map(|s| p.series.iter().filter_map(|(m, _)| value(r, s, m)))
        .collect();
    if all.is_empty() {
        return;
    }
    let lo = all
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .log10()
        .floor();
    let hi = all
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let x0 = p.x0;
    let x = |v: f64| x0 + (v.log10() - lo) / (hi - lo) * (PANEL_W - 20.0);
    let _ = writeln!(
        svg,
        r#"<text x="{x0}" y="20" font-weight="bold">{}</text>"#,
        p.title
    );
    let bottom = TOP + ROW_H * rows.len() as f64;
    let mut e = lo;
    while e <= hi {
        let gx = x(10f64.powf(e));
        let tick = if e >= 0.0 {
            fmt_int(10f64.powf(e).round() as usize)
        } else {
            fmt_num(10f64.powf(e))
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{bottom}" stroke="#ddd"/><text x="{gx:.1}" y="{}" text-anchor="middle" fill="#555">{tick}</text>"##,
            TOP - 10.0,
            bottom + 16.0,
        );
        e += 1.0;
    }
    for (i, s) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let bar_h = (ROW_H - 8.0) / p.series.len() as f64;
        for (j, (m, color)) in p.series.iter().enumerate() {
            let by = y + 2.0 + bar_h * j as f64;
            let _ = match value(r, s, m) {
                Some(v) => {
                    let w = (x(v) - x0).max(1.0);
                    writeln!(
                        svg,
                        r#"<rect x="{x0}" y="{by:.1}" width="{w:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                        bar_h - 1.0,
                        x0 + w + 4.0,
                        by + bar_h - 2.0,
                        fmt_num(v)
                    )
                }
                None => writeln!(
                    svg,
                    r##"<text x="{}" y="{:.1}" font-size="10" fill="#999">n/a</text>"##,
                    x0 + 4.0,
                    by + bar_h - 2.0
                ),
            };
        }
    }
}

pub(super) fn render(r: &Report<'_>) -> String {
    let rows = &r.ran;
    let height = TOP + ROW_H * rows.len() as f64 + 50.0;
    let width = LABEL_W + 2.0 * PANEL_W + GAP + 80.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let panels = [
        Panel {
            x0: LABEL_W,
            title: "W1: orchestrations/s (higher is better)",
            series: vec![(&METRICS[0], "#2b6cb0")],
        },
        Panel {
            x0: LABEL_W + PANEL_W + GAP,
            title: "W3: latency ms (dark p50, light p99; lower is better)",
            series: vec![(&METRICS[2], "#2f855a"), (&METRICS[3], "#9ae6b4")],
        },
    ];
    for p in &panels {
        panel(&mut svg, r, rows, p);
    }
    for (i, s) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64 + ROW_H / 2.0 + 4.0;
        let weight = if s.engine == Engine::Durafn {
            "bold"
        } else {
            "normal"
        };
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{y:.1}" text-anchor="end" font-weight="{weight}">{}</text>"#,
            LABEL_W - 10.0,
            s.label.replace('&', "&amp;")
        );
    }
    let runs = match r.plan.runs {
        1 => "one run".to_string(),
        n => format!("medians of {n} runs"),
    };
    let _ = writeln!(
        svg,
        r##"<text x="10" y="{}" fill="#555" font-size="10">Log scales, {runs}. {} run, {}; see {}.md for sizes, caps and durability.</text>"##,
        height - 10.0,
        if r.plan.smoke { "Smoke" } else { "Full" },
        r.started.format("%Y-%m-%d"),
        r.plan.stem()
    );
    svg.push_str("</svg>\n");
    svg
}
