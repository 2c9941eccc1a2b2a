//! IPv6 router discovery through the tunnel: router solicitations from our
//! link-local address (RFC 4861 §6.3.7), and what the server's router
//! advertisements give: SLAAC addresses from the identifier IPV6CP negotiated
//! (RFC 4862 §5.5.3), name servers (RDNSS, RFC 8106), more-specific routes
//! (Route Information, RFC 4191), a default route and an MTU.
//!
//! The IPv6 header and the ICMPv6 message (type, code, checksum over the
//! pseudo-header) are read with smoltcp's `wire` types. The options are ours:
//! smoltcp's neighbour-discovery types compile only with an Ethernet or
//! 802.15.4 medium (they carry link-layer addresses), which brings in its whole
//! interface and socket layer; its `NdiscRepr` keeps one prefix per
//! advertisement; and it has no RDNSS or Route Information option.
//!
//! Advertisements are consumed here, not written to the tunnel interface:
//! NetworkManager (or `pptp-client`) sets what they say, and the kernel must not
//! configure the interface a second time on its own.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv6Packet};

use crate::ppp::ipv6cp::{link_local, InterfaceId};

/// RFC 4861 §10: MAX_RTR_SOLICITATIONS and RTR_SOLICITATION_INTERVAL.
const SOLICITATIONS: u32 = 3;
const SOLICITATION_INTERVAL: Duration = Duration::from_secs(4);
/// At most this many addresses, routes or name servers are taken from one
/// advertisement (a real one has one or two).
pub const MAX_ITEMS: usize = 8;

const ICMPV6: u8 = 58;
const ROUTER_SOLICIT: u8 = 133;
const ROUTER_ADVERT: u8 = 134;
const OPT_PREFIX: u8 = 3;
const OPT_MTU: u8 = 5;
const OPT_ROUTE: u8 = 24;
const OPT_RDNSS: u8 = 25;
const PREFIX_ON_LINK: u8 = 0x80;
const PREFIX_AUTONOMOUS: u8 = 0x40;
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
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
pub struct RaError(&'static str);

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

fn mask(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(a);
    let m = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    Ipv6Addr::from(bits & m)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn push<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if v.len() < MAX_ITEMS && !v.contains(&x) {
        v.push(x);
    }
}

/// An address a host can send to (a name server, a router).
fn unicast(a: Ipv6Addr) -> bool {
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

fn prefix(info: &mut RouterInfo, opt: &[u8], id: InterfaceId) {
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
fn route(info: &mut RouterInfo, opt: &[u8]) {
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

/// What [`RouterDiscovery::input`] made of a packet from the tunnel.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Not a router advertisement: for the tunnel interface.
    NotForUs,
    /// An advertisement saying nothing new.
    Same,
    New(RouterInfo),
    Bad(RaError),
}

/// The client side: solicits until the first advertisement, then follows
/// the router's periodic advertisements.
pub struct RouterDiscovery {
    id: InterfaceId,
    next: Option<Instant>,
    sent: u32,
    known: Option<RouterInfo>,
}

impl RouterDiscovery {
    pub fn new(id: InterfaceId, now: Instant) -> Self {
        RouterDiscovery {
            id,
            next: Some(now),
            sent: 0,
            known: None,
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }

    /// A router solicitation when one is due.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.next.filter(|t| *t <= now)?;
        self.sent += 1;
        self.next = (self.sent < SOLICITATIONS).then(|| now + SOLICITATION_INTERVAL);
        Some(router_solicitation(link_local(self.id)))
    }

    pub fn input(&mut self, ip: &[u8]) -> Offer {
        if !is_router_advert(ip) {
            return Offer::NotForUs;
        }
        match parse(ip, self.id) {
            Ok(info) => {
                self.next = None;
                if self.known.as_ref() == Some(&info) {
                    return Offer::Same;
                }
                self.known = Some(info.clone());
                Offer::New(info)
            }
            Err(e) => Offer::Bad(e),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const ID: InterfaceId = [0x02, 0, 0, 0, 0, 0, 0, 0x42];

    /// A router advertisement from fe80::1 with these options, checksummed.
    pub(crate) fn advert(lifetime: u16, options: &[u8]) -> Vec<u8> {
        let mut msg = vec![ROUTER_ADVERT, 0, 0, 0, 64, 0];
        msg.extend_from_slice(&lifetime.to_be_bytes());
        msg.extend_from_slice(&[0; 8]);
        msg.extend_from_slice(options);
        let (src, dst) = ("fe80::1".parse().unwrap(), "ff02::1".parse().unwrap());
        crate::icmpv6::packet(src, dst, 255, &msg)
    }

    pub(crate) fn prefix_opt(p: &str, len: u8, flags: u8, valid: u32, preferred: u32) -> Vec<u8> {
        let mut o = vec![OPT_PREFIX, 4, len, flags];
        o.extend_from_slice(&valid.to_be_bytes());
        o.extend_from_slice(&preferred.to_be_bytes());
        o.extend_from_slice(&[0; 4]);
        o.extend_from_slice(&p.parse::<Ipv6Addr>().unwrap().octets());
        o
    }

    pub(crate) fn rdnss_opt(lifetime: u32, servers: &[&str]) -> Vec<u8> {
        let mut o = vec![OPT_RDNSS, (1 + 2 * servers.len()) as u8, 0, 0];
        o.extend_from_slice(&lifetime.to_be_bytes());
        for s in servers {
            o.extend_from_slice(&s.parse::<Ipv6Addr>().unwrap().octets());
        }
        o
    }

    fn route_opt(p: &str, plen: u8, units: u8, lifetime: u32) -> Vec<u8> {
        let mut o = vec![OPT_ROUTE, units, plen, 0];
        o.extend_from_slice(&lifetime.to_be_bytes());
        o.extend_from_slice(&p.parse::<Ipv6Addr>().unwrap().octets()[..(units as usize - 1) * 8]);
        o
    }

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn prefix_rdnss_route_mtu() {
        let opts = [
            prefix_opt("2001:db8:77::", 64, 0xC0, 86400, 14400),
            rdnss_opt(600, &["2001:db8:77::53", "2001:db8:77::54"]),
            route_opt("2001:db8:78::", 64, 2, 1800),
            vec![OPT_MTU, 1, 0, 0, 0, 0, 0x05, 0x78],
            // A source link-layer address option: skipped.
            vec![1, 1, 0, 1, 2, 3, 4, 5],
        ]
        .concat();
        let info = parse(&advert(1800, &opts), ID).unwrap();
        assert_eq!(info.router, a("fe80::1"));
        assert!(info.default_route);
        assert_eq!(info.addresses, vec![a("2001:db8:77:0:200::42")]);
        assert_eq!(info.prefixes, vec![(a("2001:db8:77::"), 64)]);
        assert_eq!(info.routes, vec![(a("2001:db8:78::"), 64)]);
        assert_eq!(info.dns, vec![a("2001:db8:77::53"), a("2001:db8:77::54")]);
        assert_eq!(info.mtu, Some(1400));
    }

    #[test]
    fn what_is_not_believed() {
        let p = advert(0, &prefix_opt("2001:db8::", 64, 0xC0, 10, 5));
        let mut bad_sum = p.clone();
        bad_sum[60] ^= 1;
        assert_eq!(parse(&bad_sum, ID), Err(RaError("bad ICMPv6 checksum")));
        let mut forwarded = p.clone();
        forwarded[7] = 64;
        assert!(parse(&forwarded, ID).is_err());
        let mut global_src = p.clone();
        global_src[8] = 0x20;
        assert!(parse(&global_src, ID).is_err());
        assert!(parse(&p[..50], ID).is_err());
        // A zero-length option would loop forever in a naive walk.
        assert_eq!(
            parse(&advert(0, &[OPT_MTU, 0, 0, 0, 0, 0, 0, 0]), ID),
            Err(RaError("an option of length zero"))
        );
        assert!(parse(&advert(0, &[OPT_MTU, 2, 0, 0, 0, 0, 0, 0]), ID).is_err());
        // No default route at lifetime 0.
        assert!(!parse(&p, ID).unwrap().default_route);
    }

    #[test]
    fn prefixes_that_give_no_address() {
        for (opt, addr, onlink) in [
            // Not autonomous: on-link only.
            (prefix_opt("2001:db8:1::", 64, 0x80, 100, 50), false, true),
            // Not /64: no address from a 64-bit identifier.
            (prefix_opt("2001:db8:2::", 48, 0xC0, 100, 50), false, true),
            // Preferred beyond valid: invalid for SLAAC.
            (prefix_opt("2001:db8:3::", 64, 0x40, 100, 200), false, false),
            // Valid lifetime 0: withdrawn.
            (prefix_opt("2001:db8:4::", 64, 0xC0, 0, 0), false, false),
            (prefix_opt("fe80::", 64, 0xC0, 100, 50), false, false),
            (prefix_opt("2001:db8:5::", 64, 0x40, 100, 50), true, false),
        ] {
            let info = parse(&advert(0, &opt), ID).unwrap();
            assert_eq!(!info.addresses.is_empty(), addr, "{opt:?}");
            assert_eq!(!info.prefixes.is_empty(), onlink, "{opt:?}");
        }
    }

    #[test]
    fn routes_and_servers_that_are_skipped() {
        let opts = [
            route_opt("2001:db8:9::", 96, 2, 100), // /96 needs 3 units
            route_opt("2001:db8:a::", 48, 2, 0),   // lifetime 0
            route_opt("::", 0, 1, 100),            // a default route by RFC 4191
            rdnss_opt(0, &["2001:db8::53"]),       // lifetime 0
            rdnss_opt(10, &["ff02::1", "::1"]),
        ]
        .concat();
        let info = parse(&advert(0, &opts), ID).unwrap();
        assert_eq!(info.routes, vec![(Ipv6Addr::UNSPECIFIED, 0)]);
        assert!(info.dns.is_empty());
    }

    #[test]
    fn bounded_lists() {
        let servers: Vec<String> = (0..20).map(|i| format!("2001:db8::{i:x}")).collect();
        let refs: Vec<&str> = servers.iter().map(String::as_str).collect();
        let info = parse(&advert(0, &rdnss_opt(10, &refs)), ID).unwrap();
        assert_eq!(info.dns.len(), MAX_ITEMS);
    }

    #[test]
    fn solicitation_is_well_formed() {
        let rs = router_solicitation(link_local(ID));
        let v6 = Ipv6Packet::new_checked(&rs[..]).unwrap();
        assert_eq!(v6.hop_limit(), 255);
        assert_eq!(v6.dst_addr(), ALL_ROUTERS);
        let icmp = Icmpv6Packet::new_checked(v6.payload()).unwrap();
        assert_eq!(icmp.msg_type(), Icmpv6Message::RouterSolicit);
        assert!(icmp.verify_checksum(&v6.src_addr(), &v6.dst_addr()));
    }

    #[test]
    fn solicits_three_times_then_follows_adverts() {
        let t0 = Instant::now();
        let mut d = RouterDiscovery::new(ID, t0);
        assert!(d.poll_transmit(t0).is_some());
        assert!(d.poll_transmit(t0).is_none());
        let t1 = d.poll_timeout().unwrap();
        assert_eq!(t1, t0 + SOLICITATION_INTERVAL);
        assert!(d.poll_transmit(t1).is_some());
        let t2 = d.poll_timeout().unwrap();
        assert!(d.poll_transmit(t2).is_some());
        assert_eq!(d.poll_timeout(), None, "three solicitations at most");
        let ra = advert(1800, &prefix_opt("2001:db8::", 64, 0xC0, 100, 50));
        assert!(matches!(d.input(&ra), Offer::New(_)));
        assert_eq!(d.input(&ra), Offer::Same);
        assert_eq!(
            d.input(&router_solicitation(link_local(ID))),
            Offer::NotForUs
        );
        let other = advert(1800, &prefix_opt("2001:db8:1::", 64, 0xC0, 100, 50));
        assert!(
            matches!(d.input(&other), Offer::New(i) if i.addresses == vec![a("2001:db8:1:0:200::42")])
        );
    }
}
