//! The macros' error messages, checked with trybuild.

#[test]
fn error_messages() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
