//! `durafn instances list --watch`: the listing redrawn in place every few seconds until q,
//! Esc or Ctrl-C. The terminal is in raw mode meanwhile (to read single keys) and is always
//! restored, whichever way the loop ends.

use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::client::Client;
use crate::commands::target::{ListArgs, list_table};
use crate::error::{CliError, CliResult, exit};
use crate::filter;
use crate::output::Out;
use crate::terminal::{RawMode, Screen, size};

/// Runs the watch loop.
pub(crate) fn run(out: &Out, client: &Client, a: &ListArgs) -> CliResult {
    if !out.tty || out.is_json() {
        return Err(CliError::Usage(
            "--watch redraws a table on a terminal; without one, run the listing repeatedly".into(),
        ));
    }
    if !(a.interval.is_finite() && a.interval > 0.0) {
        return Err(CliError::Usage(
            "--interval must be a positive number of seconds".into(),
        ));
    }
    let interval = Duration::from_secs_f64(a.interval.max(0.1));
    let _raw = RawMode::enable()?;
    let mut screen = Screen::new(true);
    loop {
        screen.draw(&frame(out, client, a))?;
        let deadline = Instant::now() + interval;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if !event::poll(left).map_err(|e| CliError::io("reading the keyboard", e))? {
                break;
            }
            match event::read().map_err(|e| CliError::io("reading the keyboard", e))? {
                Event::Key(k) if k.kind != KeyEventKind::Release => match k.code {
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                        return Err(CliError::Exit {
                            code: exit::INTERRUPTED,
                            message: String::new(),
                        });
                    }
                    KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => return Ok(()),
                    _ => {}
                },
                Event::Resize(..) => break,
                _ => {}
            }
        }
    }
}

/// One screenful: a status line and as much of the table as fits.
fn frame(out: &Out, client: &Client, a: &ListArgs) -> Vec<String> {
    let (width, height) = size();
    let now = crate::time::now().format("%H:%M:%SZ");
    let limit = if a.all { None } else { Some(a.top.max(1)) };
    let mut lines = Vec::new();
    match filter::collect(client, &a.filter, limit, a.show_input) {
        Ok((items, more)) => {
            let shown = if more {
                format!("{}+", items.len())
            } else {
                items.len().to_string()
            };
            lines.push(clip_line(
                &format!(
                    "{shown} instances · every {}s · {now} · q quits",
                    a.interval
                ),
                width,
            ));
            let mut table = list_table(out, &items, a.show_input);
            table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
            let rows = out.render(&table);
            let room = height.saturating_sub(2).max(2);
            if rows.len() > room {
                let hidden = rows.len() - (room - 1);
                lines.extend(rows.into_iter().take(room - 1));
                lines.push(format!("… {hidden} more"));
            } else {
                lines.extend(rows);
            }
        }
        Err(e) => {
            lines.push(clip_line(&format!("{now} · q quits"), width));
            lines.push(clip_line(&format!("error: {e}"), width));
        }
    }
    lines
}

/// Cuts a plain line to the terminal's width, so it cannot wrap (table lines are laid out to
/// the width already, and may hold colour codes that must not be cut).
fn clip_line(line: &str, width: usize) -> String {
    line.chars().take(width.max(1)).collect()
}
