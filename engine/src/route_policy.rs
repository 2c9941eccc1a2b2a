//! Which routes a server may push (DHCPINFORM's classless routes, RFC 3442;
//! a router advertisement's route information, RFC 4191). One rule, applied
//! by the NetworkManager service and by `pptp-client` alike:
//!
//! - never the default route (0.0.0.0/0, ::/0): whether the tunnel takes it is
//!   the user's choice (NetworkManager's never-default, `--default-route`);
//! - never a route covering the VPN server's address, nor the address this
//!   machine reaches the server from (its own LAN: a route over it would put
//!   the LAN's router, printer and name server behind the tunnel; users whose
//!   office network overlaps their LAN add that route themselves, and routes
//!   the user configured are never filtered);
//! - in a split tunnel, never a route shorter than /8 (IPv4) or /16 (IPv6):
//!   a pair of /1 routes, or /1 to /8 in pieces, is the default route by
//!   another name. (With at most [`crate::dhcp::MAX_ROUTES`] routes of /8 or
//!   longer, a server can claim at most a quarter of the IPv4 space.)
//! - in a full tunnel everything else goes: it already carries the rest.
//!
//! `ipv4.ignore-auto-routes` / `ipv6.ignore-auto-routes` (`--no-pushed-routes`)
//! still turn all pushed routes off before this is asked.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Shortest prefix a split tunnel accepts from the server.
pub const MIN_SPLIT_PREFIX_V4: u8 = 8;
pub const MIN_SPLIT_PREFIX_V6: u8 = 16;

/// What the rule needs to know about this tunnel.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The VPN server's address.
    pub server: Ipv4Addr,
    /// This machine's address on the path to the server (unspecified: unknown).
    pub local: Ipv4Addr,
    /// The tunnel carries the default route.
    pub full_tunnel: bool,
}

/// Why a pushed route was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Default,
    CoversServer(Ipv4Addr),
    CoversLocal(Ipv4Addr),
    /// Shorter than the split tunnel's minimum (the minimum).
    TooWide(u8),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Default => {
                f.write_str("the default route is the user's choice, not the server's")
            }
            Refusal::CoversServer(a) => write!(f, "it covers the VPN server {a}"),
            Refusal::CoversLocal(a) => {
                write!(
                    f,
                    "it covers this machine's own address {a} on the way to the server"
                )
            }
            Refusal::TooWide(min) => write!(
                f,
                "a split tunnel takes no route shorter than /{min} from the server"
            ),
        }
    }
}

fn covers_v4(dest: Ipv4Addr, prefix: u8, a: Ipv4Addr) -> bool {
    let mask = crate::ipv4::prefix_mask(prefix);
    u32::from(dest) & mask == u32::from(a) & mask
}

/// Whether the server may install `dest/prefix` through the tunnel.
pub fn check_v4(ctx: &Context, dest: Ipv4Addr, prefix: u8) -> Result<(), Refusal> {
    if prefix == 0 {
        return Err(Refusal::Default);
    }
    if !ctx.full_tunnel && prefix < MIN_SPLIT_PREFIX_V4 {
        return Err(Refusal::TooWide(MIN_SPLIT_PREFIX_V4));
    }
    if covers_v4(dest, prefix, ctx.server) {
        return Err(Refusal::CoversServer(ctx.server));
    }
    if !ctx.local.is_unspecified() && covers_v4(dest, prefix, ctx.local) {
        return Err(Refusal::CoversLocal(ctx.local));
    }
    Ok(())
}

/// The same for IPv6 (PPTP runs over IPv4: no server or local address to cover).
pub fn check_v6(ctx: &Context, _dest: Ipv6Addr, prefix: u8) -> Result<(), Refusal> {
    if prefix == 0 {
        return Err(Refusal::Default);
    }
    if !ctx.full_tunnel && prefix < MIN_SPLIT_PREFIX_V6 {
        return Err(Refusal::TooWide(MIN_SPLIT_PREFIX_V6));
    }
    Ok(())
}

/// The routes that pass, and each refused one with its reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Filtered<A> {
    pub accepted: Vec<(A, u8)>,
    pub refused: Vec<((A, u8), Refusal)>,
}

fn filter<A: Copy>(
    routes: impl IntoIterator<Item = (A, u8)>,
    check: impl Fn(A, u8) -> Result<(), Refusal>,
) -> Filtered<A> {
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for (d, p) in routes {
        match check(d, p) {
            Ok(()) => accepted.push((d, p)),
            Err(r) => refused.push(((d, p), r)),
        }
    }
    Filtered { accepted, refused }
}

pub fn filter_v4(
    ctx: &Context,
    routes: impl IntoIterator<Item = (Ipv4Addr, u8)>,
) -> Filtered<Ipv4Addr> {
    filter(routes, |d, p| check_v4(ctx, d, p))
}

pub fn filter_v6(
    ctx: &Context,
    routes: impl IntoIterator<Item = (Ipv6Addr, u8)>,
) -> Filtered<Ipv6Addr> {
    filter(routes, |d, p| check_v6(ctx, d, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(full_tunnel: bool) -> Context {
        Context {
            server: "203.0.113.5".parse().unwrap(),
            local: "192.168.1.23".parse().unwrap(),
            full_tunnel,
        }
    }

    fn v4(s: &str) -> (Ipv4Addr, u8) {
        let (a, p) = s.split_once('/').unwrap();
        (a.parse().unwrap(), p.parse().unwrap())
    }

    #[test]
    fn a_split_tunnel_refuses_what_would_capture_it() {
        let split = ctx(false);
        let take = |s: &str| {
            let (d, p) = v4(s);
            check_v4(&split, d, p)
        };
        assert_eq!(take("10.0.0.0/8"), Ok(()));
        assert_eq!(take("172.16.0.0/12"), Ok(()));
        assert_eq!(take("192.168.100.0/24"), Ok(()));
        assert_eq!(take("0.0.0.0/0"), Err(Refusal::Default));
        for half in ["0.0.0.0/1", "128.0.0.0/1", "64.0.0.0/2", "32.0.0.0/7"] {
            assert_eq!(take(half), Err(Refusal::TooWide(8)), "{half}");
        }
        assert_eq!(
            take("203.0.113.0/24"),
            Err(Refusal::CoversServer(split.server))
        );
        assert_eq!(
            take("203.0.113.5/32"),
            Err(Refusal::CoversServer(split.server))
        );
        assert_eq!(
            take("192.168.0.0/16"),
            Err(Refusal::CoversLocal(split.local))
        );
        assert_eq!(
            take("192.168.1.1/32"),
            Ok(()),
            "the LAN's router alone is not this machine"
        );
        // When this machine's address is not known, nothing is checked against it.
        let unknown = Context {
            local: Ipv4Addr::UNSPECIFIED,
            ..split
        };
        assert_eq!(
            check_v4(&unknown, "192.168.0.0".parse().unwrap(), 16),
            Ok(())
        );
    }

    #[test]
    fn a_full_tunnel_takes_wide_routes_but_not_the_server_or_the_lan() {
        let full = ctx(true);
        let Filtered {
            accepted: ok,
            refused,
        } = filter_v4(
            &full,
            ["0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/0", "10.0.0.0/8"].map(v4),
        );
        // 128.0.0.0/1 covers the server (and the LAN); 0.0.0.0/1 neither.
        assert_eq!(ok, [v4("0.0.0.0/1"), v4("10.0.0.0/8")]);
        assert_eq!(
            refused,
            [
                (v4("128.0.0.0/1"), Refusal::CoversServer(full.server)),
                (v4("0.0.0.0/0"), Refusal::Default)
            ]
        );
    }

    #[test]
    fn ipv6_default_and_wide_routes() {
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let split = ctx(false);
        assert_eq!(check_v6(&split, a("::"), 0), Err(Refusal::Default));
        assert_eq!(check_v6(&split, a("::"), 1), Err(Refusal::TooWide(16)));
        assert_eq!(check_v6(&split, a("8000::"), 1), Err(Refusal::TooWide(16)));
        assert_eq!(check_v6(&split, a("2000::"), 3), Err(Refusal::TooWide(16)));
        assert_eq!(check_v6(&split, a("2001:db8::"), 32), Ok(()));
        assert_eq!(check_v6(&ctx(true), a("::"), 0), Err(Refusal::Default));
        assert_eq!(check_v6(&ctx(true), a("8000::"), 1), Ok(()));
    }

    #[test]
    fn every_refusal_says_why() {
        for r in [
            Refusal::Default,
            Refusal::CoversServer(Ipv4Addr::LOCALHOST),
            Refusal::CoversLocal(Ipv4Addr::LOCALHOST),
            Refusal::TooWide(8),
        ] {
            assert!(r.to_string().len() > 20);
        }
    }
}
