//! Redrawing output in place on a terminal (`--watch`, `trace --follow`), and raw mode for
//! reading single keys, always restored on the way out.

use std::io::Write;

use crossterm::cursor::{Hide, MoveToColumn, MoveUp, Show};
use crossterm::terminal::{Clear, ClearType, disable_raw_mode, enable_raw_mode};
use crossterm::{execute, queue};

use crate::error::{CliError, CliResult};

/// The terminal's size as (columns, rows), or a common default when it cannot be read.
pub(crate) fn size() -> (usize, usize) {
    crossterm::terminal::size()
        .map(|(w, h)| (usize::from(w), usize::from(h)))
        .unwrap_or((80, 24))
}

/// Keeps the last frame's height, to draw the next one over it.
#[derive(Debug, Default)]
pub(crate) struct Screen {
    lines: usize,
    raw: bool,
}

impl Screen {
    /// A screen for normal (cooked) output, or for raw mode, where a line break must also
    /// return the carriage.
    pub(crate) fn new(raw: bool) -> Self {
        Self { lines: 0, raw }
    }

    /// Replaces the previous frame with `frame` (lines without their breaks).
    pub(crate) fn draw(&mut self, frame: &[String]) -> CliResult {
        let mut out = std::io::stdout().lock();
        let result = (|| -> std::io::Result<()> {
            queue!(out, MoveToColumn(0))?;
            if self.lines > 0 {
                let up = u16::try_from(self.lines).unwrap_or(u16::MAX);
                queue!(out, MoveUp(up))?;
            }
            queue!(out, Clear(ClearType::FromCursorDown))?;
            let newline = if self.raw { "\r\n" } else { "\n" };
            for line in frame {
                out.write_all(line.as_bytes())?;
                out.write_all(newline.as_bytes())?;
            }
            out.flush()
        })();
        result.map_err(|e| CliError::io("writing to the terminal", e))?;
        self.lines = frame.len();
        Ok(())
    }
}

/// Raw mode (keys arrive one at a time, Ctrl-C as a key) with the cursor hidden, until dropped;
/// dropping restores the terminal, on errors and panics too.
#[derive(Debug)]
pub(crate) struct RawMode(());

impl RawMode {
    /// Enters raw mode.
    pub(crate) fn enable() -> CliResult<Self> {
        enable_raw_mode().map_err(|e| CliError::io("switching the terminal to raw mode", e))?;
        let guard = Self(());
        let _ = execute!(std::io::stdout(), Hide);
        Ok(guard)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), Show);
        let _ = disable_raw_mode();
    }
}
