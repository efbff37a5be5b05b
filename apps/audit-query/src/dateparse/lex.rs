//! The tokenizer: splits a date string into words, numbers, single
//! separator characters and one `" "` token per whitespace character,
//! exactly as the reference parser's lexer does.
//!
//! Dots are the hard part: `4:30:21.447` has a decimal point, `Sep.20.2009`
//! and `10.10.2021` have separators. A run of letters, digits and dots is
//! read whole first, then split on every `.` and `,` when it holds letters,
//! more than one dot, or ends in a separator; otherwise it is one number.

/// What the current token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Letters.
    Alpha,
    /// Digits.
    Num,
    /// Letters, then a dot (and maybe more letters, digits and dots).
    AlphaDot,
    /// Digits, then a dot or decimal comma (and maybe more).
    NumDot,
}

/// Whether the character continues a word (the reference uses `isalpha`).
fn is_word(c: char) -> bool {
    c.is_alphabetic()
}

/// Whether the character continues a number. Only ASCII digits: other
/// scripts' digits are not supported (see the module docs).
fn is_num(c: char) -> bool {
    c.is_ascii_digit()
}

/// Whether the character is whitespace in the reference's sense
/// (`isspace`, which also counts the ASCII information separators).
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Splits `input` into tokens.
pub(super) fn split(input: &str) -> Vec<String> {
    // The reference skips NUL characters as it reads.
    let chars: Vec<char> = input.chars().filter(|&c| c != '\0').collect();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < chars.len() {
        let (token, rest, next) = next_token(&chars, pos);
        tokens.push(token);
        tokens.extend(rest);
        pos = next;
    }
    tokens
}

/// Reads one token starting at `pos` (which is in bounds). Returns the
/// token, the tokens a dotted run was split into after it, and where the
/// next token starts.
fn next_token(chars: &[char], mut pos: usize) -> (String, Vec<String>, usize) {
    let mut token = String::new();
    let mut state: Option<State> = None;
    let mut seen_letters = false;
    while let Some(&c) = chars.get(pos) {
        let Some(current) = state else {
            pos += 1;
            if is_word(c) {
                token.push(c);
                state = Some(State::Alpha);
                continue;
            }
            if is_num(c) {
                token.push(c);
                state = Some(State::Num);
                continue;
            }
            // Whitespace is one " " token per character; anything else is
            // a token of its own.
            token.push(if is_space(c) { ' ' } else { c });
            return (token, Vec::new(), pos);
        };
        let ends_with_dot = token.ends_with('.');
        let next_state = match current {
            State::Alpha => {
                seen_letters = true;
                if is_word(c) {
                    Some(State::Alpha)
                } else if c == '.' {
                    Some(State::AlphaDot)
                } else {
                    None
                }
            }
            State::Num => {
                if is_num(c) {
                    Some(State::Num)
                } else if c == '.' || (c == ',' && token.len() >= 2) {
                    Some(State::NumDot)
                } else {
                    None
                }
            }
            State::AlphaDot => {
                seen_letters = true;
                if c == '.' || is_word(c) {
                    Some(State::AlphaDot)
                } else if is_num(c) && ends_with_dot {
                    Some(State::NumDot)
                } else {
                    None
                }
            }
            State::NumDot => {
                if c == '.' || is_num(c) {
                    Some(State::NumDot)
                } else if is_word(c) && ends_with_dot {
                    Some(State::AlphaDot)
                } else {
                    None
                }
            }
        };
        match next_state {
            Some(next) => {
                token.push(c);
                state = Some(next);
                pos += 1;
            }
            None => break,
        }
    }
    let mut rest = Vec::new();
    let dotted = matches!(state, Some(State::AlphaDot | State::NumDot));
    if dotted && (seen_letters || token.matches('.').count() > 1 || token.ends_with(['.', ','])) {
        let mut parts = split_keeping_separators(&token).into_iter();
        token = parts.next().unwrap_or_default();
        rest.extend(parts.filter(|p| !p.is_empty()));
    }
    if state == Some(State::NumDot) && !token.contains('.') {
        // A decimal comma, as in `10:00:00,5`.
        token = token.replace(',', ".");
    }
    (token, rest, pos)
}

/// Splits on `.` and `,`, keeping each separator as a part of its own
/// (a regex split with a capturing group).
fn split_keeping_separators(token: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for c in token.chars() {
        if c == '.' || c == ',' {
            parts.push(c.to_string());
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::split;

    fn toks(s: &str) -> Vec<String> {
        split(s)
    }

    #[test]
    fn separators_and_spaces_are_tokens() {
        assert_eq!(toks("10/08/2021"), ["10", "/", "08", "/", "2021"]);
        assert_eq!(toks("2021-10-10"), ["2021", "-", "10", "-", "10"]);
        assert_eq!(toks("10  Oct"), ["10", " ", " ", "Oct"]);
        assert_eq!(toks("10\tOct"), ["10", " ", "Oct"]);
        assert!(toks("").is_empty());
    }

    #[test]
    fn dotted_runs() {
        assert_eq!(toks("10.10.2021"), ["10", ".", "10", ".", "2021"]);
        assert_eq!(toks("13:45:30.5"), ["13", ":", "45", ":", "30.5"]);
        assert_eq!(toks("Sep.20.2009"), ["Sep", ".", "20", ".", "2009"]);
        assert_eq!(toks("10."), ["10", "."]);
        assert_eq!(toks("a.m."), ["a", ".", "m", "."]);
    }

    #[test]
    fn decimal_comma() {
        assert_eq!(toks("30,5"), ["30.5"]);
        assert_eq!(toks("3,5"), ["3", ",", "5"]);
        assert_eq!(toks("10,10,2021"), ["10.10", ",", "2021"]);
    }

    #[test]
    fn words_and_numbers_split_at_boundaries() {
        assert_eq!(toks("2021T10"), ["2021", "T", "10"]);
        assert_eq!(toks("10th"), ["10", "th"]);
        assert_eq!(toks("13h45"), ["13", "h", "45"]);
        assert_eq!(toks("+02:00"), ["+", "02", ":", "00"]);
        assert_eq!(toks("a\0b"), ["ab"]);
    }
}
