//! MPPE packets into both decryptor modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::mppe::{Decryptor, MppeParams, StartKey, Strength};

fuzz_target!(|data: &[u8]| {
    let key = StartKey::new([3; 16]);
    for (stateful, strength) in [(false, Strength::Bits128), (true, Strength::Bits40)] {
        let mut d = Decryptor::new(&key, MppeParams { strength, stateful });
        for pkt in data.split(|b| *b == 0xA5) {
            let mut p = pkt.to_vec();
            if let Ok((_, r)) = d.decrypt_checked(&mut p, |b| b.len() > 3, 0) {
                assert!(r.end <= p.len());
            }
        }
    }
});
