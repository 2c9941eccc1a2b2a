//! TCP MSS clamping: a SYN or SYN-ACK crossing the tunnel has its maximum segment
//! size option lowered to what the tunnel's MTU carries, so that neither end
//! sends segments that would have to be fragmented or be lost to a path MTU
//! black hole (NetworkManager's own `mss` applies to the default route only).

/// IPv4 header (20) + TCP header (20): what an MTU leaves for the segment.
pub const OVERHEAD_V4: u16 = 40;
/// IPv6 header (40) + TCP header (20).
pub const OVERHEAD_V6: u16 = 60;

const TCP: u8 = 6;

const SYN: u8 = 0x02;
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_MSS: u8 = 2;

/// Lower the MSS option of an IPv4 TCP SYN (or SYN-ACK) to `max`, fixing the TCP
/// checksum. Anything else (not IPv4, not TCP, not a first fragment, not a SYN,
/// no MSS option, already small enough, lengths that do not add up) is left
/// untouched. Returns whether the packet changed.
pub fn clamp_v4(ip: &mut [u8], max: u16) -> bool {
    let Some(&vihl) = ip.first() else {
        return false;
    };
    let ihl = usize::from(vihl & 0x0F) * 4;
    if vihl >> 4 != 4 || ihl < 20 || ip.len() < ihl + 20 || ip[9] != TCP {
        return false;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1FFF;
    if total != ip.len() || fragment_offset != 0 {
        return false;
    }
    lower_mss(&mut ip[ihl..], max)
}

/// Lower the MSS of a SYN of either IP version, by its version nibble;
/// `max_v4` is what an IPv4 segment may carry (MTU − 40): IPv6's fixed header
/// is 20 bytes longer.
pub fn clamp(ip: &mut [u8], max_v4: u16) -> bool {
    match ip.first().map(|b| b >> 4) {
        Some(4) => clamp_v4(ip, max_v4),
        Some(6) => clamp_v6(ip, max_v4.saturating_sub(OVERHEAD_V6 - OVERHEAD_V4)),
        _ => false,
    }
}

/// The same for an IPv6 SYN whose TCP header follows the fixed header (a SYN
/// with extension headers is left alone).
pub fn clamp_v6(ip: &mut [u8], max: u16) -> bool {
    if ip.len() < 60 || ip[0] >> 4 != 6 || ip[6] != TCP {
        return false;
    }
    if usize::from(u16::from_be_bytes([ip[4], ip[5]])) + 40 != ip.len() {
        return false;
    }
    lower_mss(&mut ip[40..], max)
}

/// Lower the MSS option of a SYN segment to `max`, updating its checksum for
/// the change alone (RFC 1624): a segment corrupted on the way keeps a checksum
/// that says so, where recomputing it would vouch for the corruption. False when
/// there is nothing to lower.
fn lower_mss(tcp: &mut [u8], max: u16) -> bool {
    if tcp.len() < 20 {
        return false;
    }
    let doff = usize::from(tcp[12] >> 4) * 4;
    if tcp[13] & SYN == 0 || doff < 20 || doff > tcp.len() {
        return false;
    }
    let Some(at) = mss_option(&tcp[20..doff]).map(|i| 20 + i) else {
        return false;
    };
    let old = u16::from_be_bytes([tcp[at], tcp[at + 1]]);
    if old <= max {
        return false;
    }
    tcp[at..at + 2].copy_from_slice(&max.to_be_bytes());
    // A field at an odd offset adds to the sum with its bytes swapped.
    let (old, new) = if at % 2 == 1 {
        (old.swap_bytes(), max.swap_bytes())
    } else {
        (old, max)
    };
    // HC' = ~(~HC + ~m + m'), RFC 1624 eqn. 3.
    let hc = u16::from_be_bytes([tcp[16], tcp[17]]);
    let mut sum = u32::from(!hc) + u32::from(!old) + u32::from(new);
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    tcp[16..18].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    true
}

/// Offset, within the options, of the MSS option's value.
fn mss_option(opts: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            OPT_END => return None,
            OPT_NOP => i += 1,
            kind => {
                let len = usize::from(*opts.get(i + 1)?);
                if len < 2 || i + len > opts.len() {
                    return None;
                }
                if kind == OPT_MSS {
                    return (len == 4).then_some(i + 2);
                }
                i += len;
            }
        }
    }
    None
}

/// The TCP checksum over the IPv4 pseudo-header and `segment` (whose checksum
/// field is zero).
#[cfg(test)]
mod tests {
    use crate::ipv4::transport_checksum;

    fn addr(b: &[u8]) -> [u8; 4] {
        [b[0], b[1], b[2], b[3]]
    }
    use super::*;
    use proptest::prelude::*;

    /// An IPv4 TCP packet with these flags, TCP options and payload, checksums valid.
    fn packet(flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
        let doff = 20 + opts.len();
        assert_eq!(doff % 4, 0);
        let total = 20 + doff + payload.len();
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 64;
        p[9] = TCP;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[198, 19, 0, 1]);
        let t = &mut p[20..];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&443u16.to_be_bytes());
        t[12] = ((doff / 4) as u8) << 4;
        t[13] = flags;
        t[20..doff].copy_from_slice(opts);
        t[doff..].copy_from_slice(payload);
        let sum = transport_checksum([10, 0, 0, 1], [198, 19, 0, 1], TCP, &p[20..]);
        p[36..38].copy_from_slice(&sum.to_be_bytes());
        p
    }

    fn valid(p: &[u8]) -> bool {
        let mut t = p[20..].to_vec();
        let got = u16::from_be_bytes([t[16], t[17]]);
        t[16..18].fill(0);
        transport_checksum(addr(&p[12..16]), addr(&p[16..20]), TCP, &t) == got
    }

    fn mss_of(p: &[u8]) -> Option<u16> {
        let doff = usize::from(p[32] >> 4) * 4;
        mss_option(&p[40..20 + doff]).map(|i| u16::from_be_bytes([p[40 + i], p[41 + i]]))
    }

    /// Linux's SYN options: MSS, SACK-permitted, timestamps, NOP, window scale.
    const LINUX_SYN: [u8; 20] = [
        2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];

    #[test]
    fn syn_and_syn_ack_are_clamped_with_a_valid_checksum() {
        for flags in [SYN, SYN | 0x10] {
            let mut p = packet(flags, &LINUX_SYN, &[]);
            assert_eq!(mss_of(&p), Some(1460));
            assert!(clamp_v4(&mut p, 1356));
            assert_eq!(mss_of(&p), Some(1356));
            assert!(valid(&p));
        }
    }

    #[test]
    fn an_mss_after_nops_at_an_odd_offset_is_found() {
        let opts = [1, 2, 4, 0x05, 0xB4, 1, 1, 1];
        let mut p = packet(SYN, &opts, b"fast open data");
        assert!(clamp_v4(&mut p, 1000));
        assert_eq!(mss_of(&p), Some(1000));
        assert!(valid(&p));
    }

    /// A SYN corrupted on the way (its checksum no longer matches) leaves
    /// corrupted: clamping updates the checksum for its own change only.
    #[test]
    fn a_corrupted_syn_keeps_a_checksum_that_says_so() {
        for opts in [LINUX_SYN.to_vec(), vec![1, 2, 4, 0x05, 0xB4, 1, 1, 1]] {
            let mut p = packet(SYN, &opts, b"payload");
            let last = p.len() - 1;
            p[last] ^= 0x40;
            assert!(!valid(&p));
            assert!(clamp_v4(&mut p, 1000));
            assert_eq!(mss_of(&p), Some(1000));
            assert!(!valid(&p), "the clamp made a corrupted segment look whole");
            p[last] ^= 0x40;
            assert!(valid(&p), "and the change itself is accounted exactly");
        }
    }

    #[test]
    fn what_is_left_alone() {
        let cases = [
            ("not a SYN", packet(0x10, &LINUX_SYN, &[])),
            ("no MSS option", packet(SYN, &[1, 1, 1, 0], &[])),
            ("already small", packet(SYN, &[2, 4, 0x01, 0x00], &[])),
            (
                "options end before MSS",
                packet(SYN, &[0, 0, 2, 4, 0x05, 0xB4, 0, 0], &[]),
            ),
            (
                "bad option length",
                packet(SYN, &[8, 9, 2, 4, 0x05, 0xB4, 0, 0], &[]),
            ),
        ];
        for (what, p) in cases {
            let mut q = p.clone();
            assert!(!clamp_v4(&mut q, 1356), "{what}");
            assert_eq!(p, q, "{what}");
        }
        let mut udp = packet(SYN, &LINUX_SYN, &[]);
        udp[9] = 17;
        assert!(!clamp_v4(&mut udp, 1356));
        let mut fragment = packet(SYN, &LINUX_SYN, &[]);
        fragment[7] = 1;
        assert!(!clamp_v4(&mut fragment, 1356));
        let mut short = packet(SYN, &LINUX_SYN, &[]);
        short.truncate(50);
        assert!(!clamp_v4(&mut short, 1356));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..120), max: u16) {
            let _ = clamp_v4(&mut bytes, max);
        }

        /// Whatever the MSS and payload, a clamped packet keeps a valid checksum
        /// and carries min(mss, max).
        #[test]
        fn clamping_keeps_the_checksum(mss: u16, max: u16, payload in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut opts = LINUX_SYN;
            opts[2..4].copy_from_slice(&mss.to_be_bytes());
            let mut p = packet(SYN, &opts, &payload);
            prop_assert_eq!(clamp_v4(&mut p, max), mss > max);
            prop_assert_eq!(mss_of(&p), Some(mss.min(max)));
            prop_assert!(valid(&p));
        }
    }

    #[test]
    fn an_ipv6_syn_is_clamped_with_a_valid_checksum() {
        use crate::ipv4::transport_checksum_v6;
        let (src, dst): (std::net::Ipv6Addr, std::net::Ipv6Addr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8:77::1".parse().unwrap(),
        );
        let mut tcp = vec![0u8; 20 + LINUX_SYN.len()];
        tcp[12] = (((20 + LINUX_SYN.len()) / 4) as u8) << 4;
        tcp[13] = SYN;
        tcp[20..].copy_from_slice(&LINUX_SYN);
        let sum = |t: &[u8]| transport_checksum_v6(src.octets(), dst.octets(), TCP, t);
        let c = sum(&tcp);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&(tcp.len() as u16).to_be_bytes());
        p[6] = TCP;
        p[7] = 64;
        p[8..24].copy_from_slice(&src.octets());
        p[24..40].copy_from_slice(&dst.octets());
        p.extend_from_slice(&tcp);
        assert!(clamp_v6(&mut p, 1336));
        assert_eq!(u16::from_be_bytes([p[62], p[63]]), 1336);
        assert_eq!(sum(&p[40..]), 0, "checksum still valid");
        assert!(!clamp_v6(&mut p, 1400), "already small enough");
        let mut v4 = p.clone();
        v4[0] = 0x45;
        assert!(!clamp_v6(&mut v4, 1000));
        assert!(!clamp_v6(&mut p[..50].to_vec(), 1000));
    }
}
