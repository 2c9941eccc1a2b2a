//! A DHCPACK (or anything) arriving through the tunnel while our INFORM waits:
//! never a panic; what decodes keeps within the bounds the decoder promises.
#![no_main]
use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use pptp_engine::dhcp::{decode_reply, MAX_ROUTES};
use pptp_engine::route_policy::{filter_v4, Context};

fuzz_target!(|data: &[u8]| {
    let Some((xid, ip)) = data.split_first_chunk::<4>() else {
        return;
    };
    let local = Ipv4Addr::new(198, 19, 0, 7);
    if let Some(Ok(p)) = decode_reply(ip, local, Ipv4Addr::new(198, 19, 0, 1), u32::from_be_bytes(*xid)) {
        assert!(p.routes.len() <= MAX_ROUTES);
        assert!(p.routes.iter().all(|r| r.prefix >= 1 && r.prefix <= 32));
        assert!(p.dns.len() <= 4 && p.wins.len() <= 4);
        assert!(p.domain.iter().all(|d| d.len() <= 253 && d.is_ascii()));
        for full_tunnel in [false, true] {
            let ctx = Context {
                server: Ipv4Addr::new(198, 18, 0, 2),
                local,
                full_tunnel,
            };
            let kept = filter_v4(&ctx, p.routes.iter().map(|r| (r.dest, r.prefix)));
            // Nothing kept covers the server or this machine's address.
            for (d, l) in &kept.accepted {
                let mask = u32::MAX.checked_shl(32 - u32::from(*l)).unwrap_or(0);
                assert_ne!(u32::from(*d) & mask, u32::from(ctx.server) & mask);
                assert_ne!(u32::from(*d) & mask, u32::from(local) & mask);
                assert!(full_tunnel || *l >= 8);
            }
        }
    }
});
