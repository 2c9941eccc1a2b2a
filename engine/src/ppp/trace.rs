//! One line per control packet for `--debug`, in the spirit of pppd's
//! `sent [CCP ConfReq id=0x2 ...]`: a lossy path can only be debugged from both
//! ends' packet logs. Authentication packets show only code, identifier and
//! length: a PAP request carries the password, a CHAP response what stands for it.

use std::fmt;

use super::{frame, packet};

/// Longest run of option bytes shown; a longer body is cut and marked.
const MAX_SHOWN: usize = 48;

/// Formats one PPP control packet (protocol + information field).
pub struct Trace<'a> {
    pub proto: u16,
    pub info: &'a [u8],
}

fn protocol_name(proto: u16) -> Option<&'static str> {
    Some(match proto {
        frame::LCP => "LCP",
        frame::PAP => "PAP",
        frame::CHAP => "CHAP",
        frame::EAP => "EAP",
        frame::IPCP => "IPCP",
        frame::IPV6CP => "IPV6CP",
        frame::CCP => "CCP",
        _ => return None,
    })
}

fn code_name(code: u8) -> Option<&'static str> {
    Some(match code {
        packet::CONFIGURE_REQUEST => "ConfReq",
        packet::CONFIGURE_ACK => "ConfAck",
        packet::CONFIGURE_NAK => "ConfNak",
        packet::CONFIGURE_REJECT => "ConfRej",
        packet::TERMINATE_REQUEST => "TermReq",
        packet::TERMINATE_ACK => "TermAck",
        packet::CODE_REJECT => "CodeRej",
        packet::PROTOCOL_REJECT => "ProtRej",
        packet::ECHO_REQUEST => "EchoReq",
        packet::ECHO_REPLY => "EchoRep",
        packet::DISCARD_REQUEST => "DiscReq",
        packet::IDENTIFICATION => "Ident",
        packet::TIME_REMAINING => "TimeRem",
        packet::RESET_REQUEST => "ResetReq",
        packet::RESET_ACK => "ResetAck",
        _ => return None,
    })
}

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match protocol_name(self.proto) {
            Some(n) => f.write_str(n)?,
            None => write!(f, "{:#06x}", self.proto)?,
        }
        let Ok(p) = packet::Packet::decode("PPP control packet", self.info) else {
            return write!(f, " malformed, {} bytes", self.info.len());
        };
        let secret_bearing = matches!(self.proto, frame::PAP | frame::CHAP | frame::EAP);
        match code_name(p.code).filter(|_| !secret_bearing) {
            Some(c) => write!(f, " {c}")?,
            None => write!(f, " code={}", p.code)?,
        }
        write!(f, " id={:#04x}", p.id)?;
        if secret_bearing {
            return write!(f, " len={}", p.data.len());
        }
        if !p.data.is_empty() {
            f.write_str(" <")?;
            for (i, b) in p.data.iter().take(MAX_SHOWN).enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{b:02x}")?;
            }
            if p.data.len() > MAX_SHOWN {
                write!(f, " …{} more", p.data.len() - MAX_SHOWN)?;
            }
            f.write_str(">")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(proto: u16, info: &[u8]) -> String {
        Trace { proto, info }.to_string()
    }

    #[test]
    fn negotiation_packets_show_their_options() {
        let req = packet::encode(packet::CONFIGURE_REQUEST, 2, &[0x12, 6, 1, 0, 0, 0x40]);
        assert_eq!(
            show(frame::CCP, &req),
            "CCP ConfReq id=0x02 <12 06 01 00 00 40>"
        );
        let ack = packet::encode(packet::TERMINATE_ACK, 7, &[]);
        assert_eq!(show(frame::LCP, &ack), "LCP TermAck id=0x07");
    }

    #[test]
    fn authentication_packets_show_no_body() {
        // A PAP request: peer id "u", password "hunter2".
        let body = [1, b'u', 7, b'h', b'u', b'n', b't', b'e', b'r', b'2'];
        let s = show(frame::PAP, &packet::encode(1, 3, &body));
        assert_eq!(s, "PAP code=1 id=0x03 len=10");
        assert!(!s.contains("68") && !s.contains("hunter"), "{s}");
    }

    #[test]
    fn long_and_malformed_bodies_are_bounded() {
        let long = packet::encode(packet::PROTOCOL_REJECT, 1, &[0xAB; 300]);
        let s = show(frame::LCP, &long);
        assert!(s.ends_with("…252 more>"), "{s}");
        assert!(s.len() < 200, "{s}");
        assert_eq!(show(0x1234, &[1, 2]), "0x1234 malformed, 2 bytes");
    }
}
