//! JSON text exactly as Python's `json.dumps` writes it with its defaults.
//!
//! The article's functions build every body with `json.dumps`, and clients
//! of the original see `{"error": "Empty start date."}`: a space after
//! each `,` and `:`, non-ASCII characters escaped as `\uXXXX`, floats in
//! Python's `repr`. Bodies here are written the same way so that the
//! responses are byte-for-byte those of the article.
//!
//! Objects keep the order their fields are given in ([`object`]); a
//! `serde_json::Value` object nested in a value is written in the order
//! its map iterates (sorted by key).

use std::fmt::Write as _;

use serde_json::Value;

/// `json.dumps(value)`.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// `json.dumps({k1: v1, k2: v2, ...})` with the keys in the given order.
pub fn object(fields: &[(&str, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(&mut out, key);
        out.push_str(": ");
        write_value(&mut out, value);
    }
    out.push('}');
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u), _) => {
                let _ = write!(out, "{u}");
            }
            (None, None, Some(f)) => out.push_str(&float_repr(f)),
            (None, None, None) => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A string with `ensure_ascii`: everything outside printable ASCII is
/// escaped, characters beyond the BMP as surrogate pairs.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that read back, in fixed
/// notation for decimal exponents from -4 to 15 and scientific otherwise
/// (`1e+16`, `1.5e-05`), and always with a `.0` when integral.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` gives the same shortest digits: `-1.5e-5`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let decpt = exp + 1;
    let n = i32::try_from(digits.len()).unwrap_or(1);
    if !(-4 < decpt && decpt <= 16) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    let body = if decpt <= 0 {
        let zeros = "0".repeat(usize::try_from(-decpt).unwrap_or(0));
        format!("0.{zeros}{digits}")
    } else if decpt >= n {
        let zeros = "0".repeat(usize::try_from(decpt - n).unwrap_or(0));
        format!("{digits}{zeros}.0")
    } else {
        let (int, frac) = digits.split_at(usize::try_from(decpt).unwrap_or(0));
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_articles_bodies() {
        assert_eq!(
            object(&[("error", json!("Empty start date."))]),
            r#"{"error": "Empty start date."}"#
        );
        assert_eq!(
            object(&[(
                "statusUri",
                json!("http://localhost:7071/api/status/433ebcfe85ec4012abe94dcda2aa6b00")
            )]),
            r#"{"statusUri": "http://localhost:7071/api/status/433ebcfe85ec4012abe94dcda2aa6b00"}"#
        );
        assert_eq!(
            object(&[
                ("id", json!("433ebcfe85ec4012abe94dcda2aa6b00")),
                ("status", json!("Running")),
                ("result", Value::Null),
            ]),
            r#"{"id": "433ebcfe85ec4012abe94dcda2aa6b00", "status": "Running", "result": null}"#
        );
        assert_eq!(
            object(&[("status", json!("Completed")), ("result", json!(119))]),
            r#"{"status": "Completed", "result": 119}"#
        );
    }

    #[test]
    fn nested_values_and_escapes() {
        assert_eq!(
            dumps(&json!({"a": [1, true, null, "x"], "b": {}})),
            r#"{"a": [1, true, null, "x"], "b": {}}"#
        );
        assert_eq!(dumps(&json!([])), "[]");
        assert_eq!(
            dumps(&json!("tab\t \"q\" \\ é \u{1F600} \u{7f} \u{1}")),
            r#""tab\t \"q\" \\ \u00e9 \ud83d\ude00 \u007f \u0001""#
        );
        assert_eq!(dumps(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(dumps(&json!(-5)), "-5");
    }

    #[test]
    fn floats_as_python_repr() {
        for (f, expected) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789.125, "123456789.125"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e20, "1.2345e+20"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(float_repr(f), expected, "{f}");
        }
    }
}
