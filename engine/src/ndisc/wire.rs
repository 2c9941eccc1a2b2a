//! Router discovery's wire format: the solicitation we send, and a router
//! advertisement checked and read (prefixes, RDNSS, Route Information, MTU)
//! into [`RouterInfo`].

use std::net::Ipv6Addr;

use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv6Packet};

use crate::ppp::ipv6cp::InterfaceId;

/// At most this many addresses, routes or name servers are taken from one
/// advertisement (a real one has one or two).
pub const MAX_ITEMS: usize = 8;

pub(super) const ICMPV6: u8 = 58;
pub(super) const ROUTER_SOLICIT: u8 = 133;
pub(super) const ROUTER_ADVERT: u8 = 134;
pub(super) const OPT_PREFIX: u8 = 3;
pub(super) const OPT_MTU: u8 = 5;
pub(super) const OPT_ROUTE: u8 = 24;
pub(super) const OPT_RDNSS: u8 = 25;
pub(super) const PREFIX_ON_LINK: u8 = 0x80;
pub(super) const PREFIX_AUTONOMOUS: u8 = 0x40;
pub(super) const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// The IPv6 minimum MTU (RFC 8200 §5).
pub const MIN_MTU: u32 = 1280;

/// What one router advertisement said that a host acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterInfo {
    /// The router's link-local address (the advertisement's source).
    pub router: Ipv6Addr,
    /// The router offers itself as default router (lifetime above zero).
    pub default_route: bool,
    /// Addresses formed from autonomous /64 prefixes and our identifier.
    pub addresses: Vec<Ipv6Addr>,
    /// On-link prefixes.
    pub prefixes: Vec<(Ipv6Addr, u8)>,
    /// More-specific routes through the router.
    pub routes: Vec<(Ipv6Addr, u8)>,
    pub dns: Vec<Ipv6Addr>,
    pub mtu: Option<u32>,
}

/// Why an advertisement was not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("router advertisement ignored: {0}")]
pub struct RaError(pub(super) &'static str);

/// Whether this IPv6 packet is an ICMPv6 router advertisement (by its first
/// header only: an advertisement never carries extension headers).
pub fn is_router_advert(ip: &[u8]) -> bool {
    ip.len() > 40 && ip[0] >> 4 == 6 && ip[6] == ICMPV6 && ip[40] == ROUTER_ADVERT
}

/// A router solicitation from `src` to all routers, without a link-layer
/// address option (PPP has no link-layer addresses).
pub fn router_solicitation(src: Ipv6Addr) -> Vec<u8> {
    crate::icmpv6::packet(
        src,
        ALL_ROUTERS,
        255,
        &[ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0],
    )
}

pub(super) fn mask(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(a);
    let m = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    Ipv6Addr::from(bits & m)
}

pub(super) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

pub(super) fn push<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if v.len() < MAX_ITEMS && !v.contains(&x) {
        v.push(x);
    }
}

/// An address a host can send to (a name server, a router).
pub(super) fn unicast(a: Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast())
}

/// Check and read a router advertisement (RFC 4861 §6.1.2's validity rules);
/// `id` is our interface identifier, which SLAAC appends to each /64 prefix.
pub fn parse(ip: &[u8], id: InterfaceId) -> Result<RouterInfo, RaError> {
    let v6 = Ipv6Packet::new_checked(ip).map_err(|_| RaError("truncated IPv6 header"))?;
    if v6.version() != 6 || v6.next_header() != IpProtocol::Icmpv6 {
        return Err(RaError("not ICMPv6"));
    }
    if v6.hop_limit() != 255 {
        return Err(RaError("hop limit is not 255 (it was forwarded)"));
    }
    let (src, dst) = (v6.src_addr(), v6.dst_addr());
    if !src.is_unicast_link_local() {
        return Err(RaError("the source is not a link-local address"));
    }
    let body = v6.payload();
    let icmp = Icmpv6Packet::new_checked(body).map_err(|_| RaError("truncated ICMPv6"))?;
    if icmp.msg_type() != Icmpv6Message::RouterAdvert || icmp.msg_code() != 0 {
        return Err(RaError("not a router advertisement"));
    }
    if body.len() < 16 {
        return Err(RaError("shorter than 16 bytes"));
    }
    if !icmp.verify_checksum(&src, &dst) {
        return Err(RaError("bad ICMPv6 checksum"));
    }
    let mut info = RouterInfo {
        router: src,
        default_route: u16::from_be_bytes([body[6], body[7]]) > 0,
        addresses: Vec::new(),
        prefixes: Vec::new(),
        routes: Vec::new(),
        dns: Vec::new(),
        mtu: None,
    };
    let mut rest = &body[16..];
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(RaError("a truncated option"));
        }
        let len = usize::from(rest[1]) * 8;
        if len == 0 {
            return Err(RaError("an option of length zero"));
        }
        if len > rest.len() {
            return Err(RaError("an option runs past the end"));
        }
        let (opt, next) = rest.split_at(len);
        rest = next;
        match opt[0] {
            OPT_PREFIX if len == 32 => prefix(&mut info, opt, id),
            OPT_MTU if len == 8 => {
                let mtu = be32(&opt[4..8]);
                if mtu >= MIN_MTU {
                    info.mtu = Some(mtu);
                }
            }
            // Lifetime 0: the servers are withdrawn.
            OPT_RDNSS if len >= 24 && (len - 8) % 16 == 0 && be32(&opt[4..8]) > 0 => {
                for a in opt[8..].chunks_exact(16) {
                    let a = Ipv6Addr::from(<[u8; 16]>::try_from(a).unwrap_or_default());
                    if unicast(a) {
                        push(&mut info.dns, a);
                    }
                }
            }
            OPT_ROUTE if len <= 24 => route(&mut info, opt),
            // Source link-layer address, unknown options, and known options of
            // the wrong size are skipped (RFC 4861 §4.6).
            _ => {}
        }
    }
    Ok(info)
}

pub(super) fn prefix(info: &mut RouterInfo, opt: &[u8], id: InterfaceId) {
    // RFC 4861 §4.6.2: length, flags (L, A), valid and preferred lifetimes,
    // reserved, prefix.
    let (plen, flags) = (opt[2], opt[3]);
    let (valid, preferred) = (be32(&opt[4..8]), be32(&opt[8..12]));
    let raw = <[u8; 16]>::try_from(&opt[16..32]).unwrap_or_default();
    let p = mask(Ipv6Addr::from(raw), plen);
    if plen > 128 || p.is_unicast_link_local() || p.is_multicast() || valid == 0 {
        return;
    }
    if flags & PREFIX_ON_LINK != 0 {
        push(&mut info.prefixes, (p, plen));
    }
    // RFC 4862 §5.5.3: only a prefix as long as the identifier is short, and a
    // preferred lifetime beyond the valid one makes the option invalid.
    if flags & PREFIX_AUTONOMOUS != 0 && plen == 64 && preferred <= valid {
        let mut a = p.octets();
        a[8..].copy_from_slice(&id);
        push(&mut info.addresses, Ipv6Addr::from(a));
    }
}

/// RFC 4191 §2.3: length 1 carries no prefix bytes, 2 up to /64, 3 up to /128.
pub(super) fn route(info: &mut RouterInfo, opt: &[u8]) {
    let plen = opt[2];
    let carried = (opt.len() - 8) * 8;
    if plen > 128 || usize::from(plen) > carried || be32(&opt[4..8]) == 0 {
        return;
    }
    let mut a = [0u8; 16];
    a[..opt.len() - 8].copy_from_slice(&opt[8..]);
    let p = mask(Ipv6Addr::from(a), plen);
    if !p.is_unicast_link_local() && !p.is_multicast() {
        push(&mut info.routes, (p, plen));
    }
}
