//! MSS clamping (IPv4 and IPv6) on whatever a peer sends through the tunnel:
//! never a panic, and a packet it changes is still the same length with the
//! MSS at most the cap.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::tcp_mss::clamp;

fuzz_target!(|data: &[u8]| {
    let Some((cap, ip)) = data.split_first_chunk::<2>() else {
        return;
    };
    let max = u16::from_be_bytes(*cap);
    let mut pkt = ip.to_vec();
    if clamp(&mut pkt, max) {
        assert_eq!(pkt.len(), ip.len());
        assert_ne!(pkt, ip);
    } else {
        assert_eq!(pkt, ip);
    }
});
