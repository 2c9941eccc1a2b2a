//! Enhanced GRE headers and the receiver's sequencing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::gre::{Call, Header, Proof, Received};

fuzz_target!(|data: &[u8]| {
    let mut rx = Call::new(0x1234, 0x4321, 64);
    for (i, pkt) in data.split(|b| *b == 0xA5).enumerate() {
        if let Ok((h, payload)) = Header::decode(pkt) {
            assert_eq!(payload.len(), h.payload_len as usize);
            // Accepted packets: some decrypted, some in clear, some refused.
            if matches!(rx.receive(&h, payload), Received::Payload(_)) {
                match i % 3 {
                    0 => rx.commit(i as u64, Proof::Decrypted),
                    1 => rx.commit(i as u64, Proof::Clear),
                    _ => rx.reject(),
                }
            }
            // Whatever came in, the window only moves through commit.
            if let Some(e) = rx.expected() {
                assert!(rx.stats.delivered > 0, "window {e} set without a commit");
            }
        }
    }
});
