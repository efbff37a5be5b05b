//! The token-by-token pass: each token is a number, a weekday, a month, an
//! AM/PM marker, a zone name or offset, or a word to skip; anything else
//! makes the string invalid. Numbers go through the reference's rules for
//! their length and neighbours (`HH:MM`, `YYYYMMDD`, `12h`, `01-Jan-01`, …).

use super::ymd::{Label, Ymd, parse_int};
use super::{Context, Fields, Invalid, convert_year, is_utc_name, lex};

/// Words the parser skips.
const JUMP: &[&str] = &[
    " ", ".", ",", ";", "-", "/", "'", "at", "on", "and", "ad", "m", "t", "of", "st", "nd", "rd",
    "th",
];
const WEEKDAYS: &[&[&str]] = &[
    &["mon", "monday"],
    &["tue", "tuesday"],
    &["wed", "wednesday"],
    &["thu", "thursday"],
    &["fri", "friday"],
    &["sat", "saturday"],
    &["sun", "sunday"],
];
const MONTHS: &[&[&str]] = &[
    &["jan", "january"],
    &["feb", "february"],
    &["mar", "march"],
    &["apr", "april"],
    &["may"],
    &["jun", "june"],
    &["jul", "july"],
    &["aug", "august"],
    &["sep", "sept", "september"],
    &["oct", "october"],
    &["nov", "november"],
    &["dec", "december"],
];
const HMS: &[&[&str]] = &[
    &["h", "hour", "hours"],
    &["m", "minute", "minutes"],
    &["s", "second", "seconds"],
];
const AMPM: &[&[&str]] = &[&["am", "a"], &["pm", "p"]];

/// The index of the group a word belongs to, ignoring case.
fn lookup(table: &[&[&str]], word: &str) -> Option<usize> {
    let lower = word.to_lowercase();
    table
        .iter()
        .position(|names| names.contains(&lower.as_str()))
}

fn is_jump(word: &str) -> bool {
    JUMP.contains(&word.to_lowercase().as_str())
}

fn weekday(word: &str) -> Option<u32> {
    lookup(WEEKDAYS, word).and_then(|i| u32::try_from(i).ok())
}

fn month(word: &str) -> Option<i64> {
    lookup(MONTHS, word).and_then(|i| i64::try_from(i + 1).ok())
}

fn hms(word: &str) -> Option<u8> {
    lookup(HMS, word).and_then(|i| u8::try_from(i).ok())
}

fn ampm(word: &str) -> Option<u8> {
    lookup(AMPM, word).and_then(|i| u8::try_from(i).ok())
}

/// A number token read as a decimal: its integer part and the digits after
/// the point.
#[derive(Debug, Clone)]
struct Decimal {
    int: i64,
    fraction: String,
}

impl Decimal {
    /// Reads a token of digits with at most one `.`; anything else is not a
    /// number.
    fn parse(token: &str) -> Option<Decimal> {
        let (int, fraction) = token.split_once('.').unwrap_or((token, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && fraction.is_empty()) || !digits(int) || !digits(fraction) {
            return None;
        }
        let int = if int.is_empty() {
            Ok(0)
        } else {
            parse_int(int)
        };
        Some(Decimal {
            int: int.ok()?,
            fraction: fraction.to_owned(),
        })
    }

    fn has_fraction(&self) -> bool {
        self.fraction.bytes().any(|b| b != b'0')
    }

    /// `int(60 * (value % 1))`: the fraction as whole minutes or seconds.
    fn sixtieths(&self) -> i64 {
        let digits: String = self.fraction.chars().take(18).collect();
        let Ok(numerator) = digits.parse::<u128>() else {
            return 0;
        };
        let scale = 10u128.pow(u32::try_from(digits.len()).unwrap_or(0));
        i64::try_from(60 * numerator / scale).unwrap_or(0)
    }

    fn to_decimal(token: &str) -> Result<Decimal, Invalid> {
        Decimal::parse(token).ok_or(Invalid)
    }
}

/// `I[.F]` seconds as (seconds, microseconds), the fraction cut to six
/// digits.
fn parse_seconds(text: &str) -> Result<(i64, i64), Invalid> {
    match text.split_once('.') {
        None => Ok((parse_int(text)?, 0)),
        Some((int, fraction)) => {
            let mut micro: String = fraction.chars().take(6).collect();
            while micro.len() < 6 {
                micro.push('0');
            }
            Ok((parse_int(int)?, parse_int(&micro)?))
        }
    }
}

/// The token-by-token pass.
pub(super) struct Parser {
    tokens: Vec<String>,
    res: Fields,
    ymd: Ymd,
    ctx: Context,
}

impl Parser {
    pub(super) fn new(input: &str, ctx: &Context) -> Parser {
        Parser {
            tokens: lex::split(input),
            res: Fields::default(),
            ymd: Ymd::default(),
            ctx: *ctx,
        }
    }

    fn tok(&self, i: usize) -> Result<&str, Invalid> {
        self.tokens.get(i).map(String::as_str).ok_or(Invalid)
    }

    fn tok_is(&self, i: usize, s: &str) -> bool {
        self.tokens.get(i).is_some_and(|t| t == s)
    }

    pub(super) fn run(mut self) -> Result<Fields, Invalid> {
        let mut i = 0;
        while i < self.tokens.len() {
            let token = self.tok(i)?.to_owned();
            if Decimal::parse(&token).is_some() {
                i = self.numeric(i)?;
            } else if let Some(day) = weekday(&token) {
                self.res.weekday = Some(day);
            } else if month(&token).is_some() {
                i = self.month_name(i)?;
            } else if let Some(value) = ampm(&token) {
                // An AM/PM marker needs an hour on a 12-hour clock.
                match self.res.hour {
                    Some(hour) if (0..=12).contains(&hour) => {
                        self.res.hour = Some(adjust_ampm(hour, value));
                        self.res.ampm = Some(value);
                    }
                    _ => return Err(Invalid),
                }
            } else if self.could_be_tzname(&token, true) {
                i = self.tzname(i, token);
            } else if self.res.hour.is_some() && (token == "+" || token == "-") {
                i = self.numeric_offset(i)?;
            } else if !is_jump(&token) {
                return Err(Invalid);
            }
            i += 1;
        }
        let (year, month, day) = self.ymd.resolve(false, true)?;
        self.res.century_specified = self.ymd.century_specified;
        self.res.year = year;
        self.res.month = month;
        self.res.day = day;
        Ok(self.res)
    }

    /// Whether a token could be a zone name: after a time, before any zone,
    /// short, and upper case (or a UTC name). `check_offset` is false for
    /// the name in parentheses after a numeric offset.
    fn could_be_tzname(&self, token: &str, check_offset: bool) -> bool {
        self.res.hour.is_some()
            && self.res.tzname.is_none()
            && (!check_offset || self.res.tzoffset.is_none())
            && token.chars().count() <= 5
            && (token.chars().all(|c| c.is_ascii_uppercase())
                || matches!(token, "UTC" | "GMT" | "Z" | "z"))
    }

    fn tzname(&mut self, i: usize, token: String) -> usize {
        self.res.tzoffset = if token == "z" { Some(0) } else { None };
        self.res.tzname = Some(token);
        // `GMT+3` means "my time + 3 is GMT": flip the sign so the offset
        // reads as usual; and then the zone is not GMT.
        if let Some(next) = self.tokens.get_mut(i + 1) {
            if next == "+" || next == "-" {
                *next = if next == "+" { "-" } else { "+" }.to_owned();
                self.res.tzoffset = None;
                if self.res.tzname.as_deref().is_some_and(is_utc_name) {
                    self.res.tzname = None;
                }
            }
        }
        i
    }

    fn numeric_offset(&mut self, mut i: usize) -> Result<usize, Invalid> {
        let sign: i64 = if self.tok(i)? == "+" { 1 } else { -1 };
        let digits = self.tok(i + 1)?.to_owned();
        let len = digits.chars().count();
        let (hours, minutes) = if len == 4 {
            (
                parse_int(&chars(&digits, 0, Some(2)))?,
                parse_int(&chars(&digits, 2, None))?,
            )
        } else if self.tok_is(i + 2, ":") {
            let minutes = parse_int(self.tok(i + 3)?)?;
            i += 2;
            (parse_int(&digits)?, minutes)
        } else if len <= 2 {
            (parse_int(&digits)?, 0)
        } else {
            return Err(Invalid);
        };
        let offset = sign
            * hours
                .saturating_mul(3600)
                .saturating_add(minutes.saturating_mul(60));
        if offset.abs() > MAX_OFFSET_SECONDS {
            // Python cannot even build a time delta that large.
            return Err(Invalid);
        }
        self.res.tzoffset = Some(offset);
        // A zone name in parentheses: `-0300 (BRST)`.
        if i + 5 < self.tokens.len()
            && is_jump(self.tok(i + 2)?)
            && self.tok_is(i + 3, "(")
            && self.tok_is(i + 5, ")")
        {
            let name = self.tok(i + 4)?.to_owned();
            if name.chars().count() >= 3 && self.could_be_tzname(&name, false) {
                self.res.tzname = Some(name);
                i += 4;
            }
        }
        Ok(i + 1)
    }

    fn month_name(&mut self, mut i: usize) -> Result<usize, Invalid> {
        let value = month(self.tok(i)?).ok_or(Invalid)?;
        self.ymd.push_number(value, false, Label::Month)?;
        if i + 1 < self.tokens.len() {
            let sep = self.tok(i + 1)?.to_owned();
            if sep == "-" || sep == "/" {
                // Jan-01[-99]
                let second = self.tokens.get(i + 2).ok_or(Invalid)?;
                self.ymd.push_text(second, Label::None)?;
                if self.tok_is(i + 3, &sep) {
                    let third = self.tokens.get(i + 4).ok_or(Invalid)?;
                    self.ymd.push_text(third, Label::None)?;
                    i += 2;
                }
                i += 2;
            } else if i + 4 < self.tokens.len()
                && self.tok_is(i + 1, " ")
                && self.tok_is(i + 3, " ")
                && self.tok(i + 2)?.eq_ignore_ascii_case("of")
            {
                // Jan of 01: clearly a year.
                let year = self.tok(i + 4)?.to_owned();
                if let Ok(value) = parse_int(&year) {
                    let widened = convert_year(value, false, &self.ctx).to_string();
                    self.ymd.push_text(&widened, Label::Year)?;
                }
                i += 4;
            }
        }
        Ok(i)
    }

    fn numeric(&mut self, mut idx: usize) -> Result<usize, Invalid> {
        let repr = self.tok(idx)?.to_owned();
        let value = Decimal::to_decimal(&repr)?;
        let len_li = repr.chars().count();
        let len_l = self.tokens.len();
        let next_is = |p: &Parser, s: &str| p.tok_is(idx + 1, s);
        if self.ymd.len() == 3
            && (len_li == 2 || len_li == 4)
            && self.res.hour.is_none()
            && (idx + 1 >= len_l || (!next_is(self, ":") && hms(self.tok(idx + 1)?).is_none()))
        {
            // 19990101T23[59]
            self.res.hour = Some(parse_int(&chars(&repr, 0, Some(2)))?);
            if len_li == 4 {
                self.res.minute = Some(parse_int(&chars(&repr, 2, None))?);
            }
        } else if len_li == 6 || (len_li > 6 && repr.find('.') == Some(6)) {
            // YYMMDD or HHMMSS[.ss]
            if self.ymd.is_empty() && !repr.contains('.') {
                self.ymd.push_text(&chars(&repr, 0, Some(2)), Label::None)?;
                self.ymd.push_text(&chars(&repr, 2, Some(4)), Label::None)?;
                self.ymd.push_text(&chars(&repr, 4, None), Label::None)?;
            } else {
                self.res.hour = Some(parse_int(&chars(&repr, 0, Some(2)))?);
                self.res.minute = Some(parse_int(&chars(&repr, 2, Some(4)))?);
                let (s, us) = parse_seconds(&chars(&repr, 4, None))?;
                self.res.second = Some(s);
                self.res.microsecond = Some(us);
            }
        } else if matches!(len_li, 8 | 12 | 14) {
            // YYYYMMDD[hhmm[ss]]
            self.ymd.push_text(&chars(&repr, 0, Some(4)), Label::Year)?;
            self.ymd.push_text(&chars(&repr, 4, Some(6)), Label::None)?;
            self.ymd.push_text(&chars(&repr, 6, Some(8)), Label::None)?;
            if len_li > 8 {
                self.res.hour = Some(parse_int(&chars(&repr, 8, Some(10)))?);
                self.res.minute = Some(parse_int(&chars(&repr, 10, Some(12)))?);
                if len_li > 12 {
                    self.res.second = Some(parse_int(&chars(&repr, 12, None))?);
                }
            }
        } else if let Some(hms_idx) = self.find_hms_idx(idx) {
            // HH[ ]h or MM[ ]m or SS[.ss][ ]s
            let label = hms(self.tok(hms_idx)?).ok_or(Invalid)?;
            let unit = if hms_idx > idx {
                idx = hms_idx;
                label
            } else {
                // A label before the number names the previous unit: the
                // `04` in `12h04` is minutes.
                label + 1
            };
            self.assign_hms(&repr, &value, unit)?;
        } else if idx + 2 < len_l && next_is(self, ":") {
            // HH:MM[:SS[.ss]]
            self.res.hour = Some(value.int);
            let minutes = Decimal::to_decimal(self.tok(idx + 2)?)?;
            self.res.minute = Some(minutes.int);
            self.res.second = minutes.has_fraction().then(|| minutes.sixtieths());
            if idx + 4 < len_l && self.tok_is(idx + 3, ":") {
                let (s, us) = parse_seconds(self.tok(idx + 4)?)?;
                self.res.second = Some(s);
                self.res.microsecond = Some(us);
                idx += 2;
            }
            idx += 2;
        } else if idx + 1 < len_l && matches!(self.tok(idx + 1)?, "-" | "/" | ".") {
            let sep = self.tok(idx + 1)?.to_owned();
            self.ymd.push_text(&repr, Label::None)?;
            if idx + 2 < len_l && !is_jump(self.tok(idx + 2)?) {
                let second = self.tok(idx + 2)?.to_owned();
                if !second.is_empty() && second.bytes().all(|b| b.is_ascii_digit()) {
                    // 01-01[-01]
                    self.ymd.push_text(&second, Label::None)?;
                } else {
                    // 01-Jan[-01]
                    let m = month(&second).ok_or(Invalid)?;
                    self.ymd.push_number(m, false, Label::Month)?;
                }
                if idx + 3 < len_l && self.tok_is(idx + 3, &sep) {
                    let third = self.tok(idx + 4)?.to_owned();
                    match month(&third) {
                        Some(m) => self.ymd.push_number(m, false, Label::Month)?,
                        None => self.ymd.push_text(&third, Label::None)?,
                    }
                    idx += 2;
                }
                idx += 1;
            }
            idx += 1;
        } else if idx + 1 >= len_l || is_jump(self.tok(idx + 1)?) {
            match self.tokens.get(idx + 2).and_then(|t| ampm(t)) {
                Some(marker) => {
                    // 12 am
                    self.res.hour = Some(adjust_ampm(value.int, marker));
                    idx += 1;
                }
                // A year, month or day.
                None => {
                    self.ymd
                        .push_number(value.int, value.has_fraction(), Label::None)?;
                }
            }
            idx += 1;
        } else if let (Some(marker), true) = (
            ampm(self.tok(idx + 1)?),
            value.int < 24, // 0 <= value < 24
        ) {
            // 12am
            self.res.hour = Some(adjust_ampm(value.int, marker));
            idx += 1;
        } else if self.ymd.could_be_day(value.int, value.has_fraction()) {
            self.ymd
                .push_number(value.int, value.has_fraction(), Label::None)?;
        } else {
            return Err(Invalid);
        }
        Ok(idx)
    }

    /// Where the `h`/`m`/`s` label of the number at `idx` is, if it has one.
    fn find_hms_idx(&self, idx: usize) -> Option<usize> {
        let is_hms = |i: usize| self.tokens.get(i).is_some_and(|t| hms(t).is_some());
        let len_l = self.tokens.len();
        if is_hms(idx + 1) {
            // 12h
            Some(idx + 1)
        } else if idx + 2 < len_l && self.tok_is(idx + 1, " ") && is_hms(idx + 2) {
            // 12 h
            Some(idx + 2)
        } else if idx > 0 && is_hms(idx - 1) {
            // the 04 in 12h04
            Some(idx - 1)
        } else if idx > 1 && idx == len_l - 1 && self.tok_is(idx - 1, " ") && is_hms(idx - 2) {
            // the last token, after a label and a space
            Some(idx - 2)
        } else {
            None
        }
    }

    fn assign_hms(&mut self, repr: &str, value: &Decimal, unit: u8) -> Result<(), Invalid> {
        match unit {
            0 => {
                self.res.hour = Some(value.int);
                if value.has_fraction() {
                    self.res.minute = Some(value.sixtieths());
                }
            }
            1 => {
                self.res.minute = Some(value.int);
                self.res.second = value.has_fraction().then(|| value.sixtieths());
            }
            2 => {
                let (s, us) = parse_seconds(repr)?;
                self.res.second = Some(s);
                self.res.microsecond = Some(us);
            }
            _ => {}
        }
        Ok(())
    }
}

/// `s[start:end]` in Python: a slice by characters that is never out of
/// bounds (it may be shorter, or empty).
fn chars(s: &str, start: usize, end: Option<usize>) -> String {
    let count = end.map_or(usize::MAX, |e| e.saturating_sub(start));
    s.chars().skip(start).take(count).collect()
}

/// The largest UTC offset, in seconds, Python can hold in a time delta.
const MAX_OFFSET_SECONDS: i64 = 999_999_999 * 86_400;

/// The hour on a 24-hour clock.
fn adjust_ampm(hour: i64, pm: u8) -> i64 {
    if hour < 12 && pm == 1 {
        hour + 12
    } else if hour == 12 && pm == 0 {
        0
    } else {
        hour
    }
}
