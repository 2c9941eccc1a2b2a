//! The enhanced GRE header (RFC 2637 §4.1): its codec, and sequence-number
//! arithmetic.

use crate::wire::{DecodeError, Reader};

pub const PROTOCOL_PPP: u16 = 0x880B;
const FLAG_K: u16 = 0x2000;
const FLAG_S: u16 = 0x1000;
const FLAG_A: u16 = 0x0080;
const VERSION: u16 = 1;
/// Everything but the K, S and A bits and the version must be zero.
const MUST_BE_ZERO: u16 = !(FLAG_K | FLAG_S | FLAG_A | 0x0007);
pub const MAX_HEADER_LEN: usize = 16;
/// RFC 2637 §1.4: user data packets are at most 1532 octets.
pub const MAX_PAYLOAD: usize = 1532;
const WHAT: &str = "GRE packet";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub call_id: u16,
    pub payload_len: u16,
    pub seq: Option<u32>,
    pub ack: Option<u32>,
}

impl Header {
    pub fn len(&self) -> usize {
        8 + 4 * usize::from(self.seq.is_some()) + 4 * usize::from(self.ack.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.payload_len == 0
    }

    /// Decode a GRE packet (IP header already stripped); returns the header and payload.
    pub fn decode(pkt: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
        let mut r = Reader::new(WHAT, pkt);
        let flags = r.u16()?;
        if flags & MUST_BE_ZERO != 0 || flags & FLAG_K == 0 {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "flags",
                value: flags as u32,
            });
        }
        if flags & 0x0007 != VERSION {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "version",
                value: (flags & 7) as u32,
            });
        }
        let proto = r.u16()?;
        if proto != PROTOCOL_PPP {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "protocol",
                value: proto as u32,
            });
        }
        let payload_len = r.u16()?;
        let call_id = r.u16()?;
        let seq = if flags & FLAG_S != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        let ack = if flags & FLAG_A != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        if seq.is_none() && payload_len != 0 {
            return Err(DecodeError::BadField {
                what: WHAT,
                field: "payload length without sequence",
                value: payload_len as u32,
            });
        }
        if payload_len as usize > MAX_PAYLOAD {
            return Err(DecodeError::BadLength {
                what: WHAT,
                len: payload_len as usize,
            });
        }
        let payload = r.bytes(payload_len as usize)?;
        Ok((
            Header {
                call_id,
                payload_len,
                seq,
                ack,
            },
            payload,
        ))
    }

    /// Write the header into `out` (at least [`MAX_HEADER_LEN`] bytes); returns its length.
    pub fn encode(&self, out: &mut [u8]) -> usize {
        let mut flags = FLAG_K | VERSION;
        if self.seq.is_some() {
            flags |= FLAG_S;
        }
        if self.ack.is_some() {
            flags |= FLAG_A;
        }
        out[0..2].copy_from_slice(&flags.to_be_bytes());
        out[2..4].copy_from_slice(&PROTOCOL_PPP.to_be_bytes());
        out[4..6].copy_from_slice(&self.payload_len.to_be_bytes());
        out[6..8].copy_from_slice(&self.call_id.to_be_bytes());
        let mut n = 8;
        for v in [self.seq, self.ack].into_iter().flatten() {
            out[n..n + 4].copy_from_slice(&v.to_be_bytes());
            n += 4;
        }
        n
    }
}

/// True if `a` comes after `b` in 32-bit sequence space.
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{hex, vector};
    use proptest::prelude::*;

    #[test]
    fn header_vector() {
        let v = vector("gre_enhanced_header_example_computed");
        let frame = hex(&v["inputs"]["ppp_frame"]);
        let h = Header {
            call_id: 0x1234,
            payload_len: frame.len() as u16,
            seq: Some(0),
            ack: None,
        };
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        assert_eq!(out[..n].to_vec(), hex(&v["outputs"]["gre_header"]));
        let full = [&out[..n], &frame[..]].concat();
        assert_eq!(full, hex(&v["outputs"]["full"]));
        let (d, p) = Header::decode(&full).unwrap();
        assert_eq!((d, p), (h, &frame[..]));
    }

    #[test]
    fn ack_only_layout() {
        let h = Header {
            call_id: 9,
            payload_len: 0,
            seq: None,
            ack: Some(0x01020304),
        };
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        assert_eq!(&out[..n], &[0x20, 0x81, 0x88, 0x0B, 0, 0, 0, 9, 1, 2, 3, 4]);
        assert_eq!(Header::decode(&out[..n]).unwrap().0, h);
    }

    #[test]
    fn rejects_malformed() {
        let ok = [0x30, 0x01, 0x88, 0x0B, 0, 1, 0, 9, 0, 0, 0, 1, 0xAA];
        assert!(Header::decode(&ok).is_ok());
        let mut p = ok;
        p[1] = 0x00; // version 0
        assert!(Header::decode(&p).is_err());
        let mut p = ok;
        p[0] = 0xB0; // checksum bit
        assert!(Header::decode(&p).is_err());
        let mut p = ok;
        p[3] = 0x0C;
        assert!(Header::decode(&p).is_err());
        let mut p = ok;
        p[5] = 2; // payload longer than the packet
        assert!(Header::decode(&p).is_err());
        // payload without a sequence number
        assert!(Header::decode(&[0x20, 0x81, 0x88, 0x0B, 0, 1, 0, 9, 0, 0, 0, 1, 0xAA]).is_err());
        assert!(Header::decode(&ok[..10]).is_err());
    }

    #[test]
    fn wraparound() {
        assert!(seq_after(0, u32::MAX));
        assert!(!seq_after(u32::MAX, 0));
        assert!(!seq_after(5, 5));
    }

    proptest! {
        #[test]
        fn roundtrip(call_id: u16, seq: Option<u32>, ack: Option<u32>, payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let seq = if payload.is_empty() { seq } else { seq.or(Some(1)) };
            prop_assume!(seq.is_some() || ack.is_some() || payload.is_empty());
            let h = Header { call_id, payload_len: payload.len() as u16, seq, ack };
            let mut out = vec![0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut out);
            out.truncate(n);
            out.extend_from_slice(&payload);
            let (d, p) = Header::decode(&out).unwrap();
            prop_assert_eq!(d, h);
            prop_assert_eq!(p, &payload[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Header::decode(&data);
        }
    }
}
