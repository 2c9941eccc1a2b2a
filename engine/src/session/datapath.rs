//! The per-packet path. [`Tx`] and [`Rx`] each own one direction's PPP and
//! MPPE state and never allocate; the call's GRE state, where the two
//! directions meet (acks), is the link's, lent to each call.

use std::ops::Range;

use crate::gre::{self, Header, Received};
use crate::mppe::{self, Decryptor, Encryptor, MppeError};
use crate::ppp::frame::{self, Framing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the link is not up")]
    NotUp,
    #[error("packet of {0} bytes is larger than the link allows")]
    TooBig(usize),
    #[error("IPv6 is not negotiated on this link")]
    NoIpv6,
    #[error("not an IPv4 or IPv6 packet")]
    NotIp,
}

pub struct Tx {
    pub framing: Framing,
    pub mppe: Option<Encryptor>,
    /// Largest payload the peer accepts (its MRU).
    pub peer_mru: usize,
    /// Clamp the MSS of outgoing TCP SYNs to this.
    pub mss_max: Option<u16>,
}

impl Tx {
    /// Encapsulate one PPP packet into a GRE packet in `out`; returns its length.
    /// Network-layer protocols are encrypted when MPPE is on; control protocols never.
    pub fn encapsulate(
        &mut self,
        gre: &mut gre::Call,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let encrypt = self.mppe.is_some() && (0x0021..=0x00FA).contains(&protocol);
        let ppp_len = if encrypt {
            self.framing.header_len(frame::COMPRESSED) + mppe::HEADER_LEN + 2 + payload.len()
        } else {
            self.framing.header_len(protocol) + payload.len()
        };
        // The control protocols may exceed the MRU slightly (Code-Reject copies); data may not.
        let limit = if protocol < 0x4000 {
            self.peer_mru + mppe::OVERHEAD
        } else {
            gre::MAX_PAYLOAD
        };
        if ppp_len > limit.min(gre::MAX_PAYLOAD) || out.len() < gre::MAX_HEADER_LEN + ppp_len {
            return Err(SendError::TooBig(payload.len()));
        }
        let h = gre.data_header(ppp_len);
        let mut n = h.encode(out);
        if let Some(enc) = self.mppe.as_mut().filter(|_| encrypt) {
            n += self.framing.encode_header(frame::COMPRESSED, &mut out[n..]);
            let hdr_at = n;
            n += mppe::HEADER_LEN;
            // The kernel always encrypts a full 2-byte inner protocol field.
            out[n..n + 2].copy_from_slice(&protocol.to_be_bytes());
            out[n + 2..n + 2 + payload.len()].copy_from_slice(payload);
            let end = n + 2 + payload.len();
            clamp(self.mss_max, protocol, &mut out[n + 2..end]);
            let hdr = enc.encrypt(&mut out[n..end]);
            out[hdr_at..hdr_at + 2].copy_from_slice(&hdr);
            Ok(end)
        } else {
            n += self.framing.encode_header(protocol, &mut out[n..]);
            out[n..n + payload.len()].copy_from_slice(payload);
            clamp(self.mss_max, protocol, &mut out[n..n + payload.len()]);
            Ok(n + payload.len())
        }
    }
}

/// `mss_max` is what an IPv4 segment may carry (see [`crate::tcp_mss::clamp`]).
fn clamp(mss_max: Option<u16>, protocol: u16, ip: &mut [u8]) {
    if let Some(max) = mss_max.filter(|_| protocol == frame::IPV4 || protocol == frame::IPV6) {
        crate::tcp_mss::clamp(ip, max);
    }
}

/// What one received GRE packet turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum RxOutcome {
    /// An IPv4 or IPv6 packet at this range of the input buffer (its version
    /// nibble says which: it was checked against the PPP protocol).
    Ip(Range<usize>),
    /// A PPP packet for the control plane (protocol, range of its information field).
    Control(u16, Range<usize>),
    /// Ack-only packet, or nothing for anyone.
    Nothing,
    Dropped(&'static str),
    Mppe(MppeError),
}

/// What a packet proves before it is opened (see [`Rx::trial`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trial {
    /// An MPPE packet that decrypts to a plausible packet.
    Decrypts,
    /// An MPPE packet that does not (or one that cannot be tried: stateful), or
    /// one that does not parse.
    Fails,
    /// A frame in clear: it proves nothing either way.
    Clear,
}

/// Whether a decrypted MPPE body (inner protocol + payload) looks like real traffic:
/// an IPv4 packet must carry a valid header checksum and its own length.
pub fn plausible_payload(body: &[u8]) -> bool {
    match body {
        [p, rest @ ..] if p & 1 == 1 => plausible_packet(*p as u16, rest),
        [a, b, rest @ ..] if b & 1 == 1 => plausible_packet(u16::from_be_bytes([*a, *b]), rest),
        _ => false,
    }
}

/// Whether a decrypted body (inner protocol + payload) claims to be IPv6.
fn is_ipv6(body: &[u8]) -> bool {
    matches!(body, [0x00, 0x57, ..] | [0x57, ..])
}

/// [`plausible_payload`], counting an IPv6 plaintext only while IPv6 may come.
fn plausible_for(ipv6: bool) -> impl Fn(&[u8]) -> bool {
    move |b| plausible_payload(b) && (ipv6 || !is_ipv6(b))
}

/// A well-formed IPv4 (header checksum, lengths) or IPv6 (version, length)
/// packet of that PPP protocol.
pub fn plausible_packet(proto: u16, ip: &[u8]) -> bool {
    if proto == frame::IPV6 {
        return ip.len() >= 40
            && ip[0] >> 4 == 6
            && u16::from_be_bytes([ip[4], ip[5]]) as usize + 40 == ip.len();
    }
    // Nothing else is ever negotiated; random bytes must not pass as traffic.
    if proto != frame::IPV4 {
        return false;
    }
    let Some(&vihl) = ip.first() else {
        return false;
    };
    let ihl = (vihl & 0x0F) as usize * 4;
    if vihl >> 4 != 4 || ihl < 20 || ip.len() < ihl {
        return false;
    }
    let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    let mut sum: u32 = ip[..ihl]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum == 0xFFFF && total == ip.len()
}

pub struct Rx {
    pub mppe: Option<Decryptor>,
    /// Once MPPE is negotiated, clear-text data must be refused (the kernel does).
    pub require_encryption: bool,
    /// IPv6 may come: negotiated or being negotiated. Otherwise an IPv6-looking
    /// plaintext proves nothing (its check, version and length, is the weakest).
    pub ipv6: bool,
}

impl Rx {
    /// Process one GRE packet (IP header already stripped), decrypting in place.
    /// What the packet claims (its sequence number, its coherency count) is
    /// committed only once it decrypts to a well-formed packet: a forged packet
    /// can be dropped, never believed.
    pub fn decapsulate(&mut self, gre: &mut gre::Call, pkt: &mut [u8], now_ns: u64) -> RxOutcome {
        let (outcome, verified) = self.open(gre, pkt, now_ns);
        let proof = if verified {
            gre::Proof::Decrypted
        } else {
            gre::Proof::Clear
        };
        match &outcome {
            RxOutcome::Ip(_) | RxOutcome::Control(..) => gre.commit(now_ns, proof),
            _ => gre.reject(),
        }
        outcome
    }

    /// For a packet about to wait in the reorder hold: what it proves, tried
    /// on a copy with nothing committed.
    pub fn trial(&mut self, pkt: &[u8], now_ns: u64) -> Trial {
        let Some(payload) = Header::decode(pkt).ok().map(|(_, p)| p) else {
            return Trial::Fails;
        };
        match (frame::decode(payload), self.mppe.as_mut()) {
            (Ok((frame::COMPRESSED, info)), Some(dec)) => {
                if dec.would_open(info, plausible_for(self.ipv6), now_ns) {
                    Trial::Decrypts
                } else {
                    Trial::Fails
                }
            }
            (Ok((frame::COMPRESSED, _)), None) | (Err(_), _) => Trial::Fails,
            (Ok(_), _) => Trial::Clear,
        }
    }

    /// The outcome, and whether decryption vouched for the packet.
    fn open(&mut self, gre: &mut gre::Call, pkt: &mut [u8], now_ns: u64) -> (RxOutcome, bool) {
        let (h, start, len) = match Header::decode(pkt) {
            Ok((h, p)) => (h, h.len(), p.len()),
            Err(_) => {
                gre.stats.malformed += 1;
                return (RxOutcome::Dropped("malformed GRE packet"), false);
            }
        };
        let payload_range = start..start + len;
        match gre.receive(&h, &pkt[payload_range.clone()]) {
            Received::Payload(_) => {}
            Received::Nothing => return (RxOutcome::Nothing, false),
            Received::OtherCall(_) => {
                return (RxOutcome::Dropped("GRE packet for another call"), false)
            }
            // Late control packets go through, uncommitted: a reordered Ack or
            // Success would otherwise cost a restart timeout, and each layer
            // tosses what is stale by its identifier. (The kernel lets late LCP
            // echoes through for the same reason.)
            Received::Late { payload, .. } if frame::is_control(payload) => {}
            Received::Late { .. } => return (RxOutcome::Dropped("late GRE packet"), false),
        }
        let (proto, info_len) = match frame::decode(&pkt[payload_range.clone()]) {
            Ok((p, info)) => (p, info.len()),
            Err(_) => {
                gre.stats.malformed += 1;
                return (RxOutcome::Dropped("malformed PPP frame"), false);
            }
        };
        let info = payload_range.end - info_len..payload_range.end;
        match proto {
            frame::COMPRESSED => {
                let Some(dec) = self.mppe.as_mut() else {
                    return (
                        RxOutcome::Dropped("MPPE packet before MPPE was negotiated"),
                        false,
                    );
                };
                let plausible = plausible_for(self.ipv6);
                match dec.decrypt_checked(&mut pkt[info.clone()], plausible, now_ns) {
                    Ok((frame::IPV4 | frame::IPV6, r)) => (
                        RxOutcome::Ip(info.start + r.start..info.start + r.end),
                        true,
                    ),
                    Ok((p, r)) => (
                        RxOutcome::Control(p, info.start + r.start..info.start + r.end),
                        true,
                    ),
                    Err(e) => (RxOutcome::Mppe(e), false),
                }
            }
            frame::IPV4 | frame::IPV6 if self.require_encryption => (
                RxOutcome::Dropped("unencrypted packet on an MPPE link"),
                false,
            ),
            frame::IPV4 | frame::IPV6 if !plausible_packet(proto, &pkt[info.clone()]) => {
                (RxOutcome::Dropped("malformed IP packet"), false)
            }
            frame::IPV4 | frame::IPV6 => (RxOutcome::Ip(info), false),
            p => (RxOutcome::Control(p, info), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausibility() {
        let mut ip = vec![
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let sum: u32 = ip
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
            .sum();
        let sum = (sum & 0xFFFF) + (sum >> 16);
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        let body = [&[0x00, 0x21][..], &ip].concat();
        assert!(plausible_payload(&body));
        assert!(plausible_payload(&[&[0x21][..], &ip].concat()));
        let mut bad = body.clone();
        bad[12] ^= 1;
        assert!(!plausible_payload(&bad));
        assert!(!plausible_payload(&body[..body.len() - 1]));
        // A random-looking 1-byte protocol is not traffic.
        assert!(!plausible_payload(&[0x23, 1, 2, 3]));
        assert!(!plausible_payload(&[]));
    }

    /// What the link makes up itself and sends into the tunnel (a router
    /// solicitation, an ICMPv6 refusal) passes the receiver's own check.
    #[test]
    fn what_the_link_makes_is_plausible() {
        use std::net::Ipv6Addr;
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let rs = crate::ndisc::router_solicitation(src);
        assert!(plausible_packet(frame::IPV6, &rs));
        let mut syn = vec![0u8; 60];
        syn[0] = 0x60;
        syn[5] = 20;
        syn[6] = 6;
        syn[7] = 64;
        syn[8..24].copy_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        syn[24..40].copy_from_slice(&"2001:db8:79::1".parse::<Ipv6Addr>().unwrap().octets());
        let refusal = crate::icmpv6::unreachable(&syn, crate::icmpv6::ADMIN_PROHIBITED).unwrap();
        assert!(plausible_packet(frame::IPV6, &refusal));
        let mut broken = refusal.clone();
        broken[5] ^= 0x40;
        assert!(
            !plausible_packet(frame::IPV6, &broken),
            "the check can fail"
        );
    }

    /// The kernel's rule: a late LCP echo (or any control frame) still
    /// reaches PPP, whose layers toss what is stale; late data never does.
    #[test]
    fn late_control_frames_reach_ppp_and_late_data_does_not() {
        let mut call = gre::Call::new(5, 6, 64);
        let mut rx = Rx {
            mppe: None,
            require_encryption: false,
            ipv6: false,
        };
        let packet = |seq: u32, payload: &[u8]| {
            let h = gre::Header {
                call_id: 5,
                payload_len: payload.len() as u16,
                seq: Some(seq),
                ack: None,
            };
            let mut out = vec![0u8; gre::MAX_HEADER_LEN + payload.len()];
            let n = h.encode(&mut out);
            out.truncate(n);
            out.extend_from_slice(payload);
            out
        };
        let echo = [0xFF, 0x03, 0xC0, 0x21, 0x09, 1, 0, 8, 0, 0, 0, 0];
        // Number 10 arrived and decrypted: the window is anchored there.
        let first = gre::Header {
            call_id: 5,
            payload_len: 1,
            seq: Some(10),
            ack: None,
        };
        assert!(matches!(
            call.receive(&first, &[0x21]),
            gre::Received::Payload(_)
        ));
        call.commit(0, gre::Proof::Decrypted);
        assert!(matches!(
            rx.decapsulate(&mut call, &mut packet(9, &echo), 0),
            RxOutcome::Control(frame::LCP, _)
        ));
        let mut ip = vec![0x45, 0, 0, 20];
        ip.resize(20, 0);
        let data = [&[0xFF, 0x03, 0x00, 0x21][..], &ip].concat();
        assert!(matches!(
            rx.decapsulate(&mut call, &mut packet(8, &data), 0),
            RxOutcome::Dropped("late GRE packet")
        ));
    }

    /// An IPv6 plaintext proves a packet genuine only while IPv6 may come:
    /// with IPV6CP refused, its weak check (version, length) counts for nothing.
    #[test]
    fn ipv6_plaintext_counts_only_while_ipv6_may_come() {
        use crate::mppe::{MppeParams, StartKey, Strength};
        let params = MppeParams {
            strength: Strength::Bits128,
            stateful: false,
        };
        let mut ip6 = vec![0u8; 48];
        ip6[0] = 0x60;
        ip6[5] = 8; // payload length
        for (ipv6, opened) in [(true, true), (false, false)] {
            let key = StartKey::new([5; 16]);
            let (mut ours, mut theirs) = (gre::Call::new(8, 7, 64), gre::Call::new(7, 8, 64));
            let mut tx = Tx {
                framing: Framing::default(),
                mppe: Some(Encryptor::new(&key, params)),
                peer_mru: 1500,
                mss_max: None,
            };
            let mut rx = Rx {
                mppe: Some(Decryptor::new(&key, params)),
                require_encryption: true,
                ipv6,
            };
            let mut out = [0u8; 128];
            let n = tx
                .encapsulate(&mut ours, frame::IPV6, &ip6, &mut out)
                .unwrap();
            let got = rx.decapsulate(&mut theirs, &mut out[..n], 0);
            assert_eq!(
                matches!(got, RxOutcome::Ip(_)),
                opened,
                "ipv6 {ipv6}: {got:?}"
            );
        }
    }
}
