//! A client session with every method allowed and MPPE optional (stateful
//! allowed), so the PAP, CHAP, no-auth, unencrypted and stateful paths are
//! reached, fed arbitrary TCP and GRE input and time jumps.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::ppp::ccp::MppePolicy;
use pptp_engine::ppp::lcp::AuthPolicy;
use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, ClientSession};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut cfg = ClientConfig::new("u", Password::new("p"), [0; 32]);
    cfg.auth = AuthPolicy::all();
    cfg.mppe = MppePolicy {
        allow_40: true,
        allow_56: false,
        allow_128: true,
        stateful: true,
        request_stateful: data.first().is_some_and(|b| b & 1 == 1),
        required: false,
    };
    let mut s = ClientSession::new(cfg, now);
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
