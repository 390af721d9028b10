//! CPIM payloads (RFC 3862) and is-composing documents (RFC 3994) from a
//! peer: parsing never panics, and what parses encodes to something that
//! parses back to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple_core::msrp::cpim::CpimMessage;
use sipsimple_core::msrp::iscomposing::IsComposing;

fn check_cpim(data: &[u8]) {
    let Ok(message) = CpimMessage::parse(data) else { return };
    if let Some(timestamp) = &message.timestamp {
        let _ = timestamp.to_system_time();
    }
    if let Some(subject) = &message.subject {
        let _ = subject.text();
        let _ = subject.translation("en");
    }
    let _ = message.content_type_header();
    let Ok(encoded) = message.encode() else { return };
    let again = CpimMessage::parse(&encoded).expect("an encoded CPIM message parses");
    assert_eq!(again, message, "the CPIM message changed in a round trip");
    if message.content_type == "application/im-iscomposing+xml" {
        check_is_composing(&message.content);
    }
}

fn check_is_composing(data: &[u8]) {
    let Ok(indication) = IsComposing::parse(data) else { return };
    if let Some(timestamp) = &indication.last_active {
        let _ = timestamp.to_system_time();
    }
    let Ok(encoded) = indication.encode() else { return };
    let again = IsComposing::parse(&encoded).expect("an encoded is-composing document parses");
    assert_eq!(again, indication, "the is-composing document changed in a round trip");
}

fuzz_target!(|data: &[u8]| {
    check_cpim(data);
    check_is_composing(data);
});
