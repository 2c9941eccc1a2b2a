//! A whole client session fed arbitrary TCP and GRE input and time jumps.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, ClientSession};
use std::time::Instant;

#[path = "common/drive.rs"]
mod drive;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut s = ClientSession::new(ClientConfig::new("u", Password::new("p"), [0; 32]), now);
    drive::drive(&mut s, data, now);
});
