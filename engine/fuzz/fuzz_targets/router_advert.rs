//! Whatever IPv6 comes through the tunnel, as a router advertisement and as a
//! packet to refuse: never a panic; what the advertisement gives stays within
//! its bounds and is usable; a refusal fits the minimum MTU and answers only
//! what it may.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pptp_engine::icmpv6::{is_neighbour_discovery, unreachable, ADMIN_PROHIBITED};
use pptp_engine::ndisc::{parse, MAX_ITEMS, MIN_MTU};
use pptp_engine::route_policy::{filter_v6, Context};

fuzz_target!(|data: &[u8]| {
    let id = [0x02, 0, 0, 0, 0, 0, 0, 0x42];
    if let Ok(info) = parse(data, id) {
        assert!(info.router.is_unicast_link_local());
        assert!(info.addresses.len() <= MAX_ITEMS && info.dns.len() <= MAX_ITEMS);
        assert!(info.routes.len() <= MAX_ITEMS && info.prefixes.len() <= MAX_ITEMS);
        assert!(info.addresses.iter().all(|a| a.octets()[8..] == id));
        assert!(info.dns.iter().all(|a| !a.is_multicast() && !a.is_unspecified()));
        assert!(info.routes.iter().chain(&info.prefixes).all(|(_, l)| *l <= 128));
        assert!(info.mtu.is_none_or(|m| m >= MIN_MTU));
        // What a split tunnel keeps: never the default route or a short one.
        let ctx = Context {
            server: [198, 18, 0, 2].into(),
            local: [198, 18, 0, 1].into(),
            full_tunnel: false,
        };
        let kept = filter_v6(&ctx, info.routes.iter().copied());
        assert!(kept.accepted.iter().all(|(_, l)| *l >= 16));
        assert_eq!(kept.accepted.len() + kept.refused.len(), info.routes.len());
    }
    // Never a panic, whatever the header chain; a plain advertisement is one.
    let nd = is_neighbour_discovery(data);
    if data.len() > 40 && data[0] >> 4 == 6 && data[6] == 58 && data[40] == 134 {
        assert!(nd);
    }
    if let Some(e) = unreachable(data, ADMIN_PROHIBITED) {
        assert!(e.len() <= 1280 && e.len() >= 48);
        assert_eq!(&e[8..24], &data[24..40]);
    }
});
