use std::ops::Bound;

use chrono::{DateTime, Utc};

use super::*;

fn parse(text: &str) -> Expr {
    match Filter::parse(text) {
        Ok(f) => f.expr,
        Err(e) => panic!("{text:?} should parse: {e}"),
    }
}

fn parse_err(text: &str) -> ParseError {
    match Filter::parse(text) {
        Ok(f) => panic!("{text:?} should not parse, got {f:?}"),
        Err(e) => e,
    }
}

fn prop(name: &str) -> Operand {
    Operand::Property(name.to_owned())
}

fn lit(value: impl Into<Value>) -> Operand {
    Operand::Literal(value.into())
}

fn cmp(l: Operand, op: CmpOp, r: Operand) -> Expr {
    Expr::compare(l, op, r)
}

fn a_eq(v: i32) -> Expr {
    Expr::prop("A", CmpOp::Eq, v)
}

/// Parses, prints, and checks both the printed text and that it parses
/// back to the same tree.
fn round_trip(text: &str, canonical: &str) {
    let filter = Filter::parse(text).expect("parses");
    let printed = filter.to_string();
    assert_eq!(printed, canonical, "printing {text:?}");
    assert_eq!(Filter::parse(&printed).expect("reparses"), filter);
}

#[test]
fn every_comparison_operator() {
    for op in CmpOp::ALL {
        let text = format!("Age {} 5", op.keyword());
        assert_eq!(parse(&text), cmp(prop("Age"), op, lit(5)));
        round_trip(&text, &text);
    }
}

#[test]
fn every_literal_kind() {
    let when: DateTime<Utc> = "2021-10-10T00:00:00Z".parse().expect("valid");
    let guid = uuid::Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").expect("valid");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("'abc'", "abc".into(), "'abc'"),
        ("''", "".into(), "''"),
        ("'it''s'", "it's".into(), "'it''s'"),
        ("''''", "'".into(), "''''"),
        ("'é 漢字 🦀'", "é 漢字 🦀".into(), "'é 漢字 🦀'"),
        ("42", 42.into(), "42"),
        ("-42", (-42).into(), "-42"),
        ("2147483647", i32::MAX.into(), "2147483647"),
        ("-2147483648", i32::MIN.into(), "-2147483648"),
        ("42L", 42_i64.into(), "42L"),
        ("42l", 42_i64.into(), "42L"),
        (
            "-9223372036854775808L",
            i64::MIN.into(),
            "-9223372036854775808L",
        ),
        ("1.5", 1.5.into(), "1.5"),
        ("-0.25", (-0.25).into(), "-0.25"),
        ("2.0", 2.0.into(), "2.0"),
        ("1e3", 1000.0.into(), "1000.0"),
        ("2.5E-3", 0.0025.into(), "0.0025"),
        ("1e300", 1e300.into(), "1e300"),
        ("true", true.into(), "true"),
        ("false", false.into(), "false"),
        (
            "datetime'2021-10-10T00:00:00Z'",
            when.into(),
            "datetime'2021-10-10T00:00:00Z'",
        ),
        (
            "datetime'2021-10-10T02:00:00+02:00'",
            when.into(),
            "datetime'2021-10-10T00:00:00Z'",
        ),
        (
            "datetime'2021-10-10T00:00:00'",
            when.into(),
            "datetime'2021-10-10T00:00:00Z'",
        ),
        (
            "datetime'2021-10-10T00:00:00.1234567Z'",
            Value::DateTime("2021-10-10T00:00:00.1234567Z".parse().expect("valid")),
            "datetime'2021-10-10T00:00:00.123456700Z'",
        ),
        (
            "guid'0F8FAD5B-D9CB-469F-A165-70867728950E'",
            guid.into(),
            "guid'0f8fad5b-d9cb-469f-a165-70867728950e'",
        ),
        ("X'0aFF'", vec![0x0a_u8, 0xff].into(), "X'0aff'"),
        ("binary'00'", vec![0_u8].into(), "X'00'"),
        ("X''", Vec::<u8>::new().into(), "X''"),
    ];
    for (text, value, printed) in cases {
        let filter = format!("P eq {text}");
        assert_eq!(
            parse(&filter),
            cmp(prop("P"), CmpOp::Eq, lit(value)),
            "{text}"
        );
        round_trip(&filter, &format!("P eq {printed}"));
    }
}

#[test]
fn parameters_and_properties() {
    assert_eq!(
        parse("PartitionKey ge @start"),
        cmp(
            prop("PartitionKey"),
            CmpOp::Ge,
            Operand::Param("start".into())
        )
    );
    assert_eq!(
        parse("_x1 eq @p_2"),
        cmp(prop("_x1"), CmpOp::Eq, Operand::Param("p_2".into()))
    );
    assert_eq!(parse("Größe gt 1"), cmp(prop("Größe"), CmpOp::Gt, lit(1)));
    assert_eq!(parse("'a' lt Name"), cmp(lit("a"), CmpOp::Lt, prop("Name")));
    // Prefixes are only literal prefixes when a quote follows.
    assert_eq!(
        parse("datetime eq 1"),
        cmp(prop("datetime"), CmpOp::Eq, lit(1))
    );
    assert_eq!(parse("X eq 1"), cmp(prop("X"), CmpOp::Eq, lit(1)));
}

#[test]
fn precedence_not_over_and_over_or() {
    assert_eq!(
        parse("A eq 1 or A eq 2 and A eq 3"),
        Expr::Or(vec![a_eq(1), Expr::And(vec![a_eq(2), a_eq(3)])])
    );
    assert_eq!(
        parse("A eq 1 and A eq 2 or A eq 3"),
        Expr::Or(vec![Expr::And(vec![a_eq(1), a_eq(2)]), a_eq(3)])
    );
    assert_eq!(
        parse("not A eq 1 and A eq 2"),
        Expr::And(vec![Expr::Not(Box::new(a_eq(1))), a_eq(2)])
    );
    assert_eq!(
        parse("not (A eq 1 or A eq 2)"),
        Expr::Not(Box::new(Expr::Or(vec![a_eq(1), a_eq(2)])))
    );
    assert_eq!(
        parse("not not A eq 1"),
        Expr::Not(Box::new(Expr::Not(Box::new(a_eq(1)))))
    );
    assert_eq!(
        parse("(A eq 1 or A eq 2) and A eq 3"),
        Expr::And(vec![Expr::Or(vec![a_eq(1), a_eq(2)]), a_eq(3)])
    );
    assert_eq!(
        parse("A eq 1 and A eq 2 and A eq 3 and A eq 4"),
        Expr::And(vec![a_eq(1), a_eq(2), a_eq(3), a_eq(4)])
    );
    assert_eq!(
        parse("(A eq 1 and A eq 2) and A eq 3"),
        Expr::And(vec![Expr::And(vec![a_eq(1), a_eq(2)]), a_eq(3)])
    );
    assert_eq!(parse("((((A eq 1))))"), a_eq(1));
    assert_eq!(parse("true"), Expr::Const(true));
    assert_eq!(
        parse("not false or true eq Flag"),
        Expr::Or(vec![
            Expr::Not(Box::new(Expr::Const(false))),
            cmp(lit(true), CmpOp::Eq, prop("Flag"))
        ])
    );
}

#[test]
fn whitespace_is_free() {
    assert_eq!(parse("  A  eq\t1\n"), a_eq(1));
    assert_eq!(
        parse("(A eq 1)and(A eq 2)"),
        Expr::And(vec![a_eq(1), a_eq(2)])
    );
    assert_eq!(parse("A eq'x'"), Expr::prop("A", CmpOp::Eq, "x"));
}

#[test]
fn canonical_printing() {
    round_trip(
        "PartitionKey ge @start and PartitionKey le @end and CertNumber ne ''",
        "PartitionKey ge @start and PartitionKey le @end and CertNumber ne ''",
    );
    round_trip(
        "(A eq 1 or A eq 2) and (A eq 3 and A eq 4)",
        "(A eq 1 or A eq 2) and (A eq 3 and A eq 4)",
    );
    round_trip(
        "((A eq 1) or (A eq 2 and A eq 3))",
        "A eq 1 or A eq 2 and A eq 3",
    );
    round_trip(
        "A eq 1 or (A eq 2 or A eq 3)",
        "A eq 1 or (A eq 2 or A eq 3)",
    );
    round_trip("not A eq 1", "not (A eq 1)");
    round_trip("not not true", "not not true");
    round_trip("not(A eq 1 and A eq 2)", "not (A eq 1 and A eq 2)");
}

#[test]
fn degenerate_trees_print_as_their_meaning() {
    let single_or_in_and = Expr::And(vec![
        Expr::And(vec![Expr::Or(vec![a_eq(1), a_eq(2)])]),
        a_eq(3),
    ]);
    let printed = Filter::new(single_or_in_and).to_string();
    assert_eq!(printed, "(A eq 1 or A eq 2) and A eq 3");
    assert_eq!(Filter::new(Expr::And(vec![])).to_string(), "true");
    assert_eq!(Filter::new(Expr::Or(vec![])).to_string(), "false");
}

#[test]
fn error_positions_and_messages() {
    let e = parse_err("PartitionKey ge ");
    assert_eq!(e.to_string(), "expected a value after 'ge' at column 17");
    assert_eq!(e.column(), 17);

    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "expected a condition"),
        ("A eq", 5, "expected a value after 'eq'"),
        ("A eq and", 6, "expected a value after 'eq', found 'and'"),
        ("A", 2, "expected a comparison operator"),
        ("A equals 1", 3, "expected a comparison operator"),
        ("A eq 1 B eq 2", 8, "expected 'and', 'or' or the end"),
        ("A eq 1)", 7, "unmatched ')'"),
        ("(A eq 1", 8, "expected ')' to close the '(' at column 1"),
        ("(A eq 1 B", 9, "expected 'and', 'or' or ')'"),
        ("A eq 'abc", 6, "unterminated quoted literal"),
        ("A eq 'it''s", 6, "unterminated quoted literal"),
        ("A eq 1 and", 11, "expected a value after 'and'"),
        ("A eq 1 or not", 14, "expected a value after 'not'"),
        (
            "A eq 3000000000",
            6,
            "out of range for Edm.Int32; write 3000000000L",
        ),
        (
            "A eq 99999999999999999999L",
            6,
            "out of range for Edm.Int64",
        ),
        ("A eq 1e999", 6, "out of range for Edm.Double"),
        ("A eq 1.", 8, "expected digits after the decimal point"),
        ("A eq 1e", 8, "expected digits in the exponent"),
        (
            "A eq 12abc",
            8,
            "unexpected character 'a' after the number 12",
        ),
        ("A eq 1.5L", 9, "unexpected character 'L'"),
        ("A eq @", 6, "expected a parameter name after '@'"),
        ("A eq #", 6, "unexpected character '#'"),
        ("A eq null", 6, "null is not supported"),
        (
            "A eq datetime'yesterday'",
            6,
            "invalid datetime literal 'yesterday'",
        ),
        (
            "A eq datetime'21-1-10T0:0:0'",
            6,
            "invalid datetime literal",
        ),
        (
            "A eq datetime'2021-10-10T00:00: 0'",
            6,
            "invalid datetime literal",
        ),
        (
            "A eq datetime'2021-10-10T00:00'",
            6,
            "invalid datetime literal",
        ),
        (
            "A eq datetime'2015-06-30T23:59:60Z'",
            6,
            "invalid datetime literal",
        ),
        (
            "A eq datetime'+10000-01-01T00:00:00'",
            6,
            "invalid datetime literal",
        ),
        ("A eq guid'nope'", 6, "invalid guid literal 'nope'"),
        ("A eq X'abc'", 6, "invalid binary literal"),
        ("A eq X'zz'", 6, "invalid binary literal"),
        (
            "A eq time'x'",
            10,
            "expected 'and', 'or' or the end of the filter before ''x''",
        ),
        (
            "time'x' eq A",
            5,
            "expected a comparison operator (eq, ne, gt, ge, lt, le) after 'time', found ''x''",
        ),
        ("eq eq 1", 1, "expected a value, found 'eq'"),
        ("A eq 1 and ()", 13, "expected a value after '(', found ')'"),
        ("- 1 eq A", 1, "unexpected character '-'"),
        ("A Eq 1", 3, "expected a comparison operator"),
        ("A eq 1 AND A eq 2", 8, "expected 'and', 'or'"),
    ];
    for (text, column, message) in cases {
        let e = parse_err(text);
        assert_eq!(e.column(), *column, "column for {text:?}: {e}");
        assert!(e.to_string().contains(message), "message for {text:?}: {e}");
        assert!(
            e.to_string().ends_with(&format!("at column {column}")),
            "{e}"
        );
    }
}

#[test]
fn columns_count_characters_not_bytes() {
    let e = parse_err("Größe eq");
    assert_eq!(e.column(), 9);
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}A eq 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(parse(&ok), a_eq(1));
    let deep = format!(
        "{}A eq 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let e = parse_err(&deep);
    assert!(
        matches!(
            e,
            ParseError::TooDeep {
                column: 101,
                max: 100
            }
        ),
        "{e:?}"
    );
    let nots = format!("{}A eq 1", "not ".repeat(MAX_DEPTH + 1));
    assert!(matches!(parse_err(&nots), ParseError::TooDeep { .. }));
    // Far past the limit (where recursion without a bound would overflow
    // the stack) it is still a plain error.
    assert!(matches!(
        parse_err(&"(".repeat(1_000_000)),
        ParseError::TooDeep { .. }
    ));
    assert!(matches!(
        parse_err(&"not ".repeat(200_000)),
        ParseError::TooDeep { .. }
    ));
    // Long flat chains are fine: they do not nest.
    let chain = vec!["A eq 1"; 10_000].join(" and ");
    match parse(&chain) {
        Expr::And(items) => assert_eq!(items.len(), 10_000),
        other => panic!("expected a flat and, got {other:?}"),
    }
}

#[test]
fn binding_parameters() {
    let filter = Filter::parse("PartitionKey ge @start and PartitionKey le @end and X ne @start")
        .expect("parses");
    assert_eq!(filter.params(), ["start", "end"]);

    let mut params = Params::new();
    params.insert("start".into(), "2024-01-01".into());
    let err = filter.bind(&params).expect_err("end is missing");
    assert_eq!(
        err,
        BindError::Unbound {
            names: vec!["end".into()]
        }
    );
    assert_eq!(err.to_string(), "no value for parameter @end");
    let err = filter.bind(&Params::new()).expect_err("both missing");
    assert_eq!(err.to_string(), "no value for parameter @start, @end");

    params.insert("end".into(), "2024-01-31".into());
    params.insert("unused".into(), 1.into());
    let bound = filter.bind(&params).expect("binds");
    assert_eq!(
        bound.to_string(),
        "PartitionKey ge '2024-01-01' and PartitionKey le '2024-01-31' and X ne '2024-01-01'"
    );
    assert!(
        Filter::parse("A eq @x")
            .expect("parses")
            .into_bound()
            .is_err()
    );
    assert!(matches!(
        BoundFilter::parse("A eq @x"),
        Err(FilterError::Bind(BindError::Unbound { .. }))
    ));
    assert!(matches!(
        BoundFilter::parse("A eq"),
        Err(FilterError::Parse(_))
    ));
}

#[test]
fn bound_values_print_as_literals_of_their_type() {
    let filter = Filter::parse("A eq @v").expect("parses");
    let when: DateTime<Utc> = "2024-02-29T12:00:00Z".parse().expect("valid");
    let cases: Vec<(Value, &str)> = vec![
        ("o'k".into(), "A eq 'o''k'"),
        (7.into(), "A eq 7"),
        (7_i64.into(), "A eq 7L"),
        (7.0.into(), "A eq 7.0"),
        (false.into(), "A eq false"),
        (when.into(), "A eq datetime'2024-02-29T12:00:00Z'"),
    ];
    for (value, printed) in cases {
        let mut params = Params::new();
        params.insert("v".into(), value);
        assert_eq!(filter.bind(&params).expect("binds").to_string(), printed);
    }
}

#[test]
fn partition_key_ranges() {
    let range = |text: &str| {
        BoundFilter::parse(text)
            .expect("parses")
            .partition_key_range()
    };
    let inc = |s: &str| Bound::Included(s.to_owned());
    let exc = |s: &str| Bound::Excluded(s.to_owned());

    let r = range("PartitionKey ge 'a' and PartitionKey le 'm' and X eq 1");
    assert_eq!((r.lower, r.upper), (inc("a"), inc("m")));
    let r = range("PartitionKey gt 'a' and PartitionKey lt 'm'");
    assert_eq!((r.lower, r.upper), (exc("a"), exc("m")));
    let r = range("'m' ge PartitionKey and 'a' lt PartitionKey");
    assert_eq!((r.lower, r.upper), (exc("a"), inc("m")));
    let r = range("PartitionKey eq 'k'");
    assert_eq!((r.lower, r.upper), (inc("k"), inc("k")));
    // The tightest bound wins, whatever the order.
    let r = range(
        "PartitionKey ge 'c' and PartitionKey gt 'a' and PartitionKey le 'z' and PartitionKey lt 'q'",
    );
    assert_eq!((r.lower, r.upper), (inc("c"), exc("q")));
    let r = range("PartitionKey ge 'c' and PartitionKey gt 'c'");
    assert_eq!(r.lower, exc("c"));
    // Nothing to push down.
    for text in [
        "PartitionKey ge 'a' or X eq 1",
        "not (PartitionKey ge 'a')",
        "PartitionKey ne 'a'",
        "PartitionKey ge 1",
        "RowKey ge 'a'",
    ] {
        assert_eq!(range(text), KeyRange::default(), "{text}");
    }
    let r = range("PartitionKey ge 'b' and PartitionKey le 'd'");
    assert!(r.contains("b") && r.contains("c") && r.contains("d"));
    assert!(!r.contains("a") && !r.contains("e") && !r.contains("d0"));
}
