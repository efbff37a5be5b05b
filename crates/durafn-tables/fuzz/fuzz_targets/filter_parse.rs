//! Feeds arbitrary UTF-8 to the `$filter` parser. It must never panic, and
//! whatever it accepts must print to canonical text that parses back to the
//! same tree (and prints the same again).

#![no_main]

use durafn_tables::filter::Filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = Filter::parse(text) else {
        return;
    };
    let printed = filter.to_string();
    let again = match Filter::parse(&printed) {
        Ok(again) => again,
        Err(e) => panic!("{printed:?}, printed from {text:?}, does not parse: {e}"),
    };
    assert_eq!(again, filter, "the tree changed through {printed:?}");
    assert_eq!(again.to_string(), printed, "printing is not canonical");
});
