//! `%Setting%` names in a schedule, resolved from app settings.

use crate::error::ScheduleError;

/// Replaces every `%Name%` in `expression` with the app setting `Name`, as
/// the Functions host resolves a whole string: `%` pairs are taken left to
/// right, a `%` without its closing `%` is an error, and so is a name
/// `lookup` does not know (an empty name, `%%`, included). The caller
/// decides where settings come from.
///
/// ```
/// let settings = |name: &str| (name == "ReportSchedule").then(|| "0 30 9 * * 1-5".to_owned());
/// assert_eq!(
///     durafn_schedule::resolve_settings("%ReportSchedule%", settings).unwrap(),
///     "0 30 9 * * 1-5"
/// );
/// ```
pub fn resolve_settings(
    expression: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ScheduleError> {
    let mut out = String::with_capacity(expression.len());
    let mut rest = expression;
    let mut offset = 0;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('%') else {
            return Err(ScheduleError::UnclosedSetting {
                expression: expression.to_owned(),
                position: offset + start,
            });
        };
        let name = &after[..len];
        let value = lookup(name).ok_or_else(|| ScheduleError::UnknownSetting {
            name: name.to_owned(),
        })?;
        out.push_str(&rest[..start]);
        out.push_str(&value);
        let consumed = start + 1 + len + 1;
        rest = &rest[consumed..];
        offset += consumed;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(name: &str) -> Option<String> {
        match name {
            "Minutes" => Some("*/5".to_owned()),
            "Hours" => Some("9-17".to_owned()),
            "Whole" => Some("0 0 * * * *".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn resolves_names_anywhere() {
        assert_eq!(
            resolve_settings("%Whole%", settings).expect("known"),
            "0 0 * * * *"
        );
        assert_eq!(
            resolve_settings("0 %Minutes% %Hours% * * *", settings).expect("known"),
            "0 */5 9-17 * * *"
        );
        assert_eq!(
            resolve_settings("0 */5 * * * *", settings).expect("none"),
            "0 */5 * * * *"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            resolve_settings("0 %Minutes * * * *", settings)
                .expect_err("unclosed")
                .to_string(),
            "the `%` at position 2 of `0 %Minutes * * * *` has no closing `%`"
        );
        assert_eq!(
            resolve_settings("%Minutes% %Nope%", settings).expect_err("unknown"),
            ScheduleError::UnknownSetting {
                name: "Nope".to_owned()
            }
        );
        assert!(resolve_settings("%%", settings).is_err());
        assert!(matches!(
            resolve_settings("%Minutes% %x", settings),
            Err(ScheduleError::UnclosedSetting { position: 10, .. })
        ));
    }
}
