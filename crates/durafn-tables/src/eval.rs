//! Evaluates a bound filter against an entity the way Azure Table Storage
//! does, so the embedded store returns what the service would.
//!
//! # Semantics
//!
//! The crate's agreement tests (`tests/azurite.rs`) run a list of filters
//! over mixed-type rows on the Azure Table Storage emulator and check that
//! it returns exactly the rows this evaluator selects; every rule below is
//! covered there except the one on mismatched types (see its note).
//!
//! * **Property lookup.** `PartitionKey` and `RowKey` are strings;
//!   `Timestamp` is a date-time, present once the entity has been written.
//!   Any other name is looked up in the entity's properties.
//! * **Missing property.** A comparison that involves a property the entity
//!   does not have is false, whatever the operator: `Missing ne 'x'` is
//!   false, just like `Missing eq 'x'`. The service never returns an entity
//!   on the strength of a property it lacks.
//! * **Two-valued logic.** `and`, `or` and `not` combine those plain
//!   booleans: `not (Missing eq 'x')` is true. (There is no third, "unknown"
//!   value.)
//! * **Strict types.** Both sides must have the same EDM type; otherwise the
//!   comparison is false, including `ne`. An `Edm.Int32` property never
//!   equals an `Int64` literal (`5L`) nor a `Double` one (`5.0`); a string
//!   never equals a number. Write the literal with the property's type.
//!   (This follows the service's typed comparisons. The emulator does not:
//!   it compares such values loosely, so `Name ne 5` matches every row
//!   there, and fails with HTTP 500 on `Int32Prop ne 3L`. The agreement
//!   tests therefore check mismatched types against these rules only.)
//! * **Ordering within a type.** Strings compare ordinally by their UTF-8
//!   bytes (case-sensitive, no culture rules; this equals UTF-16 code-unit
//!   order except between characters above U+FFFF and those in
//!   U+E000–U+FFFF). Integers and date-times compare numerically and
//!   chronologically, booleans as `false < true`, GUIDs by their 16 bytes
//!   in the canonical textual order (which is the order of their lower-case
//!   hyphenated text), binary values lexicographically by byte.
//! * **Doubles** follow IEEE 754: a NaN is unequal to everything, so
//!   `eq`, `gt`, `ge`, `lt`, `le` are false and `ne` true; `-0.0 eq 0.0`.
//! * **Literal against literal** (`1 eq 1`, `true`) is evaluated the same
//!   way: it does not depend on the entity.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::entity::{Entity, PARTITION_KEY, ROW_KEY, TIMESTAMP, Value};
use crate::filter::{BoundFilter, CmpOp, Expr, Operand};

/// Whether `entity` matches `filter`.
pub fn matches(filter: &BoundFilter, entity: &Entity) -> bool {
    eval_expr(filter.expr(), entity)
}

/// Whether `entity` matches a tree. Parameters never match: bind the
/// filter first ([`crate::filter::Filter::bind`]) — [`matches()`] makes that
/// a type error.
pub fn matches_expr(expr: &Expr, entity: &Entity) -> bool {
    eval_expr(expr, entity)
}

fn eval_expr(expr: &Expr, entity: &Entity) -> bool {
    match expr {
        Expr::Compare { left, op, right } => {
            match (resolve(left, entity), resolve(right, entity)) {
                (Some(l), Some(r)) => compare(&l, *op, &r),
                _ => false,
            }
        }
        Expr::And(items) => items.iter().all(|e| eval_expr(e, entity)),
        Expr::Or(items) => items.iter().any(|e| eval_expr(e, entity)),
        Expr::Not(inner) => !eval_expr(inner, entity),
        Expr::Const(b) => *b,
    }
}

/// A borrowed view of a value, so evaluating against millions of rows does
/// not clone the partition key for every comparison.
enum ValueRef<'a> {
    Str(&'a str),
    Int32(i32),
    Int64(i64),
    Double(f64),
    Bool(bool),
    DateTime(DateTime<Utc>),
    Guid(&'a uuid::Uuid),
    Binary(&'a [u8]),
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::String(s) => ValueRef::Str(s),
            Value::Int32(v) => ValueRef::Int32(*v),
            Value::Int64(v) => ValueRef::Int64(*v),
            Value::Double(v) => ValueRef::Double(*v),
            Value::Bool(v) => ValueRef::Bool(*v),
            Value::DateTime(v) => ValueRef::DateTime(*v),
            Value::Guid(v) => ValueRef::Guid(v),
            Value::Binary(v) => ValueRef::Binary(v),
        }
    }
}

fn resolve<'a>(operand: &'a Operand, entity: &'a Entity) -> Option<ValueRef<'a>> {
    match operand {
        Operand::Literal(v) => Some(v.into()),
        Operand::Property(name) => match name.as_str() {
            PARTITION_KEY => Some(ValueRef::Str(&entity.partition_key)),
            ROW_KEY => Some(ValueRef::Str(&entity.row_key)),
            TIMESTAMP => entity.timestamp.map(ValueRef::DateTime),
            _ => entity.properties.get(name).map(ValueRef::from),
        },
        Operand::Param(_) => None,
    }
}

fn compare(left: &ValueRef<'_>, op: CmpOp, right: &ValueRef<'_>) -> bool {
    let ordering: Option<Ordering> = match (left, right) {
        (ValueRef::Str(a), ValueRef::Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (ValueRef::Int32(a), ValueRef::Int32(b)) => Some(a.cmp(b)),
        (ValueRef::Int64(a), ValueRef::Int64(b)) => Some(a.cmp(b)),
        (ValueRef::Double(a), ValueRef::Double(b)) => {
            // IEEE: NaN is unordered, so only `ne` holds.
            match a.partial_cmp(b) {
                Some(o) => Some(o),
                None => return op == CmpOp::Ne,
            }
        }
        (ValueRef::Bool(a), ValueRef::Bool(b)) => Some(a.cmp(b)),
        (ValueRef::DateTime(a), ValueRef::DateTime(b)) => Some(a.cmp(b)),
        (ValueRef::Guid(a), ValueRef::Guid(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (ValueRef::Binary(a), ValueRef::Binary(b)) => Some(a.cmp(b)),
        _ => None,
    };
    let Some(ordering) = ordering else {
        // Different types: false for every operator, `ne` included.
        return false;
    };
    match op {
        CmpOp::Eq => ordering == Ordering::Equal,
        CmpOp::Ne => ordering != Ordering::Equal,
        CmpOp::Gt => ordering == Ordering::Greater,
        CmpOp::Ge => ordering != Ordering::Less,
        CmpOp::Lt => ordering == Ordering::Less,
        CmpOp::Le => ordering != Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Filter, Params};

    fn entity() -> Entity {
        Entity::new("2024-01-02", "r1")
            .with("Name", "Ann")
            .with("Empty", "")
            .with("Age", 42)
            .with("Big", 5_000_000_000_i64)
            .with("Ratio", 0.5)
            .with("Nan", f64::NAN)
            .with("Active", true)
            .with(
                "When",
                "2021-10-10T00:00:00Z"
                    .parse::<DateTime<Utc>>()
                    .expect("valid date"),
            )
            .with(
                "Id",
                uuid::Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").expect("valid guid"),
            )
            .with("Bytes", vec![1_u8, 2, 255])
    }

    fn check(text: &str) -> bool {
        let filter = BoundFilter::parse(text).expect("test filter parses");
        matches(&filter, &entity())
    }

    #[test]
    fn every_operator_on_every_type() {
        let cases: &[(&str, bool)] = &[
            ("Name eq 'Ann'", true),
            ("Name ne 'Ann'", false),
            ("Name gt 'Ab'", true),
            ("Name ge 'Ann'", true),
            ("Name lt 'Ann'", false),
            ("Name le 'Ann'", true),
            ("Name lt 'ann'", true), // ordinal: upper case sorts first
            ("Age eq 42", true),
            ("Age gt 41", true),
            ("Age lt 42", false),
            ("Age le 42", true),
            ("Age ge 43", false),
            ("Big eq 5000000000L", true),
            ("Big gt 4999999999L", true),
            ("Ratio eq 0.5", true),
            ("Ratio lt 0.75", true),
            ("Ratio ge 0.6", false),
            ("Active eq true", true),
            ("Active ne true", false),
            ("Active gt false", true),
            ("When eq datetime'2021-10-10T00:00:00Z'", true),
            ("When lt datetime'2021-10-10T00:00:01Z'", true),
            ("When gt datetime'2021-10-10T02:00:00+02:00'", false),
            ("Id eq guid'0F8FAD5B-D9CB-469F-A165-70867728950E'", true),
            ("Id gt guid'00000000-0000-0000-0000-000000000000'", true),
            ("Bytes eq X'0102ff'", true),
            ("Bytes lt X'0103'", true),
            ("Empty eq ''", true),
            ("Empty ne ''", false),
            (
                "PartitionKey ge '2024-01-01' and PartitionKey le '2024-01-31'",
                true,
            ),
            ("RowKey eq 'r1'", true),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), *expected, "{text}");
        }
    }

    #[test]
    fn missing_properties_never_match_but_not_inverts() {
        assert!(!check("Missing eq 'x'"));
        assert!(!check("Missing ne 'x'"));
        assert!(!check("Missing gt 0"));
        assert!(check("not (Missing eq 'x')"));
        assert!(check("not (Missing ne 'x')"));
        // Timestamp is missing until a store writes the entity.
        assert!(!check("Timestamp gt datetime'2000-01-01T00:00:00Z'"));
    }

    #[test]
    fn type_mismatches_are_false_even_for_ne() {
        assert!(!check("Age eq 42L"));
        assert!(!check("Age ne 42L"));
        assert!(!check("Age eq 42.0"));
        assert!(!check("Big eq 5000000000.0"));
        assert!(!check("Name ne 5"));
        assert!(!check("Active ne 'true'"));
        assert!(!check("Id eq '0f8fad5b-d9cb-469f-a165-70867728950e'"));
        assert!(!check("When ne '2021-10-10T00:00:00Z'"));
    }

    #[test]
    fn nan_is_unordered() {
        assert!(!check("Nan eq 0.0"));
        assert!(check("Nan ne 0.0"));
        assert!(!check("Nan lt 0.0"));
        assert!(!check("Nan ge 0.0"));
        assert!(check("-0.0 eq 0.0"));
    }

    #[test]
    fn boolean_connectives_and_constants() {
        assert!(check("Age eq 1 or Name eq 'Ann'"));
        assert!(!check("Age eq 1 and Name eq 'Ann'"));
        assert!(check("not Age eq 1"));
        assert!(check("true"));
        assert!(!check("false or not true"));
        assert!(check("'a' lt 'b'"));
        assert!(check("42 eq Age"));
        assert!(check("'Ann' eq Name"));
    }

    #[test]
    fn the_audit_query() {
        let filter =
            Filter::parse("PartitionKey ge @start and PartitionKey le @end and CertNumber ne ''")
                .expect("parses");
        let mut params = Params::new();
        params.insert("start".into(), "2024-01-01".into());
        params.insert("end".into(), "2024-01-31".into());
        let bound = filter.bind(&params).expect("binds");
        let with_cert = Entity::new("2024-01-15", "a").with("CertNumber", "C1");
        let empty_cert = Entity::new("2024-01-15", "b").with("CertNumber", "");
        let no_cert = Entity::new("2024-01-15", "c");
        let outside = Entity::new("2024-02-01", "d").with("CertNumber", "C1");
        assert!(matches(&bound, &with_cert));
        assert!(!matches(&bound, &empty_cert));
        assert!(!matches(&bound, &no_cert));
        assert!(!matches(&bound, &outside));
    }
}
