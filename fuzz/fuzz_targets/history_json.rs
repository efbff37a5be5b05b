//! The history JSON decoder (`durafn_core`'s wire format): the task hubs store histories as JSON
//! and the management API and the replay tester read histories exported by users, so the decoder
//! meets bytes nobody checked. It must never panic, and whatever it accepts must encode and
//! decode back to the same events (a stored history reads back as it was written).
#![no_main]

use durafn_core::HistoryEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A stored history is an array of events; rows of one event each are decoded too.
    if let Ok(events) = serde_json::from_slice::<Vec<HistoryEvent>>(data) {
        let text = serde_json::to_string(&events).expect("a decoded history encodes");
        let again: Vec<HistoryEvent> =
            serde_json::from_str(&text).expect("an encoded history decodes");
        assert_eq!(
            events, again,
            "the history changed on its way through JSON: {text}"
        );
    }
    if let Ok(event) = serde_json::from_slice::<HistoryEvent>(data) {
        let text = serde_json::to_string(&event).expect("a decoded event encodes");
        let again: HistoryEvent = serde_json::from_str(&text).expect("an encoded event decodes");
        assert_eq!(
            event, again,
            "the event changed on its way through JSON: {text}"
        );
    }
});
