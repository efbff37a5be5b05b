//! Lexer and recursive-descent parser for `$filter` text.
//!
//! Written to be safe on any input: it works on a vector of `char`s with
//! checked access, converts numbers with checked parsing, and counts nesting
//! so recursion stays within [`MAX_DEPTH`] levels.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use uuid::Uuid;

use super::{CmpOp, Expr, MAX_DEPTH, Operand};
use crate::entity::Value;

/// Why filter text could not be parsed. Columns count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text does not follow the grammar.
    #[error("{message} at column {column}")]
    Syntax {
        /// Where the problem was found.
        column: usize,
        /// What was expected or found, for a person.
        message: String,
    },
    /// A literal is well delimited but its content is not a valid value
    /// (a bad date, an Int32 out of range, ...).
    #[error("{message} at column {column}")]
    Literal {
        /// Where the literal starts.
        column: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Parentheses or `not` nest deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {max} levels of parentheses or 'not' at column {column}")]
    TooDeep {
        /// Where the level over the limit starts.
        column: usize,
        /// The limit.
        max: usize,
    },
}

impl ParseError {
    /// The 1-based character column the error points at.
    pub fn column(&self) -> usize {
        match self {
            ParseError::Syntax { column, .. }
            | ParseError::Literal { column, .. }
            | ParseError::TooDeep { column, .. } => *column,
        }
    }
}

const RESERVED: [&str; 12] = [
    "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "true", "false", "null",
];

pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
    Param(String),
    Lit(Value),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    column: usize,
    /// The source text, shortened, for messages.
    text: String,
}

fn syntax(column: usize, message: impl Into<String>) -> ParseError {
    ParseError::Syntax {
        column,
        message: message.into(),
    }
}

fn literal_error(column: usize, message: impl Into<String>) -> ParseError {
    ParseError::Literal {
        column,
        message: message.into(),
    }
}

/// Shortens text quoted in messages so a huge literal does not flood a log.
fn excerpt(chars: &[char]) -> String {
    const MAX: usize = 24;
    if chars.len() <= MAX {
        chars.iter().collect()
    } else {
        let mut s: String = chars.iter().take(MAX).collect();
        s.push('…');
        s
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn slice(&self, start: usize, end: usize) -> &[char] {
        self.chars.get(start..end).unwrap_or(&[])
    }

    fn tokens(mut self) -> Result<Vec<Token>, ParseError> {
        let mut out = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.pos += 1;
            }
            let start = self.pos;
            let column = start + 1;
            let Some(c) = self.peek() else {
                out.push(Token {
                    tok: Tok::End,
                    column,
                    text: "end of input".to_owned(),
                });
                return Ok(out);
            };
            let tok = match c {
                '(' => {
                    self.pos += 1;
                    Tok::LParen
                }
                ')' => {
                    self.pos += 1;
                    Tok::RParen
                }
                '\'' => Tok::Lit(Value::String(self.quoted(column)?)),
                '@' => {
                    self.pos += 1;
                    let name = self.word();
                    if name.is_empty() {
                        return Err(syntax(column, "expected a parameter name after '@'"));
                    }
                    Tok::Param(name)
                }
                c if c.is_ascii_digit()
                    || (c == '-' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    Tok::Lit(self.number(column)?)
                }
                c if is_ident_start(c) => {
                    let word = self.word();
                    if self.peek() == Some('\'')
                        && matches!(word.as_str(), "datetime" | "guid" | "X" | "binary")
                    {
                        Tok::Lit(self.typed_literal(&word, column)?)
                    } else {
                        Tok::Word(word)
                    }
                }
                other => {
                    return Err(syntax(column, format!("unexpected character {other:?}")));
                }
            };
            out.push(Token {
                tok,
                column,
                text: excerpt(self.slice(start, self.pos)),
            });
        }
    }

    /// Reads identifier characters (possibly none).
    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        self.slice(start, self.pos).iter().collect()
    }

    /// Reads `'…'` starting at the current quote; `''` inside is one quote.
    fn quoted(&mut self, column: usize) -> Result<String, ParseError> {
        self.pos += 1; // the opening quote
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(syntax(column, "unterminated quoted literal")),
                Some('\'') if self.peek_at(1) == Some('\'') => {
                    text.push('\'');
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self, column: usize) -> Result<Value, ParseError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        self.digits();
        let mut is_double = false;
        if self.peek() == Some('.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(syntax(
                    self.pos + 1,
                    "expected digits after the decimal point",
                ));
            }
            is_double = true;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(syntax(self.pos + 1, "expected digits in the exponent"));
            }
            is_double = true;
        }
        let text: String = self.slice(start, self.pos).iter().collect();
        let is_int64 = !is_double && matches!(self.peek(), Some('L' | 'l'));
        if is_int64 {
            self.pos += 1;
        }
        if let Some(c) = self.peek().filter(|c| is_ident_char(*c) || *c == '.') {
            return Err(syntax(
                self.pos + 1,
                format!("unexpected character {c:?} after the number {text}"),
            ));
        }
        if is_double {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Value::Double(v)),
                _ => Err(literal_error(
                    column,
                    format!("the number {text} is out of range for Edm.Double"),
                )),
            }
        } else if is_int64 {
            text.parse::<i64>().map(Value::Int64).map_err(|_| {
                literal_error(
                    column,
                    format!("the number {text}L is out of range for Edm.Int64"),
                )
            })
        } else {
            text.parse::<i32>().map(Value::Int32).map_err(|_| {
                literal_error(
                    column,
                    format!(
                        "the number {text} is out of range for Edm.Int32; write {text}L for an Edm.Int64"
                    ),
                )
            })
        }
    }

    fn typed_literal(&mut self, prefix: &str, column: usize) -> Result<Value, ParseError> {
        match prefix {
            "datetime" => {
                let text = self.quoted(column)?;
                parse_datetime(&text).map(Value::DateTime).ok_or_else(|| {
                    literal_error(
                        column,
                        format!(
                            "invalid datetime literal '{}': expected a UTC time such as 2021-10-10T00:00:00Z (years 0000-9999)",
                            excerpt(&text.chars().collect::<Vec<_>>())
                        ),
                    )
                })
            }
            "guid" => {
                let text = self.quoted(column)?;
                Uuid::try_parse(&text).map(Value::Guid).map_err(|_| {
                    literal_error(
                        column,
                        format!(
                            "invalid guid literal '{}': expected e.g. 0f8fad5b-d9cb-469f-a165-70867728950e",
                            excerpt(&text.chars().collect::<Vec<_>>())
                        ),
                    )
                })
            }
            "X" | "binary" => {
                let text = self.quoted(column)?;
                parse_hex(&text).map(Value::Binary).ok_or_else(|| {
                    literal_error(
                        column,
                        "invalid binary literal: expected an even number of hex digits",
                    )
                })
            }
            other => Err(syntax(
                column,
                format!(
                    "unknown literal prefix '{}': expected datetime, guid, X or binary",
                    excerpt(&other.chars().collect::<Vec<_>>())
                ),
            )),
        }
    }
}

/// RFC 3339 (any offset, converted to UTC) or a bare `YYYY-MM-DDTHH:MM:SS[.f]`
/// taken as UTC. Leap seconds and years outside 0000–9999 are refused so
/// that the printed form always reads back.
fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    // chrono's format parser is lenient (one-digit months, spaces); insist
    // on the ISO 8601 shape `YYYY-MM-DDTHH:MM:SS` first.
    let shape = b"0000-00-00T00:00:00";
    let head = text.as_bytes().get(..shape.len())?;
    let well_formed = head.iter().zip(shape).all(|(c, s)| match s {
        b'0' => c.is_ascii_digit(),
        b'T' => *c == b'T' || *c == b't',
        other => c == other,
    });
    if !well_formed {
        return None;
    }
    let value = DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
        })
        .ok()?;
    let in_range = (0..=9999).contains(&value.year()) && value.nanosecond() < 1_000_000_000;
    in_range.then_some(value)
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = text
        .chars()
        .map(|c| c.to_digit(16))
        .collect::<Option<_>>()?;
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => u8::try_from(hi * 16 + lo).ok(),
            _ => None,
        })
        .collect()
}

/// Parses filter text into a tree.
pub(super) fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = Lexer {
        chars: text.chars().collect(),
        pos: 0,
    }
    .tokens()?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    if matches!(parser.peek().tok, Tok::End) {
        return Err(syntax(1, "expected a condition, found an empty filter"));
    }
    let expr = parser.or()?;
    let next = parser.peek();
    match &next.tok {
        Tok::End => Ok(expr),
        Tok::RParen => Err(syntax(next.column, "unmatched ')'")),
        _ => Err(syntax(
            next.column,
            format!(
                "expected 'and', 'or' or the end of the filter before '{}'",
                next.text
            ),
        )),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

static END: Token = Token {
    tok: Tok::End,
    column: 0,
    text: String::new(),
};

impl Parser {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with `End`, and the parser never
        // advances past it; the fallback only guards against a logic slip.
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .unwrap_or(&END)
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if !matches!(token.tok, Tok::End) {
            self.pos += 1;
        }
        token
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w == word)
    }

    /// The text of the previous token, for "expected … after 'x'".
    fn previous_text(&self) -> Option<String> {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map(|t| t.text.clone())
    }

    fn enter(&mut self, column: usize) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError::TooDeep {
                column,
                max: MAX_DEPTH,
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        while self.peek_word("or") {
            self.advance();
            items.push(self.and()?);
        }
        Ok(collapse(items, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary()?];
        while self.peek_word("and") {
            self.advance();
            items.push(self.unary()?);
        }
        Ok(collapse(items, Expr::And))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek_word("not") {
            let column = self.advance().column;
            self.enter(column)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        if matches!(self.peek().tok, Tok::LParen) {
            let open = self.advance().column;
            self.enter(open)?;
            let inner = self.or()?;
            self.depth -= 1;
            let close = self.peek();
            return match close.tok {
                Tok::RParen => {
                    self.advance();
                    Ok(inner)
                }
                Tok::End => Err(syntax(
                    close.column,
                    format!("expected ')' to close the '(' at column {open}"),
                )),
                _ => Err(syntax(
                    close.column,
                    format!(
                        "expected 'and', 'or' or ')' to close the '(' at column {open}, found '{}'",
                        close.text
                    ),
                )),
            };
        }
        let left_text = self.peek().text.clone();
        let left = self.operand()?;
        let op = match &self.peek().tok {
            Tok::Word(w) => CmpOp::from_keyword(w),
            _ => None,
        };
        match (op, left) {
            (Some(op), left) => {
                self.advance();
                let right = self.operand()?;
                Ok(Expr::Compare { left, op, right })
            }
            (None, Operand::Literal(Value::Bool(b))) => Ok(Expr::Const(b)),
            (None, _) => {
                let next = self.peek();
                let found = match next.tok {
                    Tok::End => "the end of the filter".to_owned(),
                    _ => format!("'{}'", next.text),
                };
                Err(syntax(
                    next.column,
                    format!(
                        "expected a comparison operator (eq, ne, gt, ge, lt, le) after '{left_text}', found {found}"
                    ),
                ))
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let after = match self.previous_text() {
            Some(text) => format!(" after '{text}'"),
            None => String::new(),
        };
        let token = self.peek().clone();
        let expected = |found: &str| {
            syntax(
                token.column,
                format!("expected a value{after}, found {found}"),
            )
        };
        let operand = match token.tok {
            Tok::Word(word) => match word.as_str() {
                "true" => Operand::Literal(Value::Bool(true)),
                "false" => Operand::Literal(Value::Bool(false)),
                "null" => {
                    return Err(syntax(
                        token.column,
                        "null is not supported in table filters: a missing property never matches",
                    ));
                }
                w if is_reserved(w) => return Err(expected(&format!("'{w}'"))),
                _ => Operand::Property(word),
            },
            Tok::Param(name) => Operand::Param(name),
            Tok::Lit(value) => Operand::Literal(value),
            Tok::End => {
                return Err(syntax(token.column, format!("expected a value{after}")));
            }
            Tok::LParen | Tok::RParen => return Err(expected(&format!("'{}'", token.text))),
        };
        self.advance();
        Ok(operand)
    }
}

fn collapse(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        if let Some(only) = items.pop() {
            return only;
        }
    }
    make(items)
}
