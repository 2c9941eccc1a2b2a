//! A client session with every method allowed and MPPE optional (stateful
//! allowed), so the PAP, CHAP, no-auth, unencrypted and stateful paths are
//! reached, fed arbitrary TCP and GRE input and time jumps.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::ppp::ccp::MppePolicy;
use pptp_engine::ppp::lcp::AuthPolicy;
use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, ClientSession};
use std::time::Instant;

#[path = "common/drive.rs"]
mod drive;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
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
    drive::drive(&mut s, data, now);
});
