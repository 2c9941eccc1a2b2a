//! ICMPv6 errors we send back into the tunnel interface (RFC 4443).
//!
//! When the link carries no IPv6 but the routes send IPv6 into the tunnel (so
//! that it cannot leak around a full-tunnel VPN), each refused packet gets a
//! "destination unreachable, administratively prohibited" answer: the
//! application sees its connection refused at once (and tries IPv4) instead of
//! waiting for a timeout.

use std::net::Ipv6Addr;

const ICMPV6: u8 = 58;
const DST_UNREACHABLE: u8 = 1;
/// "Communication with destination administratively prohibited".
pub const ADMIN_PROHIBITED: u8 = 1;
/// An error message may not exceed the minimum MTU (RFC 4443 §2.4 (c)).
const MAX_ERROR: usize = 1280;

fn addr(b: &[u8]) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap_or_default())
}

/// Whether an IPv6 packet from the tunnel is neighbour discovery (router
/// solicitation or advertisement, neighbour solicitation or advertisement,
/// redirect: types 133 to 137) behind any chain of extension headers, or an
/// ICMPv6 packet in fragments (RFC 6980: neighbour discovery is never
/// fragmented, so a fragment may hide one). Such packets must not reach the
/// tunnel interface: only the engine's router discovery reads them, and only
/// when they come without extension headers.
pub fn is_neighbour_discovery(ip: &[u8]) -> bool {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const DEST_OPTS: u8 = 60;
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return false;
    }
    let (mut next, mut at, mut fragmented) = (ip[6], 40usize, false);
    // Each header is at least 8 bytes: the chain ends within the packet.
    loop {
        match next {
            ICMPV6 => {
                return fragmented || ip.get(at).is_some_and(|t| (133..=137).contains(t));
            }
            HOP_BY_HOP | ROUTING | DEST_OPTS => {
                let (Some(&n), Some(&len)) = (ip.get(at), ip.get(at + 1)) else {
                    return false;
                };
                next = n;
                at += (usize::from(len) + 1) * 8;
            }
            FRAGMENT => {
                let Some(&n) = ip.get(at) else { return false };
                fragmented = true;
                next = n;
                at += 8;
            }
            _ => return false,
        }
    }
}

/// The destination-unreachable answer to `original`, from its destination to
/// its source, or None where RFC 4443 §2.4 (e) forbids one: the packet is not
/// IPv6, is itself an ICMPv6 error, or has a multicast or unspecified address.
pub fn unreachable(original: &[u8], code: u8) -> Option<Vec<u8>> {
    if original.len() < 40 || original[0] >> 4 != 6 {
        return None;
    }
    let (src, dst) = (addr(&original[8..24]), addr(&original[24..40]));
    if src.is_unspecified() || src.is_multicast() || dst.is_multicast() || dst.is_unspecified() {
        return None;
    }
    // Only an error right after the fixed header is recognised; an error behind
    // extension headers is rare enough to answer.
    if original[6] == ICMPV6 && original.get(40).is_some_and(|t| *t < 128) {
        return None;
    }
    let quoted = &original[..original.len().min(MAX_ERROR - 48)];
    let mut msg = vec![DST_UNREACHABLE, code, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(quoted);
    Some(packet(dst, src, 64, &msg))
}

/// An IPv6 packet carrying this ICMPv6 message (type, code, zero checksum,
/// body), its checksum filled in.
pub fn packet(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, message: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 40 + message.len()];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(message.len() as u16).to_be_bytes());
    p[6] = ICMPV6;
    p[7] = hop_limit;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    p[40..].copy_from_slice(message);
    let sum = crate::ipv4::transport_checksum_v6(src.octets(), dst.octets(), ICMPV6, &p[40..]);
    p[42..44].copy_from_slice(&sum.to_be_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(next: u8, first: u8, src: &str, dst: &str, len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        p[6] = next;
        p[7] = 64;
        p[8..24].copy_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
        p[24..40].copy_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
        p[40] = first;
        p
    }

    #[test]
    fn a_tcp_syn_gets_an_answer_from_its_destination() {
        let syn = packet(6, 0, "2001:db8::2", "2001:db8:79::1", 80);
        let e = unreachable(&syn, ADMIN_PROHIBITED).unwrap();
        assert_eq!(&e[8..24], &syn[24..40], "from the destination");
        assert_eq!(&e[24..40], &syn[8..24], "to the source");
        assert_eq!((e[40], e[41]), (1, 1));
        assert_eq!(&e[48..], &syn[..]);
        let sum = crate::ipv4::transport_checksum_v6(
            e[8..24].try_into().unwrap(),
            e[24..40].try_into().unwrap(),
            ICMPV6,
            &e[40..],
        );
        assert_eq!(sum, 0, "checksum verifies");
    }

    #[test]
    fn what_gets_no_answer() {
        for p in [
            packet(58, 1, "2001:db8::2", "2001:db8:79::1", 80), // an error
            packet(6, 0, "::", "2001:db8:79::1", 80),
            packet(17, 0, "2001:db8::2", "ff02::1", 80),
            packet(17, 0, "ff02::1", "2001:db8::1", 80),
            vec![0x45; 60],
            vec![0x60; 20],
        ] {
            assert_eq!(unreachable(&p, ADMIN_PROHIBITED), None);
        }
        // An echo request is answered.
        assert!(unreachable(&packet(58, 128, "2001:db8::2", "2001:db8::1", 64), 1).is_some());
    }

    #[test]
    fn the_answer_fits_the_minimum_mtu() {
        let big = packet(17, 0, "2001:db8::2", "2001:db8:79::1", 1500);
        assert_eq!(
            unreachable(&big, ADMIN_PROHIBITED).unwrap().len(),
            MAX_ERROR
        );
    }

    #[test]
    fn neighbour_discovery_is_found_behind_extension_headers() {
        let icmp = |ty: u8| {
            super::packet(
                "fe80::1".parse().unwrap(),
                "ff02::1".parse().unwrap(),
                255,
                &[ty, 0, 0, 0, 0, 0, 0, 0],
            )
        };
        let ra = icmp(134);
        assert!(is_neighbour_discovery(&ra));
        assert!(!is_neighbour_discovery(&icmp(128)), "an echo request");
        // The same advertisement behind a hop-by-hop header (8 bytes, PadN).
        let mut hbh = ra[..40].to_vec();
        hbh[6] = 0;
        hbh.extend_from_slice(&[ICMPV6, 0, 1, 4, 0, 0, 0, 0]);
        hbh.extend_from_slice(&ra[40..]);
        assert!(is_neighbour_discovery(&hbh));
        // Behind a destination-options header after the hop-by-hop one.
        let mut two = hbh[..40].to_vec();
        two.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        two.extend_from_slice(&[ICMPV6, 0, 1, 4, 0, 0, 0, 0]);
        two.extend_from_slice(&ra[40..]);
        assert!(is_neighbour_discovery(&two));
        // Any ICMPv6 in fragments.
        let mut frag = ra[..40].to_vec();
        frag[6] = 44;
        frag.extend_from_slice(&[ICMPV6, 0, 0, 8, 0, 0, 0, 1]);
        assert!(is_neighbour_discovery(&frag));
        // UDP behind a hop-by-hop header, and truncated chains.
        let mut udp = hbh.clone();
        udp[40] = 17;
        assert!(!is_neighbour_discovery(&udp));
        assert!(!is_neighbour_discovery(&hbh[..41]));
        assert!(!is_neighbour_discovery(&[0x60; 12]));
    }
}
