//! PPP framing inside GRE: optional `FF 03` address/control, a 1- or 2-byte
//! protocol field. No HDLC flags, escapes or FCS ever cross the tunnel.

use crate::wire::DecodeError;

pub const LCP: u16 = 0xC021;
pub const PAP: u16 = 0xC023;
pub const CHAP: u16 = 0xC223;
pub const EAP: u16 = 0xC227;
pub const IPCP: u16 = 0x8021;
pub const IPV6CP: u16 = 0x8057;
pub const CCP: u16 = 0x80FD;
pub const IPV4: u16 = 0x0021;
pub const IPV6: u16 = 0x0057;
/// MPPE/MPPC "compressed datagram".
pub const COMPRESSED: u16 = 0x00FD;
const WHAT: &str = "PPP frame";

/// Header compression negotiated by LCP for what we send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Framing {
    pub acfc: bool,
    pub pfc: bool,
}

impl Framing {
    /// Write the address/control and protocol fields; returns their length.
    /// LCP always keeps both in full (RFC 1661 §6.5, §6.6).
    pub fn encode_header(self, protocol: u16, out: &mut [u8]) -> usize {
        let mut n = 0;
        if !self.acfc || protocol == LCP {
            out[..2].copy_from_slice(&[0xFF, 0x03]);
            n = 2;
        }
        if self.pfc && protocol < 0x100 && protocol != LCP {
            out[n] = protocol as u8;
            n + 1
        } else {
            out[n..n + 2].copy_from_slice(&protocol.to_be_bytes());
            n + 2
        }
    }

    pub fn header_len(self, protocol: u16) -> usize {
        let mut scratch = [0u8; 4];
        self.encode_header(protocol, &mut scratch)
    }

    pub fn frame(self, protocol: u16, info: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 4 + info.len()];
        let n = self.encode_header(protocol, &mut v);
        v[n..n + info.len()].copy_from_slice(info);
        v.truncate(n + info.len());
        v
    }
}

/// Split a frame into protocol and information. Both compressed and full forms are
/// accepted at any time, as the kernel does.
pub fn decode(frame: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    let f = if frame.len() >= 2 && frame[0] == 0xFF && frame[1] == 0x03 {
        &frame[2..]
    } else {
        frame
    };
    match f {
        [] => Err(DecodeError::Truncated {
            what: WHAT,
            need: 1,
            have: frame.len(),
        }),
        [p, rest @ ..] if p & 1 == 1 => Ok((*p as u16, rest)),
        [_] => Err(DecodeError::Truncated {
            what: WHAT,
            need: 2,
            have: frame.len(),
        }),
        [hi, lo, rest @ ..] => {
            if lo & 1 == 0 {
                return Err(DecodeError::BadField {
                    what: WHAT,
                    field: "protocol",
                    value: u16::from_be_bytes([*hi, *lo]) as u32,
                });
            }
            Ok((u16::from_be_bytes([*hi, *lo]), rest))
        }
    }
}

/// Whether a GRE payload is a control packet in clear (LCP, authentication, or a
/// network control protocol: protocol numbers 0x8000 and up). Such a packet carries
/// no data and its own identifier, which its layer checks.
pub fn is_control(frame: &[u8]) -> bool {
    matches!(decode(frame), Ok((p, _)) if p >= 0x8000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lcp_keeps_full_header() {
        let f = Framing {
            acfc: true,
            pfc: true,
        };
        assert_eq!(f.frame(LCP, &[1]), vec![0xFF, 0x03, 0xC0, 0x21, 1]);
        assert_eq!(f.frame(IPV4, &[1]), vec![0x21, 1]);
        assert_eq!(f.frame(IPCP, &[1]), vec![0x80, 0x21, 1]);
        assert_eq!(
            Framing::default().frame(IPV4, &[]),
            vec![0xFF, 0x03, 0x00, 0x21]
        );
    }

    #[test]
    fn decodes_all_forms() {
        assert_eq!(
            decode(&[0xFF, 0x03, 0x00, 0x21, 7]).unwrap(),
            (IPV4, &[7][..])
        );
        assert_eq!(decode(&[0x21, 7]).unwrap(), (IPV4, &[7][..]));
        assert_eq!(decode(&[0x80, 0xFD]).unwrap(), (CCP, &[][..]));
        assert!(decode(&[]).is_err());
        assert!(decode(&[0xFF, 0x03]).is_err());
        assert!(decode(&[0x80]).is_err());
        assert!(decode(&[0x80, 0x22]).is_err());
        assert!(is_control(&[0xFF, 0x03, 0xC0, 0x21, 9, 1, 0, 8]));
        assert!(is_control(&[0x80, 0xFD, 2, 1, 0, 4]));
        assert!(!is_control(&[0xFF, 0x03, 0x00, 0xFD, 0x90, 0]));
        assert!(!is_control(&[0x21, 0x45]));
        assert!(!is_control(&[0xFF]));
    }

    proptest! {
        #[test]
        fn roundtrip(acfc: bool, pfc: bool, proto in prop_oneof![Just(LCP), Just(IPCP), Just(IPV4), Just(CCP), Just(COMPRESSED), Just(CHAP)],
                     info in proptest::collection::vec(any::<u8>(), 0..32)) {
            let f = Framing { acfc, pfc }.frame(proto, &info);
            prop_assert_eq!(decode(&f).unwrap(), (proto, &info[..]));
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode(&data);
        }
    }
}
