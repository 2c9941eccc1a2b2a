//! Enhanced GRE headers and the receiver's sequencing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::gre::{Header, Received, Receiver, Shared};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let mut rx = Receiver::new(0x1234, Arc::new(Shared::default()));
    for (i, pkt) in data.split(|b| *b == 0xA5).enumerate() {
        if let Ok((h, payload)) = Header::decode(pkt) {
            assert_eq!(payload.len(), h.payload_len as usize);
            // Commit every other accepted packet, as if half decrypted genuinely.
            if matches!(rx.receive(&h, payload), Received::Payload(_)) && i % 2 == 0 {
                rx.commit(i as u64);
            } else {
                rx.reject();
            }
        }
    }
});
