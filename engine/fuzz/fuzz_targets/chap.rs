//! PAP and CHAP packets, MS-CHAP response values, Success and Failure texts, and
//! the client's authentication state machine fed all of it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::auth::message::{check_v2_success, ServerFailure};
use pptp_engine::auth::peer::AuthPeer;
use pptp_engine::auth::wire::{Chap, Pap, V1Response, V2Response};
use pptp_engine::auth::AuthProtocol;
use pptp_engine::secret::Password;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let _ = Chap::decode(data);
    let _ = Pap::decode(data);
    let _ = V1Response::decode(data);
    let _ = V2Response::decode(data);
    let _ = ServerFailure::mschap(data);
    let _ = check_v2_success(data, &[0x40; 20]);
    let method = match data.first().map(|b| b % 4) {
        Some(0) => AuthProtocol::Pap,
        Some(1) => AuthProtocol::ChapMd5,
        Some(2) => AuthProtocol::MsChapV1,
        _ => AuthProtocol::MsChapV2,
    };
    let mut peer = AuthPeer::new(method, "DOM\\user", Password::new("pw"), rand::rngs::StdRng::seed_from_u64(1));
    peer.start(std::time::Instant::now());
    for pkt in data.split(|b| *b == 0xA5) {
        let _ = peer.input(std::time::Instant::now(), pkt);
        while peer.poll_transmit().is_some() {}
    }
});
