//! The year/month/day collector: the numbers a date string contributes, in
//! order, with what is known about which is which, and the rules that
//! decide the rest (`dayfirst` among them).

use super::{Invalid, days_in_month};

/// Up to three date numbers and which of them are known to be the year,
/// month or day.
#[derive(Debug, Default)]
pub(super) struct Ymd {
    values: Vec<i64>,
    /// Whether a number was written with more than two digits (or was
    /// above 100), so a two-digit year is not widened with the century.
    pub(super) century_specified: bool,
    year_idx: Option<usize>,
    month_idx: Option<usize>,
    day_idx: Option<usize>,
}

/// What the string knew about a number when it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Label {
    /// Nothing: its place decides.
    None,
    /// A month, from a month name.
    Month,
    /// A year (four-digit part of `YYYYMMDD`, a year after `of`).
    Year,
}

/// The three components, each `None` when the string did not give it.
pub(super) type Resolved = (Option<i64>, Option<i64>, Option<i64>);

impl Ymd {
    /// How many numbers were collected.
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no number was collected.
    pub(super) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds a number given as text (digits only; anything else is invalid).
    /// More than two digits means a year with its century.
    pub(super) fn push_text(&mut self, text: &str, label: Label) -> Result<(), Invalid> {
        let value = parse_int(text)?;
        let label = if text.len() > 2 {
            self.century_specified = true;
            Label::Year
        } else {
            label
        };
        self.push(value, label)
    }

    /// Adds a number that was read as a decimal (its integer part is kept);
    /// above 100 means a year with its century.
    pub(super) fn push_number(
        &mut self,
        int: i64,
        has_fraction: bool,
        label: Label,
    ) -> Result<(), Invalid> {
        let label = if int > 100 || (int == 100 && has_fraction) {
            self.century_specified = true;
            Label::Year
        } else {
            label
        };
        self.push(int, label)
    }

    fn push(&mut self, value: i64, label: Label) -> Result<(), Invalid> {
        self.values.push(value);
        let idx = self.values.len() - 1;
        let slot = match label {
            Label::None => return Ok(()),
            Label::Month => &mut self.month_idx,
            Label::Year => &mut self.year_idx,
        };
        if slot.is_some() {
            return Err(Invalid);
        }
        *slot = Some(idx);
        Ok(())
    }

    /// Whether a number could still be the day: no day yet, and within the
    /// days of the month if the month is known (of a leap year if the year
    /// is not).
    pub(super) fn could_be_day(&self, int: i64, has_fraction: bool) -> bool {
        let max = if self.day_idx.is_some() {
            return false;
        } else if let Some(m) = self.month_idx.and_then(|i| self.values.get(i)) {
            let year = self
                .year_idx
                .and_then(|i| self.values.get(i))
                .copied()
                .unwrap_or(2000);
            days_in_month(year, *m).unwrap_or(0)
        } else {
            31
        };
        int >= 1 && (int < max || (int == max && !has_fraction))
    }

    fn get(&self, idx: usize) -> Result<i64, Invalid> {
        self.values.get(idx).copied().ok_or(Invalid)
    }

    /// Decides which number is the year, the month and the day.
    pub(super) fn resolve(&self, yearfirst: bool, dayfirst: bool) -> Result<Resolved, Invalid> {
        let len = self.values.len();
        let known = [self.year_idx, self.month_idx, self.day_idx];
        let known_count = known.iter().flatten().count();
        if (len == known_count && len > 0) || (len == 3 && known_count == 2) {
            return self.resolve_from_labels(known);
        }
        let v = |i: usize| self.get(i);
        if len > 3 {
            return Err(Invalid);
        }
        if len == 1 || (self.month_idx.is_some() && len == 2) {
            // One number, or a number and a month name.
            let mut month = None;
            let other = match self.month_idx {
                Some(m) => {
                    month = Some(v(m)?);
                    // The element before the month, wrapping around.
                    v(if m == 0 { len - 1 } else { m - 1 })?
                }
                None => v(0)?,
            };
            let (mut year, mut day) = (None, None);
            if len > 1 || self.month_idx.is_none() {
                if other > 31 {
                    year = Some(other);
                } else {
                    day = Some(other);
                }
            }
            return Ok((year, month, day));
        }
        if len == 2 {
            let (a, b) = (v(0)?, v(1)?);
            return Ok(if a > 31 {
                (Some(a), Some(b), None)
            } else if b > 31 {
                (Some(b), Some(a), None)
            } else if dayfirst && b <= 12 {
                (None, Some(b), Some(a))
            } else {
                (None, Some(a), Some(b))
            });
        }
        if len == 0 {
            return Ok((None, None, None));
        }
        let (a, b, c) = (v(0)?, v(1)?, v(2)?);
        let ymd = match self.month_idx {
            Some(0) => {
                if b > 31 {
                    (b, a, c) // month, year, day
                } else {
                    (c, a, b) // month, day, year
                }
            }
            Some(1) => {
                if a > 31 || (yearfirst && c <= 31) {
                    (a, b, c)
                } else {
                    // Day first: two-digit years are usually hand-written.
                    (c, b, a)
                }
            }
            Some(_) => {
                if b > 31 {
                    (b, c, a) // day, year, month
                } else {
                    (a, c, b) // year, day, month
                }
            }
            None => {
                if a > 31 || self.year_idx == Some(0) || (yearfirst && b <= 12 && c <= 31) {
                    if dayfirst && c <= 12 {
                        (a, c, b)
                    } else {
                        (a, b, c)
                    }
                } else if a > 12 || (dayfirst && b <= 12) {
                    (c, b, a)
                } else {
                    (c, a, b)
                }
            }
        };
        Ok((Some(ymd.0), Some(ymd.1), Some(ymd.2)))
    }

    /// Resolution when the labels say enough: every number is labelled, or
    /// two of three are and the third is what is left.
    fn resolve_from_labels(&self, known: [Option<usize>; 3]) -> Result<Resolved, Invalid> {
        let mut known = known;
        if self.values.len() == 3 && known.iter().flatten().count() == 2 {
            let missing = (0..3).find(|i| !known.contains(&Some(*i)));
            if let Some(slot) = known.iter_mut().find(|k| k.is_none()) {
                *slot = missing;
            }
        }
        let pick = |idx: Option<usize>| idx.map(|i| self.get(i)).transpose();
        Ok((pick(known[0])?, pick(known[1])?, pick(known[2])?))
    }
}

/// An integer written with ASCII digits only, saturating instead of
/// overflowing (a huge number is as invalid as a merely large one).
pub(super) fn parse_int(text: &str) -> Result<i64, Invalid> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid);
    }
    Ok(text.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    }))
}
