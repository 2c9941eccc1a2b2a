//! LCP, IPCP, IPV6CP and CCP packets (and so every option list) through the automaton.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::ppp::ccp::{Ccp, MppePolicy};
use pptp_engine::ppp::fsm::{Fsm, Timers};
use pptp_engine::ppp::ipcp::{Ipcp, IpcpConfig};
use pptp_engine::ppp::ipv6cp::Ipv6cp;
use pptp_engine::ppp::lcp::{AuthPolicy, Lcp, LcpConfig};
use rand::SeedableRng;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let cfg = LcpConfig { mru: 1400, accept_auth: AuthPolicy::all(), require_auth: None };
    let mut lcp = Fsm::new(Lcp::new(cfg, rand::rngs::StdRng::seed_from_u64(0)), Timers::default());
    let mut ipcp = Fsm::new(Ipcp::new(IpcpConfig { request_dns: true, ..Default::default() }), Timers::default());
    let mut ccp = Fsm::new(Ccp::new(MppePolicy { stateful: true, allow_40: true, ..MppePolicy::default() }), Timers::default());
    let mut ipv6cp = Fsm::new(Ipv6cp::new(rand::rngs::StdRng::seed_from_u64(1), None), Timers::default());
    lcp.open(now);
    ipcp.open(now);
    ipv6cp.open(now);
    ccp.open(now);
    for pkt in data.split(|b| *b == 0xA5) {
        match pkt.first() {
            Some(0) => lcp.input(now, &pkt[1..]),
            Some(1) => ipcp.input(now, &pkt[1..]),
            Some(2) => ipv6cp.input(now, &pkt[1..]),
            _ => ccp.input(now, pkt.get(1..).unwrap_or(&[])),
        }
        while lcp.poll_transmit().is_some()
            || ipcp.poll_transmit().is_some()
            || ipv6cp.poll_transmit().is_some()
            || ccp.poll_transmit().is_some()
        {}
        // An identifier is never zero, and never the peer's.
        if let (Some(l), p) = ipv6cp.interface_ids() {
            assert!(l != [0; 8] && Some(l) != p);
        }
    }
});
