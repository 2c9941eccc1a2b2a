//! PPP framing and the generic control packet header.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::ppp::{frame, packet::Packet};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, info)) = frame::decode(data) {
        let _ = Packet::decode("fuzz", info);
    }
    let _ = frame::is_control(data);
});
