//! The LCP-style control packet (code, identifier, length, data) shared by LCP,
//! IPCP, CCP, PAP and CHAP, and the type-length-value option lists inside it.

use crate::wire::{DecodeError, Reader};

pub const CONFIGURE_REQUEST: u8 = 1;
pub const CONFIGURE_ACK: u8 = 2;
pub const CONFIGURE_NAK: u8 = 3;
pub const CONFIGURE_REJECT: u8 = 4;
pub const TERMINATE_REQUEST: u8 = 5;
pub const TERMINATE_ACK: u8 = 6;
pub const CODE_REJECT: u8 = 7;
pub const PROTOCOL_REJECT: u8 = 8;
pub const ECHO_REQUEST: u8 = 9;
pub const ECHO_REPLY: u8 = 10;
pub const DISCARD_REQUEST: u8 = 11;
pub const IDENTIFICATION: u8 = 12;
pub const TIME_REMAINING: u8 = 13;
pub const RESET_REQUEST: u8 = 14;
pub const RESET_ACK: u8 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub code: u8,
    pub id: u8,
    pub data: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Decode; bytes past the Length field are padding and ignored (RFC 1661 §5).
    pub fn decode(what: &'static str, buf: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(what, buf);
        let code = r.u8()?;
        let id = r.u8()?;
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(DecodeError::BadLength { what, len });
        }
        let data = r.bytes(len - 4)?;
        Ok(Packet { code, id, data })
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(self.code, self.id, self.data)
    }
}

pub fn encode(code: u8, id: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + data.len());
    v.extend_from_slice(&[code, id]);
    v.extend_from_slice(&((4 + data.len()) as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt<'a> {
    pub kind: u8,
    pub value: &'a [u8],
}

/// Parse a whole option list; any malformed option fails the list, since RFC 1661
/// gives no way to tell where the next one would start.
pub fn parse_options<'a>(
    what: &'static str,
    mut data: &'a [u8],
) -> Result<Vec<Opt<'a>>, DecodeError> {
    let mut v = Vec::new();
    while !data.is_empty() {
        if data.len() < 2 {
            return Err(DecodeError::Truncated {
                what,
                need: 2,
                have: data.len(),
            });
        }
        let len = data[1] as usize;
        if len < 2 || len > data.len() {
            return Err(DecodeError::BadLength { what, len });
        }
        v.push(Opt {
            kind: data[0],
            value: &data[2..len],
        });
        data = &data[len..];
    }
    Ok(v)
}

pub fn put_option(out: &mut Vec<u8>, kind: u8, value: &[u8]) {
    out.push(kind);
    out.push((value.len() + 2) as u8);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packet_and_options() {
        let p = Packet::decode("LCP", &[1, 7, 0, 10, 5, 6, 1, 2, 3, 4, 0xEE]).unwrap();
        assert_eq!((p.code, p.id, p.data.len()), (1, 7, 6));
        let o = parse_options("LCP options", p.data).unwrap();
        assert_eq!(
            o,
            vec![Opt {
                kind: 5,
                value: &[1, 2, 3, 4]
            }]
        );
        assert!(Packet::decode("LCP", &[1, 7, 0, 3]).is_err());
        assert!(Packet::decode("LCP", &[1, 7, 0, 20, 0]).is_err());
        assert!(parse_options("x", &[1, 1]).is_err());
        assert!(parse_options("x", &[1, 5, 0]).is_err());
        assert!(parse_options("x", &[1]).is_err());
    }

    proptest! {
        #[test]
        fn roundtrip(code: u8, id: u8, opts in proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..8)), 0..6)) {
            let mut data = Vec::new();
            for (k, v) in &opts {
                put_option(&mut data, *k, v);
            }
            let bytes = encode(code, id, &data);
            let p = Packet::decode("x", &bytes).unwrap();
            prop_assert_eq!((p.code, p.id, p.data), (code, id, &data[..]));
            let parsed = parse_options("x", p.data).unwrap();
            prop_assert_eq!(parsed.len(), opts.len());
            for (o, (k, v)) in parsed.iter().zip(&opts) {
                prop_assert_eq!((o.kind, o.value), (*k, &v[..]));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = Packet::decode("x", &data) {
                let _ = parse_options("x", p.data);
            }
        }
    }
}
