//! How results are printed: human tables (coloured only on a terminal, and never when
//! `NO_COLOR` is set), or JSON for scripts. Data goes to stdout; messages go to stderr.

use std::io::{IsTerminal, Write};

use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};
use durafn_api::RuntimeStatus;

use crate::error::{CliError, CliResult};

/// The output format (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Format {
    /// Tables and lines for people.
    #[default]
    Table,
    /// One JSON document: the host's JSON exactly where there is one.
    Json,
    /// One JSON value per line (for listings and streams).
    Jsonl,
}

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    /// The format asked for.
    pub(crate) format: Format,
    /// Whether to colour human output.
    pub(crate) color: bool,
    /// Whether stdout is a terminal.
    pub(crate) tty: bool,
}

impl Out {
    /// From the format and the process's terminal and environment.
    pub(crate) fn new(format: Format) -> Self {
        let tty = std::io::stdout().is_terminal();
        Self {
            format,
            color: tty && color_allowed(std::env::var_os("NO_COLOR")),
            tty,
        }
    }

    /// Whether the output is JSON of some kind.
    pub(crate) fn is_json(&self) -> bool {
        self.format != Format::Table
    }

    /// A table with these column headers, laid out for stdout.
    pub(crate) fn table(&self, headers: &[&str]) -> Table {
        let mut table = Table::new();
        table.load_preset(comfy_table::presets::NOTHING);
        if self.tty {
            table.set_content_arrangement(ContentArrangement::Dynamic);
        } else {
            table.force_no_tty();
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
        if headers.iter().any(|h| !h.is_empty()) {
            table.set_header(headers.iter().map(|h| {
                let cell = Cell::new(h);
                if self.color {
                    cell.add_attribute(Attribute::Bold)
                } else {
                    cell
                }
            }));
        }
        table
    }

    /// A key/value table without headers (the details of one thing).
    pub(crate) fn details(&self, rows: Vec<(&str, Cell)>) -> Table {
        let mut table = self.table(&[]);
        for (k, v) in rows {
            table.add_row(vec![Cell::new(format!("{k}:")), v]);
        }
        if let Some(c) = table.column_mut(0) {
            c.set_constraint(ColumnConstraint::Absolute(Width::Fixed(16)));
        }
        table
    }

    /// A cell showing a runtime status, coloured by what it means.
    pub(crate) fn status_cell(&self, status: &str) -> Cell {
        let cell = Cell::new(status);
        if !self.color {
            return cell;
        }
        match status.parse::<RuntimeStatus>() {
            Ok(RuntimeStatus::Completed) => cell.fg(Color::Green),
            Ok(RuntimeStatus::Failed) => cell.fg(Color::Red),
            Ok(RuntimeStatus::Terminated) => cell.fg(Color::Magenta),
            Ok(RuntimeStatus::Suspended) => cell.fg(Color::Yellow),
            Ok(RuntimeStatus::Running) => cell.fg(Color::Cyan),
            Ok(RuntimeStatus::Pending | RuntimeStatus::ContinuedAsNew) => cell.fg(Color::Blue),
            _ => cell,
        }
    }

    /// A table's lines as printed: two spaces between columns, no trailing spaces.
    pub(crate) fn render(&self, table: &Table) -> Vec<String> {
        let mut table = table.clone();
        let last = table.column_count().saturating_sub(1);
        for (i, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, if i == last { 0 } else { 2 }));
        }
        table.lines().map(|l| l.trim_end().to_string()).collect()
    }

    /// Prints a table to stdout.
    pub(crate) fn print_table(&self, table: &Table) -> CliResult {
        let mut text = String::new();
        for line in self.render(table) {
            text.push_str(&line);
            text.push('\n');
        }
        print_stdout(&text)
    }

    /// Prints one JSON text to stdout as it is (it already is the host's JSON).
    pub(crate) fn print_json_text(&self, text: &str) -> CliResult {
        print_stdout(&format!("{}\n", text.trim_end()))
    }

    /// Prints JSON texts: as one array for `json`, one per line for `jsonl`.
    pub(crate) fn print_json_items<'a>(
        &self,
        items: impl IntoIterator<Item = &'a str>,
    ) -> CliResult {
        let mut text = String::new();
        match self.format {
            Format::Jsonl => {
                for item in items {
                    text.push_str(&minify(item));
                    text.push('\n');
                }
            }
            _ => {
                text.push('[');
                for (i, item) in items.into_iter().enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    text.push_str(item.trim());
                }
                text.push_str("]\n");
            }
        }
        print_stdout(&text)
    }

    /// Prints values of this program's own as JSON: one array for `json`, one per line for
    /// `jsonl`.
    pub(crate) fn print_items<T: serde::Serialize>(&self, items: &[T]) -> CliResult {
        let texts = items
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| CliError::BadAnswer(format!("could not write JSON: {e}")))?;
        self.print_json_items(texts.iter().map(String::as_str))
    }

    /// Prints a value of this program's own (not the host's) as JSON.
    pub(crate) fn print_value(&self, value: &impl serde::Serialize) -> CliResult {
        let text = serde_json::to_string(value)
            .map_err(|e| CliError::BadAnswer(format!("could not write JSON: {e}")))?;
        self.print_json_text(&text)
    }
}

/// `NO_COLOR` switches colours off when it is set to anything but the empty string.
fn color_allowed(no_color: Option<std::ffi::OsString>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

/// Writes to stdout; a closed pipe (`durafn … | head`) ends the program quietly.
pub(crate) fn print_stdout(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(CliError::io("writing to stdout", e)),
    }
}

/// A message for the user, on stderr.
pub(crate) fn note(text: impl std::fmt::Display) {
    eprintln!("{text}");
}

/// Removes the whitespace between JSON tokens, keeping everything else byte for byte (the
/// order of keys and the spelling of numbers), so a value fits on one line of JSONL.
pub(crate) fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Shortens text to one line of at most `max` characters for a table cell (JSON should be
/// minified first).
pub(crate) fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_order() {
        assert_eq!(
            minify("{\n  \"b\": 1,\n  \"a\": \"x  \\\" y\"\n}"),
            r#"{"b":1,"a":"x  \" y"}"#
        );
        assert_eq!(clip("\"abcdef\"", 5), "\"abc…");
        assert_eq!(clip("it  broke\nbadly", 40), "it broke badly");
    }

    #[test]
    fn no_color_is_respected() {
        assert!(color_allowed(None));
        assert!(color_allowed(Some("".into())));
        assert!(!color_allowed(Some("1".into())));
    }
}
