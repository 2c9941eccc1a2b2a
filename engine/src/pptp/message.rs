//! PPTP control messages (RFC 2637 §2): the 12-byte header and all 15 bodies.

use crate::wire::{fixed_str, put_fixed_str, DecodeError, Reader};

pub const MAGIC_COOKIE: u32 = 0x1A2B_3C4D;
pub const HEADER_LEN: usize = 12;
/// The largest control message (Incoming-Call-Request).
pub const MAX_MESSAGE_LEN: usize = 220;
pub const PROTOCOL_VERSION: u16 = 0x0100;
const CONTROL_MESSAGE: u16 = 1;
const WHAT: &str = "PPTP control message";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartControl {
    pub version: u16,
    /// Result and error codes; zero in a request.
    pub result: u8,
    pub error: u8,
    pub framing_caps: u32,
    pub bearer_caps: u32,
    pub max_channels: u16,
    pub firmware: u16,
    pub hostname: String,
    pub vendor: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingCallRequest {
    pub call_id: u16,
    pub call_serial: u16,
    pub min_bps: u32,
    pub max_bps: u32,
    pub bearer_type: u32,
    pub framing_type: u32,
    pub recv_window: u16,
    pub processing_delay: u16,
    pub phone: String,
    pub subaddress: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingCallReply {
    pub call_id: u16,
    pub peer_call_id: u16,
    pub result: u8,
    pub error: u8,
    pub cause: u16,
    pub connect_speed: u32,
    pub recv_window: u16,
    pub processing_delay: u16,
    pub channel_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCallRequest {
    pub call_id: u16,
    pub call_serial: u16,
    pub bearer_type: u32,
    pub channel_id: u32,
    pub dialed_number: String,
    pub dialing_number: String,
    pub subaddress: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCallReply {
    pub call_id: u16,
    pub peer_call_id: u16,
    pub result: u8,
    pub error: u8,
    pub recv_window: u16,
    pub processing_delay: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCallConnected {
    pub peer_call_id: u16,
    pub connect_speed: u32,
    pub recv_window: u16,
    pub processing_delay: u16,
    pub framing_type: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallDisconnectNotify {
    pub call_id: u16,
    pub result: u8,
    pub error: u8,
    pub cause: u16,
    pub statistics: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WanErrorNotify {
    pub peer_call_id: u16,
    pub crc_errors: u32,
    pub framing_errors: u32,
    pub hardware_overruns: u32,
    pub buffer_overruns: u32,
    pub timeout_errors: u32,
    pub alignment_errors: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetLinkInfo {
    pub peer_call_id: u16,
    pub send_accm: u32,
    pub recv_accm: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    StartControlRequest(StartControl),
    StartControlReply(StartControl),
    StopControlRequest {
        reason: u8,
    },
    StopControlReply {
        result: u8,
        error: u8,
    },
    EchoRequest {
        id: u32,
    },
    EchoReply {
        id: u32,
        result: u8,
        error: u8,
    },
    OutgoingCallRequest(OutgoingCallRequest),
    OutgoingCallReply(OutgoingCallReply),
    IncomingCallRequest(IncomingCallRequest),
    IncomingCallReply(IncomingCallReply),
    IncomingCallConnected(IncomingCallConnected),
    CallClearRequest {
        call_id: u16,
    },
    CallDisconnectNotify(CallDisconnectNotify),
    WanErrorNotify(WanErrorNotify),
    SetLinkInfo(SetLinkInfo),
    /// A message this implementation has no use for: a management message (PPTP
    /// message type 2, never specified) or a control message code RFC 2637 does
    /// not define. Its length frames it, so the stream goes on past it; pptp-linux
    /// ignores these too, and some vendors' servers send them.
    Unrecognized {
        pptp_type: u16,
        code: u16,
    },
}

/// The fixed length of each message type, indexed by its code.
fn fixed_len(code: u16) -> Option<usize> {
    Some(match code {
        1 | 2 => 156,
        3..=5 => 16,
        6 => 20,
        7 => 168,
        8 => 32,
        9 => 220,
        10 => 24,
        11 => 28,
        12 => 16,
        13 => 148,
        14 => 40,
        15 => 24,
        _ => return None,
    })
}

impl Message {
    pub fn code(&self) -> u16 {
        match self {
            Message::StartControlRequest(_) => 1,
            Message::StartControlReply(_) => 2,
            Message::StopControlRequest { .. } => 3,
            Message::StopControlReply { .. } => 4,
            Message::EchoRequest { .. } => 5,
            Message::EchoReply { .. } => 6,
            Message::OutgoingCallRequest(_) => 7,
            Message::OutgoingCallReply(_) => 8,
            Message::IncomingCallRequest(_) => 9,
            Message::IncomingCallReply(_) => 10,
            Message::IncomingCallConnected(_) => 11,
            Message::CallClearRequest { .. } => 12,
            Message::CallDisconnectNotify(_) => 13,
            Message::WanErrorNotify(_) => 14,
            Message::SetLinkInfo(_) => 15,
            Message::Unrecognized { code, .. } => *code,
        }
    }

    pub fn name(&self) -> &'static str {
        if let Message::Unrecognized { .. } = self {
            return "unrecognized message";
        }
        match self.code() {
            1 => "Start-Control-Connection-Request",
            2 => "Start-Control-Connection-Reply",
            3 => "Stop-Control-Connection-Request",
            4 => "Stop-Control-Connection-Reply",
            5 => "Echo-Request",
            6 => "Echo-Reply",
            7 => "Outgoing-Call-Request",
            8 => "Outgoing-Call-Reply",
            9 => "Incoming-Call-Request",
            10 => "Incoming-Call-Reply",
            11 => "Incoming-Call-Connected",
            12 => "Call-Clear-Request",
            13 => "Call-Disconnect-Notify",
            14 => "WAN-Error-Notify",
            _ => "Set-Link-Info",
        }
    }

    /// How many bytes the message at the start of `buf` occupies, once its header is
    /// there; `Ok(None)` when fewer than the length field's bytes have arrived.
    pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let len = u16::from_be_bytes([buf[0], buf[1]]) as usize;
        if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len) {
            return Err(DecodeError::BadLength { what: WHAT, len });
        }
        Ok(Some(len))
    }

    /// Decode one whole message. `buf` must be exactly the message's bytes.
    /// A non-zero Reserved0 is tolerated (Cisco PIX sends one).
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(WHAT, buf);
        let len = r.u16()? as usize;
        if len != buf.len() || len > MAX_MESSAGE_LEN {
            return Err(DecodeError::BadLength { what: WHAT, len });
        }
        let pptp_type = r.u16()?;
        // The cookie is what says these bytes are PPTP at all: a stream that
        // lost it is broken (pptp-linux scans on for the next cookie; we end the
        // connection rather than guess where a message starts).
        let magic = r.u32()?;
        if magic != MAGIC_COOKIE {
            return Err(bad("magic cookie", magic));
        }
        let code = r.u16()?;
        let _reserved0 = r.u16()?;
        let Some(need) = fixed_len(code).filter(|_| pptp_type == CONTROL_MESSAGE) else {
            return Ok(Message::Unrecognized { pptp_type, code });
        };
        if len < need {
            return Err(DecodeError::Truncated {
                what: WHAT,
                need,
                have: len,
            });
        }
        let m = match code {
            1 | 2 => {
                let version = r.u16()?;
                let result = r.u8()?;
                let error = r.u8()?;
                let sc = StartControl {
                    version,
                    result: if code == 2 { result } else { 0 },
                    error: if code == 2 { error } else { 0 },
                    framing_caps: r.u32()?,
                    bearer_caps: r.u32()?,
                    max_channels: r.u16()?,
                    firmware: r.u16()?,
                    hostname: fixed_str(r.bytes(64)?),
                    vendor: fixed_str(r.bytes(64)?),
                };
                if code == 1 {
                    Message::StartControlRequest(sc)
                } else {
                    Message::StartControlReply(sc)
                }
            }
            3 => Message::StopControlRequest { reason: r.u8()? },
            4 => Message::StopControlReply {
                result: r.u8()?,
                error: r.u8()?,
            },
            5 => Message::EchoRequest { id: r.u32()? },
            6 => Message::EchoReply {
                id: r.u32()?,
                result: r.u8()?,
                error: r.u8()?,
            },
            7 => {
                let call_id = r.u16()?;
                let call_serial = r.u16()?;
                let min_bps = r.u32()?;
                let max_bps = r.u32()?;
                let bearer_type = r.u32()?;
                let framing_type = r.u32()?;
                let recv_window = r.u16()?;
                let processing_delay = r.u16()?;
                let phone_len = r.u16()? as usize;
                let _ = r.u16()?;
                let phone = r.bytes(64)?;
                let phone = fixed_str(&phone[..phone_len.min(64)]);
                Message::OutgoingCallRequest(OutgoingCallRequest {
                    call_id,
                    call_serial,
                    min_bps,
                    max_bps,
                    bearer_type,
                    framing_type,
                    recv_window,
                    processing_delay,
                    phone,
                    subaddress: fixed_str(r.bytes(64)?),
                })
            }
            8 => Message::OutgoingCallReply(OutgoingCallReply {
                call_id: r.u16()?,
                peer_call_id: r.u16()?,
                result: r.u8()?,
                error: r.u8()?,
                cause: r.u16()?,
                connect_speed: r.u32()?,
                recv_window: r.u16()?,
                processing_delay: r.u16()?,
                channel_id: r.u32()?,
            }),
            9 => {
                let call_id = r.u16()?;
                let call_serial = r.u16()?;
                let bearer_type = r.u32()?;
                let channel_id = r.u32()?;
                let dialed_len = (r.u16()? as usize).min(64);
                let dialing_len = (r.u16()? as usize).min(64);
                let dialed = r.bytes(64)?;
                let dialing = r.bytes(64)?;
                Message::IncomingCallRequest(IncomingCallRequest {
                    call_id,
                    call_serial,
                    bearer_type,
                    channel_id,
                    dialed_number: fixed_str(&dialed[..dialed_len]),
                    dialing_number: fixed_str(&dialing[..dialing_len]),
                    subaddress: fixed_str(r.bytes(64)?),
                })
            }
            10 => Message::IncomingCallReply(IncomingCallReply {
                call_id: r.u16()?,
                peer_call_id: r.u16()?,
                result: r.u8()?,
                error: r.u8()?,
                recv_window: r.u16()?,
                processing_delay: r.u16()?,
            }),
            11 => {
                let peer_call_id = r.u16()?;
                let _ = r.u16()?;
                Message::IncomingCallConnected(IncomingCallConnected {
                    peer_call_id,
                    connect_speed: r.u32()?,
                    recv_window: r.u16()?,
                    processing_delay: r.u16()?,
                    framing_type: r.u32()?,
                })
            }
            12 => Message::CallClearRequest { call_id: r.u16()? },
            13 => {
                let call_id = r.u16()?;
                let result = r.u8()?;
                let error = r.u8()?;
                let cause = r.u16()?;
                let _ = r.u16()?;
                Message::CallDisconnectNotify(CallDisconnectNotify {
                    call_id,
                    result,
                    error,
                    cause,
                    statistics: fixed_str(r.bytes(128)?),
                })
            }
            14 => {
                let peer_call_id = r.u16()?;
                let _ = r.u16()?;
                Message::WanErrorNotify(WanErrorNotify {
                    peer_call_id,
                    crc_errors: r.u32()?,
                    framing_errors: r.u32()?,
                    hardware_overruns: r.u32()?,
                    buffer_overruns: r.u32()?,
                    timeout_errors: r.u32()?,
                    alignment_errors: r.u32()?,
                })
            }
            _ => {
                let peer_call_id = r.u16()?;
                let _ = r.u16()?;
                Message::SetLinkInfo(SetLinkInfo {
                    peer_call_id,
                    send_accm: r.u32()?,
                    recv_accm: r.u32()?,
                })
            }
        };
        Ok(m)
    }

    pub fn encode(&self) -> Vec<u8> {
        let code = self.code();
        let (len, pptp_type) = match self {
            Message::Unrecognized { pptp_type, .. } => (HEADER_LEN, *pptp_type),
            _ => (
                fixed_len(code).expect("every defined message has a length"),
                CONTROL_MESSAGE,
            ),
        };
        let mut o = Vec::with_capacity(len);
        o.extend_from_slice(&(len as u16).to_be_bytes());
        o.extend_from_slice(&pptp_type.to_be_bytes());
        o.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        o.extend_from_slice(&code.to_be_bytes());
        o.extend_from_slice(&[0, 0]);
        let u16 = |o: &mut Vec<u8>, v: u16| o.extend_from_slice(&v.to_be_bytes());
        let u32 = |o: &mut Vec<u8>, v: u32| o.extend_from_slice(&v.to_be_bytes());
        match self {
            Message::StartControlRequest(s) | Message::StartControlReply(s) => {
                u16(&mut o, s.version);
                o.extend_from_slice(&[s.result, s.error]);
                u32(&mut o, s.framing_caps);
                u32(&mut o, s.bearer_caps);
                u16(&mut o, s.max_channels);
                u16(&mut o, s.firmware);
                put_fixed_str(&mut o, &s.hostname, 64);
                put_fixed_str(&mut o, &s.vendor, 64);
            }
            Message::StopControlRequest { reason } => o.extend_from_slice(&[*reason, 0, 0, 0]),
            Message::StopControlReply { result, error } => {
                o.extend_from_slice(&[*result, *error, 0, 0])
            }
            Message::EchoRequest { id } => u32(&mut o, *id),
            Message::EchoReply { id, result, error } => {
                u32(&mut o, *id);
                o.extend_from_slice(&[*result, *error, 0, 0]);
            }
            Message::OutgoingCallRequest(c) => {
                u16(&mut o, c.call_id);
                u16(&mut o, c.call_serial);
                u32(&mut o, c.min_bps);
                u32(&mut o, c.max_bps);
                u32(&mut o, c.bearer_type);
                u32(&mut o, c.framing_type);
                u16(&mut o, c.recv_window);
                u16(&mut o, c.processing_delay);
                u16(&mut o, c.phone.len().min(64) as u16);
                u16(&mut o, 0);
                put_fixed_str(&mut o, &c.phone, 64);
                put_fixed_str(&mut o, &c.subaddress, 64);
            }
            Message::OutgoingCallReply(c) => {
                u16(&mut o, c.call_id);
                u16(&mut o, c.peer_call_id);
                o.extend_from_slice(&[c.result, c.error]);
                u16(&mut o, c.cause);
                u32(&mut o, c.connect_speed);
                u16(&mut o, c.recv_window);
                u16(&mut o, c.processing_delay);
                u32(&mut o, c.channel_id);
            }
            Message::IncomingCallRequest(c) => {
                u16(&mut o, c.call_id);
                u16(&mut o, c.call_serial);
                u32(&mut o, c.bearer_type);
                u32(&mut o, c.channel_id);
                u16(&mut o, c.dialed_number.len().min(64) as u16);
                u16(&mut o, c.dialing_number.len().min(64) as u16);
                put_fixed_str(&mut o, &c.dialed_number, 64);
                put_fixed_str(&mut o, &c.dialing_number, 64);
                put_fixed_str(&mut o, &c.subaddress, 64);
            }
            Message::IncomingCallReply(c) => {
                u16(&mut o, c.call_id);
                u16(&mut o, c.peer_call_id);
                o.extend_from_slice(&[c.result, c.error]);
                u16(&mut o, c.recv_window);
                u16(&mut o, c.processing_delay);
                u16(&mut o, 0);
            }
            Message::IncomingCallConnected(c) => {
                u16(&mut o, c.peer_call_id);
                u16(&mut o, 0);
                u32(&mut o, c.connect_speed);
                u16(&mut o, c.recv_window);
                u16(&mut o, c.processing_delay);
                u32(&mut o, c.framing_type);
            }
            Message::CallClearRequest { call_id } => {
                u16(&mut o, *call_id);
                u16(&mut o, 0);
            }
            Message::CallDisconnectNotify(c) => {
                u16(&mut o, c.call_id);
                o.extend_from_slice(&[c.result, c.error]);
                u16(&mut o, c.cause);
                u16(&mut o, 0);
                put_fixed_str(&mut o, &c.statistics, 128);
            }
            Message::WanErrorNotify(w) => {
                u16(&mut o, w.peer_call_id);
                u16(&mut o, 0);
                for v in [
                    w.crc_errors,
                    w.framing_errors,
                    w.hardware_overruns,
                    w.buffer_overruns,
                    w.timeout_errors,
                    w.alignment_errors,
                ] {
                    u32(&mut o, v);
                }
            }
            Message::SetLinkInfo(s) => {
                u16(&mut o, s.peer_call_id);
                u16(&mut o, 0);
                u32(&mut o, s.send_accm);
                u32(&mut o, s.recv_accm);
            }
            Message::Unrecognized { .. } => {}
        }
        debug_assert_eq!(o.len(), len);
        o
    }
}

fn bad(field: &'static str, value: u32) -> DecodeError {
    DecodeError::BadField {
        what: WHAT,
        field,
        value,
    }
}

/// Reassembles control messages from the TCP byte stream.
#[derive(Default)]
pub struct StreamDecoder {
    buf: Vec<u8>,
}

impl StreamDecoder {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole message, if one has arrived. An error means framing is lost and
    /// the connection must be closed (RFC 2637 §1.4).
    pub fn next_message(&mut self) -> Result<Option<Message>, DecodeError> {
        let Some(len) = Message::frame_len(&self.buf)? else {
            return Ok(None);
        };
        if self.buf.len() < len {
            return Ok(None);
        }
        let m = Message::decode(&self.buf[..len]);
        self.buf.drain(..len);
        m.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{hex, vector};
    use proptest::prelude::*;

    fn sccrq() -> Message {
        Message::StartControlRequest(StartControl {
            version: PROTOCOL_VERSION,
            result: 0,
            error: 0,
            framing_caps: 3,
            bearer_caps: 3,
            max_channels: 0,
            firmware: 1,
            hostname: "local".into(),
            vendor: "rust-pptp".into(),
        })
    }

    #[test]
    fn sccrq_and_ocrq_vectors() {
        let v = vector("pptp_sccrq_ocrq_example_computed");
        assert_eq!(sccrq().encode(), hex(&v["outputs"]["sccrq"]));
        let ocrq = Message::OutgoingCallRequest(OutgoingCallRequest {
            call_id: 0xBEEF,
            call_serial: 1,
            min_bps: 2400,
            max_bps: 10_000_000,
            bearer_type: 3,
            framing_type: 3,
            recv_window: 64,
            processing_delay: 0,
            phone: String::new(),
            subaddress: String::new(),
        });
        assert_eq!(ocrq.encode(), hex(&v["outputs"]["ocrq"]));
        assert_eq!(Message::decode(&ocrq.encode()).unwrap(), ocrq);
    }

    #[test]
    fn rejects_bad_magic_and_length() {
        let good = sccrq().encode();
        let mut m = good.clone();
        m[4] ^= 1;
        assert!(matches!(
            Message::decode(&m),
            Err(DecodeError::BadField {
                field: "magic cookie",
                ..
            })
        ));
        assert!(Message::decode(&good[..100]).is_err());
        // A length field shorter than the type's fixed size.
        let mut m = good[..16].to_vec();
        m[1] = 16;
        assert!(matches!(
            Message::decode(&m),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(Message::frame_len(&[0, 5]).is_err());
        assert!(Message::frame_len(&[1, 0]).is_err());
    }

    #[test]
    fn management_messages_and_undefined_codes_are_framed_and_unrecognized() {
        let good = sccrq().encode();
        // A management message (type 2) of the SCCRQ's length.
        let mut m = good.clone();
        m[3] = 2;
        assert_eq!(
            Message::decode(&m),
            Ok(Message::Unrecognized {
                pptp_type: 2,
                code: 1
            })
        );
        // A control message with a code RFC 2637 does not define, longer than
        // a header: its length is what the stream skips.
        let mut m = good.clone();
        m[9] = 16;
        let mut stream = StreamDecoder::default();
        stream.push(&m);
        stream.push(&good);
        assert_eq!(
            stream.next_message(),
            Ok(Some(Message::Unrecognized {
                pptp_type: 1,
                code: 16
            }))
        );
        assert_eq!(stream.next_message(), Ok(Some(sccrq())));
    }

    #[test]
    fn tolerates_nonzero_reserved0() {
        let mut m = sccrq().encode();
        m[10] = 0xAB;
        assert_eq!(Message::decode(&m).unwrap(), sccrq());
    }

    #[test]
    fn stream_decoder_splits_and_joins() {
        let a = sccrq().encode();
        let b = Message::EchoRequest { id: 7 }.encode();
        let all = [a.clone(), b.clone()].concat();
        let mut d = StreamDecoder::default();
        for chunk in all.chunks(5) {
            d.push(chunk);
        }
        assert_eq!(d.next_message().unwrap(), Some(sccrq()));
        assert_eq!(
            d.next_message().unwrap(),
            Some(Message::EchoRequest { id: 7 })
        );
        assert_eq!(d.next_message().unwrap(), None);
        d.push(&[0xFF, 0xFF]);
        assert!(d.next_message().is_err());
    }

    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[a-zA-Z0-9 .-]{{0,{max}}}")).unwrap()
    }

    fn any_message() -> impl Strategy<Value = Message> {
        let sc = || {
            (
                any::<u16>(),
                any::<u8>(),
                any::<u8>(),
                any::<u32>(),
                any::<u32>(),
                any::<u16>(),
                any::<u16>(),
                text(64),
                text(64),
            )
                .prop_map(
                    |(
                        version,
                        result,
                        error,
                        framing_caps,
                        bearer_caps,
                        max_channels,
                        firmware,
                        hostname,
                        vendor,
                    )| StartControl {
                        version,
                        result,
                        error,
                        framing_caps,
                        bearer_caps,
                        max_channels,
                        firmware,
                        hostname,
                        vendor,
                    },
                )
        };
        prop_oneof![
            (1u16..=3, 16u16..)
                .prop_map(|(pptp_type, code)| Message::Unrecognized { pptp_type, code }),
            (2u16..=3, any::<u16>())
                .prop_map(|(pptp_type, code)| Message::Unrecognized { pptp_type, code }),
            sc().prop_map(|mut s| {
                s.result = 0;
                s.error = 0;
                Message::StartControlRequest(s)
            }),
            sc().prop_map(Message::StartControlReply),
            any::<u8>().prop_map(|reason| Message::StopControlRequest { reason }),
            (any::<u8>(), any::<u8>())
                .prop_map(|(result, error)| Message::StopControlReply { result, error }),
            any::<u32>().prop_map(|id| Message::EchoRequest { id }),
            (any::<u32>(), any::<u8>(), any::<u8>())
                .prop_map(|(id, result, error)| Message::EchoReply { id, result, error }),
            (any::<[u16; 4]>(), any::<[u32; 4]>(), text(64), text(64)).prop_map(
                |(a, b, phone, subaddress)| {
                    Message::OutgoingCallRequest(OutgoingCallRequest {
                        call_id: a[0],
                        call_serial: a[1],
                        min_bps: b[0],
                        max_bps: b[1],
                        bearer_type: b[2],
                        framing_type: b[3],
                        recv_window: a[2],
                        processing_delay: a[3],
                        phone,
                        subaddress,
                    })
                }
            ),
            (any::<[u16; 5]>(), any::<[u8; 2]>(), any::<[u32; 2]>()).prop_map(|(a, c, b)| {
                Message::OutgoingCallReply(OutgoingCallReply {
                    call_id: a[0],
                    peer_call_id: a[1],
                    result: c[0],
                    error: c[1],
                    cause: a[2],
                    connect_speed: b[0],
                    recv_window: a[3],
                    processing_delay: a[4],
                    channel_id: b[1],
                })
            }),
            (
                any::<[u16; 2]>(),
                any::<[u32; 2]>(),
                text(64),
                text(64),
                text(64)
            )
                .prop_map(|(a, b, x, y, z)| {
                    Message::IncomingCallRequest(IncomingCallRequest {
                        call_id: a[0],
                        call_serial: a[1],
                        bearer_type: b[0],
                        channel_id: b[1],
                        dialed_number: x,
                        dialing_number: y,
                        subaddress: z,
                    })
                }),
            (any::<[u16; 4]>(), any::<[u8; 2]>()).prop_map(|(a, c)| {
                Message::IncomingCallReply(IncomingCallReply {
                    call_id: a[0],
                    peer_call_id: a[1],
                    result: c[0],
                    error: c[1],
                    recv_window: a[2],
                    processing_delay: a[3],
                })
            }),
            (any::<[u16; 3]>(), any::<[u32; 2]>()).prop_map(|(a, b)| {
                Message::IncomingCallConnected(IncomingCallConnected {
                    peer_call_id: a[0],
                    connect_speed: b[0],
                    recv_window: a[1],
                    processing_delay: a[2],
                    framing_type: b[1],
                })
            }),
            any::<u16>().prop_map(|call_id| Message::CallClearRequest { call_id }),
            (any::<[u16; 2]>(), any::<[u8; 2]>(), text(128)).prop_map(|(a, c, statistics)| {
                Message::CallDisconnectNotify(CallDisconnectNotify {
                    call_id: a[0],
                    result: c[0],
                    error: c[1],
                    cause: a[1],
                    statistics,
                })
            }),
            (any::<u16>(), any::<[u32; 6]>()).prop_map(|(peer_call_id, e)| {
                Message::WanErrorNotify(WanErrorNotify {
                    peer_call_id,
                    crc_errors: e[0],
                    framing_errors: e[1],
                    hardware_overruns: e[2],
                    buffer_overruns: e[3],
                    timeout_errors: e[4],
                    alignment_errors: e[5],
                })
            }),
            (any::<u16>(), any::<u32>(), any::<u32>()).prop_map(
                |(peer_call_id, send_accm, recv_accm)| {
                    Message::SetLinkInfo(SetLinkInfo {
                        peer_call_id,
                        send_accm,
                        recv_accm,
                    })
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(m in any_message()) {
            let bytes = m.encode();
            prop_assert_eq!(Message::decode(&bytes).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Message::decode(&data);
            let mut d = StreamDecoder::default();
            d.push(&data);
            while let Ok(Some(_)) = d.next_message() {}
        }
    }
}
