//! Every system failure is documented once, in `docs/errors.md`, under its code and name.

use durafn_core::SystemFailure;

#[test]
fn the_errors_document_lists_every_code_once() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
    let doc = std::fs::read_to_string(path).expect("docs/errors.md is readable");
    for kind in SystemFailure::ALL {
        let row = format!("| {} | `{}` |", kind.code(), kind.error_type());
        assert_eq!(
            doc.matches(&row).count(),
            1,
            "docs/errors.md must have exactly one row starting {row:?}"
        );
    }
    let rows = doc.lines().filter(|l| l.starts_with("| DF")).count();
    assert_eq!(
        rows,
        SystemFailure::ALL.len(),
        "no row for a code that does not exist"
    );
}
