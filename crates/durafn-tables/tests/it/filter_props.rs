//! Property tests of the filter language: printing then parsing any tree
//! gives the same tree, the parser survives any input, and the partition key
//! range a store pushes down never excludes a match.

use chrono::{DateTime, TimeZone, Utc};
use durafn_tables::entity::{Entity, Value};
use durafn_tables::eval;
use durafn_tables::filter::{
    BoundFilter, CmpOp, Expr, Filter, Operand, Params, is_valid_property_name,
};
use proptest::prelude::*;

fn property_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,12}",
        Just("PartitionKey".to_owned()),
        Just("RowKey".to_owned()),
        Just("Größe".to_owned()),
    ]
    .prop_filter("not a reserved word", |n| is_valid_property_name(n))
}

fn datetime() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 0000–9999, any nanosecond (but no leap second).
    (-62_167_219_200_i64..253_402_300_799, 0_u32..1_000_000_000).prop_map(|(secs, nanos)| {
        Utc.timestamp_opt(secs, nanos)
            .single()
            .expect("in chrono's range")
    })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        "[a-z' ]{0,6}".prop_map(Value::String),
        any::<i32>().prop_map(Value::Int32),
        any::<i64>().prop_map(Value::Int64),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Value::Double),
        any::<bool>().prop_map(Value::Bool),
        datetime().prop_map(Value::DateTime),
        any::<u128>().prop_map(|v| Value::Guid(uuid::Uuid::from_u128(v))),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::Binary),
    ]
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        3 => property_name().prop_map(Operand::Property),
        3 => value().prop_map(Operand::Literal),
        1 => "[A-Za-z0-9_]{1,8}".prop_map(Operand::Param),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    proptest::sample::select(CmpOp::ALL.to_vec())
}

/// Trees of the shape the parser produces: chains of two or more.
fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        4 => (operand(), op(), operand()).prop_map(|(l, op, r)| Expr::compare(l, op, r)),
        1 => any::<bool>().prop_map(Expr::Const),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..5).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 2..5).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Text built from the language's own pieces, to reach deep parser paths
/// that random characters rarely do.
fn token_soup() -> impl Strategy<Value = String> {
    let token = proptest::sample::select(vec![
        "(",
        ")",
        "and",
        "or",
        "not",
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "true",
        "false",
        "null",
        "'",
        "''",
        "'x'",
        "A",
        "PartitionKey",
        "@p",
        "@",
        "1",
        "-1",
        "1L",
        "1.5",
        "1e5",
        "-",
        "datetime'2021-10-10T00:00:00Z'",
        "datetime'",
        "guid'",
        "X'0a'",
        "X'",
        " ",
        "  ",
        "\t",
        "1.",
        "1e",
        "é",
        "🦀",
    ]);
    proptest::collection::vec(token, 0..40).prop_map(|parts| parts.join(" "))
}

/// Whatever the parser accepts must print to text that parses back equal.
fn check_reprint(text: &str) -> Result<(), TestCaseError> {
    if let Ok(filter) = Filter::parse(text) {
        let printed = filter.to_string();
        let again = Filter::parse(&printed)
            .map_err(|e| TestCaseError::fail(format!("{printed:?} does not reparse: {e}")))?;
        prop_assert_eq!(again, filter, "via {:?}", printed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_is_identity(tree in expr()) {
        let filter = Filter::new(tree);
        let printed = filter.to_string();
        let parsed = Filter::parse(&printed)
            .map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(parsed, filter, "printed as {:?}", printed);
    }

    #[test]
    fn parser_survives_any_string(text in any::<String>()) {
        check_reprint(&text)?;
    }

    #[test]
    fn parser_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_reprint(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn parser_survives_token_soup(text in token_soup()) {
        check_reprint(&text)?;
    }

    #[test]
    fn binding_replaces_every_parameter(tree in expr(), values in proptest::collection::vec(value(), 1..4)) {
        let filter = Filter::new(tree);
        let mut params = Params::new();
        for (i, name) in filter.params().iter().enumerate() {
            params.insert((*name).to_owned(), values[i % values.len()].clone());
        }
        let bound = filter.bind(&params).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let reparsed = Filter::parse(&bound.to_string())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(reparsed.params().is_empty());
    }
}

fn key() -> impl Strategy<Value = String> {
    "[a-d]{0,3}"
}

fn key_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (op(), key()).prop_map(|(op, k)| Expr::prop("PartitionKey", op, k)),
        (key(), op()).prop_map(|(k, op)| Expr::compare(
            Operand::Literal(Value::String(k)),
            op,
            Operand::Property("PartitionKey".into())
        )),
        (op(), key()).prop_map(|(op, k)| Expr::prop("Other", op, k)),
        any::<bool>().prop_map(Expr::Const),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            3 => proptest::collection::vec(inner.clone(), 2..5).prop_map(Expr::And),
            1 => proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            1 => inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn pushed_down_range_keeps_every_match(tree in key_expr(), pk in key(), other in key()) {
        let filter = Filter::new(tree).into_bound().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let entity = Entity::new(pk.clone(), "r").with("Other", other);
        if eval::matches(&filter, &entity) {
            prop_assert!(filter.partition_key_range().contains(&pk), "{} matches {pk:?}", filter);
        }
    }

    #[test]
    fn printing_preserves_meaning(tree in key_expr(), pk in key(), other in key()) {
        let filter: BoundFilter = Filter::new(tree).into_bound().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let reparsed = BoundFilter::parse(&filter.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let entity = Entity::new(pk, "r").with("Other", other);
        prop_assert_eq!(eval::matches(&filter, &entity), eval::matches(&reparsed, &entity));
    }
}
