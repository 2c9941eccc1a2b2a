//! PAP (RFC 1334 §2.2) and CHAP (RFC 1994 §4) packet formats, and the 49-byte
//! MS-CHAP response values (RFC 2433 §5, RFC 2759 §4).

use crate::ppp::packet::{self, Packet};
use crate::wire::{DecodeError, Reader};

pub const CHALLENGE: u8 = 1;
pub const RESPONSE: u8 = 2;
pub const SUCCESS: u8 = 3;
pub const FAILURE: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chap<'a> {
    Challenge {
        id: u8,
        value: &'a [u8],
        name: &'a [u8],
    },
    Response {
        id: u8,
        value: &'a [u8],
        name: &'a [u8],
    },
    Success {
        id: u8,
        message: &'a [u8],
    },
    Failure {
        id: u8,
        message: &'a [u8],
    },
}

impl<'a> Chap<'a> {
    pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "CHAP packet";
        let p = Packet::decode(WHAT, buf)?;
        Ok(match p.code {
            CHALLENGE | RESPONSE => {
                let mut r = Reader::new(WHAT, p.data);
                let size = r.u8()? as usize;
                if size == 0 {
                    return Err(DecodeError::BadLength { what: WHAT, len: 0 });
                }
                let value = r.bytes(size)?;
                let name = r.rest();
                if p.code == CHALLENGE {
                    Chap::Challenge {
                        id: p.id,
                        value,
                        name,
                    }
                } else {
                    Chap::Response {
                        id: p.id,
                        value,
                        name,
                    }
                }
            }
            SUCCESS => Chap::Success {
                id: p.id,
                message: p.data,
            },
            FAILURE => Chap::Failure {
                id: p.id,
                message: p.data,
            },
            c => {
                return Err(DecodeError::BadField {
                    what: WHAT,
                    field: "code",
                    value: c as u32,
                })
            }
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        match *self {
            Chap::Challenge { id, value, name } | Chap::Response { id, value, name } => {
                let code = if matches!(self, Chap::Challenge { .. }) {
                    CHALLENGE
                } else {
                    RESPONSE
                };
                let mut d = Vec::with_capacity(1 + value.len() + name.len());
                d.push(value.len() as u8);
                d.extend_from_slice(value);
                d.extend_from_slice(name);
                packet::encode(code, id, &d)
            }
            Chap::Success { id, message } => packet::encode(SUCCESS, id, message),
            Chap::Failure { id, message } => packet::encode(FAILURE, id, message),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pap<'a> {
    Request {
        id: u8,
        peer_id: &'a [u8],
        password: &'a [u8],
    },
    Ack {
        id: u8,
        message: &'a [u8],
    },
    Nak {
        id: u8,
        message: &'a [u8],
    },
}

/// The Authenticate-Request's password is never shown.
impl std::fmt::Debug for Pap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pap::Request { id, peer_id, .. } => f
                .debug_struct("Request")
                .field("id", id)
                .field("peer_id", &String::from_utf8_lossy(peer_id))
                .field("password", &"<redacted>")
                .finish(),
            Pap::Ack { id, message } => f
                .debug_struct("Ack")
                .field("id", id)
                .field("message", &String::from_utf8_lossy(message))
                .finish(),
            Pap::Nak { id, message } => f
                .debug_struct("Nak")
                .field("id", id)
                .field("message", &String::from_utf8_lossy(message))
                .finish(),
        }
    }
}

impl<'a> Pap<'a> {
    pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "PAP packet";
        let p = Packet::decode(WHAT, buf)?;
        let mut r = Reader::new(WHAT, p.data);
        Ok(match p.code {
            1 => {
                let n = r.u8()? as usize;
                let peer_id = r.bytes(n)?;
                let n = r.u8()? as usize;
                Pap::Request {
                    id: p.id,
                    peer_id,
                    password: r.bytes(n)?,
                }
            }
            2 | 3 => {
                // Some servers send an empty body instead of a zero Msg-Length.
                let message = if r.remaining() == 0 {
                    &[][..]
                } else {
                    let n = r.u8()? as usize;
                    r.bytes(n)?
                };
                if p.code == 2 {
                    Pap::Ack { id: p.id, message }
                } else {
                    Pap::Nak { id: p.id, message }
                }
            }
            c => {
                return Err(DecodeError::BadField {
                    what: WHAT,
                    field: "code",
                    value: c as u32,
                })
            }
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        // Sized once: a growing buffer would leave copies of the password behind.
        let mut d = Vec::with_capacity(match *self {
            Pap::Request {
                peer_id, password, ..
            } => 2 + peer_id.len() + password.len(),
            Pap::Ack { message, .. } | Pap::Nak { message, .. } => 1 + message.len(),
        });
        let (code, id) = match *self {
            Pap::Request {
                id,
                peer_id,
                password,
            } => {
                for f in [peer_id, password] {
                    d.push(f.len() as u8);
                    d.extend_from_slice(f);
                }
                (1, id)
            }
            Pap::Ack { id, message } | Pap::Nak { id, message } => {
                d.push(message.len() as u8);
                d.extend_from_slice(message);
                (
                    if matches!(self, Pap::Ack { .. }) {
                        2
                    } else {
                        3
                    },
                    id,
                )
            }
        };
        let p = packet::encode(code, id, &d);
        // The password travelled through `d`; do not leave a copy behind.
        zeroize::Zeroize::zeroize(&mut d);
        p
    }
}

/// The MS-CHAPv2 Response value: PeerChallenge ‖ 8 reserved ‖ NT-Response ‖ Flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V2Response {
    pub peer_challenge: [u8; 16],
    pub nt_response: [u8; 24],
    pub flags: u8,
}

/// The MS-CHAPv1 Response value: LM-Response ‖ NT-Response ‖ use-NT flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V1Response {
    pub lm_response: [u8; 24],
    pub nt_response: [u8; 24],
    pub use_nt: bool,
}

pub const MSCHAP_RESPONSE_LEN: usize = 49;

impl V2Response {
    pub fn decode(v: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("MS-CHAPv2 response", v);
        if v.len() != MSCHAP_RESPONSE_LEN {
            return Err(DecodeError::BadLength {
                what: "MS-CHAPv2 response",
                len: v.len(),
            });
        }
        let peer_challenge = r.array()?;
        r.bytes(8)?;
        Ok(V2Response {
            peer_challenge,
            nt_response: r.array()?,
            flags: r.u8()?,
        })
    }

    pub fn encode(&self) -> [u8; MSCHAP_RESPONSE_LEN] {
        let mut o = [0u8; MSCHAP_RESPONSE_LEN];
        o[..16].copy_from_slice(&self.peer_challenge);
        o[24..48].copy_from_slice(&self.nt_response);
        o[48] = self.flags;
        o
    }
}

impl V1Response {
    pub fn decode(v: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("MS-CHAPv1 response", v);
        if v.len() != MSCHAP_RESPONSE_LEN {
            return Err(DecodeError::BadLength {
                what: "MS-CHAPv1 response",
                len: v.len(),
            });
        }
        Ok(V1Response {
            lm_response: r.array()?,
            nt_response: r.array()?,
            use_nt: r.u8()? == 1,
        })
    }

    pub fn encode(&self) -> [u8; MSCHAP_RESPONSE_LEN] {
        let mut o = [0u8; MSCHAP_RESPONSE_LEN];
        o[..24].copy_from_slice(&self.lm_response);
        o[24..48].copy_from_slice(&self.nt_response);
        o[48] = u8::from(self.use_nt);
        o
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pap_debug_never_shows_the_password() {
        let p = Pap::Request {
            id: 1,
            peer_id: b"alice",
            password: b"hunter2",
        };
        let d = format!("{p:?}");
        assert!(!d.contains("hunter2") && d.contains("alice"), "{d}");
    }

    use super::*;
    use crate::ppp::frame::{self, Framing};
    use crate::test_vectors::{hex, vector};
    use proptest::prelude::*;

    #[test]
    fn v2_response_vectors() {
        let v = vector("rfc2759_mschapv2_response_value_constructed");
        let value = hex(&v["outputs"]["Value"]);
        let r = V2Response::decode(&value).unwrap();
        assert_eq!(
            r.peer_challenge.to_vec(),
            hex(&v["inputs"]["PeerChallenge"])
        );
        assert_eq!(r.encode().to_vec(), value);
        let p = vector("chap_mschapv2_response_packet_computed");
        let pkt = Chap::Response {
            id: 0x2A,
            value: &value,
            name: b"User",
        }
        .encode();
        assert_eq!(
            Framing::default().frame(frame::CHAP, &pkt),
            hex(&p["outputs"]["ppp_frame"])
        );
    }

    #[test]
    fn malformed() {
        assert!(Chap::decode(&[1, 1, 0, 5, 0]).is_err()); // zero value size
        assert!(Chap::decode(&[1, 1, 0, 6, 5, 1]).is_err()); // value runs past end
        assert!(Chap::decode(&[9, 1, 0, 4]).is_err());
        assert!(Pap::decode(&[1, 1, 0, 6, 3, 1]).is_err());
        assert_eq!(
            Pap::decode(&[2, 1, 0, 4]).unwrap(),
            Pap::Ack {
                id: 1,
                message: &[]
            }
        );
        assert!(V2Response::decode(&[0; 48]).is_err());
        assert!(V1Response::decode(&[0; 50]).is_err());
    }

    proptest! {
        #[test]
        fn chap_roundtrip(id: u8, code in 1u8..=4, value in proptest::collection::vec(any::<u8>(), 1..60), name in proptest::collection::vec(any::<u8>(), 0..30)) {
            let c = match code {
                1 => Chap::Challenge { id, value: &value, name: &name },
                2 => Chap::Response { id, value: &value, name: &name },
                3 => Chap::Success { id, message: &name },
                _ => Chap::Failure { id, message: &name },
            };
            let bytes = c.encode();
            prop_assert_eq!(Chap::decode(&bytes).unwrap(), c);
        }

        #[test]
        fn pap_roundtrip(id: u8, code in 1u8..=3, a in proptest::collection::vec(any::<u8>(), 0..40), b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let p = match code {
                1 => Pap::Request { id, peer_id: &a, password: &b },
                2 => Pap::Ack { id, message: &a },
                _ => Pap::Nak { id, message: &a },
            };
            let bytes = p.encode();
            prop_assert_eq!(Pap::decode(&bytes).unwrap(), p);
        }

        #[test]
        fn mschap_roundtrip(pc: [u8; 16], nt: [u8; 24], lm: [u8; 24], flags: u8, use_nt: bool) {
            let v2 = V2Response { peer_challenge: pc, nt_response: nt, flags };
            prop_assert_eq!(V2Response::decode(&v2.encode()).unwrap(), v2);
            let v1 = V1Response { lm_response: lm, nt_response: nt, use_nt };
            prop_assert_eq!(V1Response::decode(&v1.encode()).unwrap(), v1);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Chap::decode(&data);
            let _ = Pap::decode(&data);
            let _ = V2Response::decode(&data);
            let _ = V1Response::decode(&data);
        }
    }
}
