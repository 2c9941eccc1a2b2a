//! A whole client session fed arbitrary TCP and GRE input and time jumps.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, ClientSession};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut s = ClientSession::new(ClientConfig::new("u", Password::new("p"), [0; 32]), now);
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
                let _ = s.send_ip(&chunk[1..], &mut out);
            }
            _ => s.close(now),
        }
        while s.poll_tcp_transmit().is_some() || s.poll_gre_transmit().is_some() || s.poll_event().is_some() {}
    }
});
