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

mod wire;

use std::time::{Duration, Instant};

use crate::ppp::ipv6cp::{link_local, InterfaceId};
pub use wire::{
    is_router_advert, parse, router_solicitation, RaError, RouterInfo, MAX_ITEMS, MIN_MTU,
};

/// RFC 4861 §10: MAX_RTR_SOLICITATIONS and RTR_SOLICITATION_INTERVAL.
const SOLICITATIONS: u32 = 3;
const SOLICITATION_INTERVAL: Duration = Duration::from_secs(4);

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
    use super::wire::*;
    use super::*;
    use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, Ipv6Packet};
    use std::net::Ipv6Addr;

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
