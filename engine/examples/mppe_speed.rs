//! How fast MPPE encrypts and decrypts, per packet size and mode, on this
//! machine: the cipher's share of the data path, measured without sockets.
//!
//! cargo run --release -p pptp-engine --example mppe_speed

use std::time::Instant;

use pptp_engine::mppe::{Decryptor, Encryptor, MppeParams, StartKey, Strength};

fn main() {
    let start = StartKey::new([0x5a; 16]);
    for stateful in [false, true] {
        for size in [64usize, 1400] {
            let params = MppeParams {
                strength: Strength::Bits128,
                stateful,
            };
            let mut enc = Encryptor::new(&start, params);
            let mut dec = Decryptor::new(&start, params);
            let packets = (200_000_000 / (size + 200)).max(10_000);
            let mut pkt = vec![0u8; size + 2];
            let mut best = f64::MAX;
            let mut worst = 0f64;
            let t0 = Instant::now();
            for _ in 0..packets {
                let t = Instant::now();
                pkt[2..4].copy_from_slice(&[0x00, 0x21]);
                let h = enc.encrypt(&mut pkt[2..]);
                pkt[..2].copy_from_slice(&h);
                dec.decrypt(&mut pkt).expect("round trip");
                let ns = t.elapsed().as_nanos() as f64;
                best = best.min(ns);
                worst = worst.max(ns);
            }
            let secs = t0.elapsed().as_secs_f64();
            let mode = if stateful { "stateful" } else { "stateless" };
            println!(
                "MPPE-128 {mode:9} {size:5}-byte packets: encrypt+decrypt {:7.0} MB/s, {:6.0} ns per packet (best {best:.0}, worst {worst:.0})",
                (packets * size) as f64 / secs / 1e6,
                secs * 1e9 / packets as f64,
            );
        }
    }
}
