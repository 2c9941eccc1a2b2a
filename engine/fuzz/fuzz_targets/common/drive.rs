//! Feeding a client session what a fuzzer wrote: chunks split at 0xA5, the
//! first byte of each saying what it is (TCP data, a GRE packet, a time jump,
//! an IP packet to send, or a close).
use pptp_engine::session::ClientSession;
use std::time::{Duration, Instant};

pub fn drive(s: &mut ClientSession, data: &[u8], mut now: Instant) {
    let mut out = [0u8; 2048];
    for chunk in data.split(|b| *b == 0xA5) {
        match chunk.first() {
            Some(0) => s.handle_tcp_data(now, &chunk[1..]),
            Some(1) => {
                let mut p = chunk[1..].to_vec();
                let _ = s.handle_gre(now, &mut p);
            }
            Some(2) => {
                now += Duration::from_millis(chunk.get(1).copied().unwrap_or(0) as u64 * 100);
                s.handle_timeout(now);
            }
            Some(3) => {
                let _ = s.send_ip(now, &chunk[1..], &mut out);
            }
            _ => s.close(now),
        }
        while s.poll_tcp_transmit().is_some()
            || s.poll_gre_transmit().is_some()
            || s.poll_event().is_some()
            || s.poll_released_ip().is_some()
        {}
    }
}
