//! MPPE packets into both decryptor modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::mppe::{Decryptor, MppeParams, StartKey, Strength};

fuzz_target!(|data: &[u8]| {
    let key = StartKey::new([3; 16]);
    for (stateful, strength) in [(false, Strength::Bits128), (true, Strength::Bits40)] {
        let mut d = Decryptor::new(&key, MppeParams { strength, stateful });
        for (i, pkt) in data.split(|b| *b == 0xA5).enumerate() {
            let now = i as u64 * 100_000;
            let tried = d.would_open(pkt, |b| b.len() > 3, now);
            let mut p = pkt.to_vec();
            let opened = d.decrypt_checked(&mut p, |b| b.len() > 3, now);
            if let Ok((_, r)) = &opened {
                assert!(r.end <= p.len());
            }
            // A trial commits nothing and agrees with the real thing (stateless).
            if !stateful && tried {
                assert!(opened.is_ok());
            }
        }
    }
});
