//! Enhanced GRE headers and the receiver's sequencing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::gre::{Header, Receiver, Shared};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let mut rx = Receiver::new(0x1234, Arc::new(Shared::default()));
    for (i, pkt) in data.split(|b| *b == 0xA5).enumerate() {
        if let Ok((h, payload)) = Header::decode(pkt) {
            assert_eq!(payload.len(), h.payload_len as usize);
            let _ = rx.receive(&h, payload, i as u64);
        }
    }
});
