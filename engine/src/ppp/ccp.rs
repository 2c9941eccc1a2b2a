//! CCP (RFC 1962) carrying only the MPPE option (RFC 3078 §2). Every compression
//! method (BSD, Deflate, MPPC, ...) is rejected: MPPE is all we speak.

use super::frame;
use super::fsm::{Failure, Fsm, Options, Verdict};
use super::packet::{self, put_option, Opt, Packet};
use crate::mppe::{MppeParams, Strength};

const OPT_MPPE: u8 = 18;
const BIT_STATELESS: u32 = 0x0100_0000;
const BIT_56: u32 = 0x80;
const BIT_128: u32 = 0x40;
const BIT_40: u32 = 0x20;

/// What the user allows, as NetworkManager-pptp's `require-mppe*` and
/// `mppe-stateful` keys describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MppePolicy {
    pub allow_40: bool,
    pub allow_56: bool,
    pub allow_128: bool,
    /// Stateful mode is acceptable when the peer asks for it (pppd's `mppe-stateful`).
    pub stateful: bool,
    /// Ask for stateful mode in our own request. pppd never does, and a pppd server
    /// that refuses stateful ends the link when asked ("MPPE required but peer
    /// negotiation failed"), so only an explicit user choice sets this.
    pub request_stateful: bool,
    /// Without MPPE the link must not come up.
    pub required: bool,
}

impl Default for MppePolicy {
    /// The safe default: 128-bit, stateless, required.
    fn default() -> Self {
        MppePolicy {
            allow_40: false,
            allow_56: false,
            allow_128: true,
            stateful: false,
            request_stateful: false,
            required: true,
        }
    }
}

impl MppePolicy {
    pub fn off() -> Self {
        MppePolicy {
            allow_40: false,
            allow_56: false,
            allow_128: false,
            stateful: false,
            request_stateful: false,
            required: false,
        }
    }

    pub fn enabled(&self) -> bool {
        self.allow_40 || self.allow_56 || self.allow_128
    }

    fn strength_bits(&self) -> u32 {
        (if self.allow_40 { BIT_40 } else { 0 })
            | (if self.allow_56 { BIT_56 } else { 0 })
            | (if self.allow_128 { BIT_128 } else { 0 })
    }
}

/// The strongest strength among `bits` (RFC 3078 §2.1 order: S > M > L).
fn strongest(bits: u32) -> Option<(u32, Strength)> {
    [
        (BIT_128, Strength::Bits128),
        (BIT_56, Strength::Bits56),
        (BIT_40, Strength::Bits40),
    ]
    .into_iter()
    .find(|(b, _)| bits & b != 0)
}

fn describe(bits: u32) -> String {
    let mut v: Vec<&str> = Vec::new();
    for (b, n) in [(BIT_128, "128-bit"), (BIT_56, "56-bit"), (BIT_40, "40-bit")] {
        if bits & b != 0 {
            v.push(n);
        }
    }
    if v.is_empty() {
        v.push("no encryption");
    }
    let mode = if bits & BIT_STATELESS != 0 {
        "stateless"
    } else {
        "stateful"
    };
    format!("{} {mode}", v.join("/"))
}

pub struct Ccp {
    policy: MppePolicy,
    req_bits: Option<u32>,
    /// What we receive (our request, acked) and what we send (the peer's, acked).
    pub rx: Option<MppeParams>,
    pub tx: Option<MppeParams>,
    /// Reset-Requests from the peer not yet handed to the encryptor.
    pub reset_requests: u32,
    /// The peer asked for MPPE only in strengths weaker than the policy allows
    /// (described): the reason, when it then ends the link (pppd does so at
    /// once, "MPPE required but peer negotiation failed", without a Nak).
    weaker_offer: Option<String>,
}

impl Ccp {
    pub fn new(policy: MppePolicy) -> Self {
        let mut c = Ccp {
            policy,
            req_bits: None,
            rx: None,
            tx: None,
            reset_requests: 0,
            weaker_offer: None,
        };
        c.reset();
        c
    }

    fn params(bits: u32) -> Option<MppeParams> {
        strongest(bits).map(|(_, strength)| MppeParams {
            strength,
            stateful: bits & BIT_STATELESS == 0,
        })
    }

    pub fn policy(&self) -> &MppePolicy {
        &self.policy
    }

    /// Whether `offered` names MPPE strengths, none allowed and all weaker
    /// than what is: what an active attacker stripping the 128-bit bit from
    /// an unauthenticated CCP exchange also looks like.
    fn only_weaker(&self, offered: u32) -> bool {
        let allowed = self.policy.strength_bits();
        let rank = |bits| strongest(bits).map(|(_, s)| s.bits());
        offered & allowed == 0 && rank(offered).is_some() && rank(offered) < rank(allowed)
    }

    /// What the peer offered, if it was only weaker MPPE than allowed.
    pub fn weaker_offer(&self) -> Option<&str> {
        self.weaker_offer.as_deref()
    }
}

/// What the layers above CCP read from it and ask of it.
impl Fsm<Ccp> {
    /// What we send with, once the peer's request was acknowledged.
    pub fn send_params(&self) -> Option<MppeParams> {
        self.opts.tx
    }

    /// What we receive with, once our request was acknowledged.
    pub fn receive_params(&self) -> Option<MppeParams> {
        self.opts.rx
    }

    /// Whether the peer sent Reset-Requests since the last call: the encryptor
    /// then changes key (one change answers any number of them).
    pub fn take_reset_requests(&mut self) -> bool {
        std::mem::take(&mut self.opts.reset_requests) > 0
    }

    /// Ask the peer to resynchronise its encryptor with us.
    pub fn send_reset_request(&mut self) {
        let id = self.next_id();
        self.send(packet::RESET_REQUEST, id, &[]);
    }

    /// What the peer offered, if it was only weaker MPPE than allowed.
    pub fn weaker_offer(&self) -> Option<&str> {
        self.opts.weaker_offer()
    }
}

impl Options for Ccp {
    const PROTOCOL: u16 = frame::CCP;
    const NAME: &'static str = "CCP";

    fn reset(&mut self) {
        let mode = if self.policy.stateful && self.policy.request_stateful {
            0
        } else {
            BIT_STATELESS
        };
        self.req_bits = self
            .policy
            .enabled()
            .then(|| self.policy.strength_bits() | mode);
        self.rx = None;
        self.tx = None;
    }

    fn request(&mut self, out: &mut Vec<u8>) {
        if let Some(b) = self.req_bits {
            put_option(out, OPT_MPPE, &b.to_be_bytes());
        }
    }

    fn acked(&mut self) {
        self.rx = self.req_bits.and_then(Ccp::params);
    }

    fn nak(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        for o in opts {
            let (OPT_MPPE, Ok(v)) = (o.kind, <[u8; 4]>::try_from(o.value)) else {
                continue;
            };
            let offered = u32::from_be_bytes(v);
            let Some((bit, _)) = strongest(offered & self.policy.strength_bits()) else {
                if self.only_weaker(offered) {
                    return Err(Failure::MppeTooWeak(describe(offered)));
                }
                return Err(Failure::MppeRefused(format!(
                    "the server offers {}, but only {} is allowed",
                    describe(offered),
                    describe(self.policy.strength_bits() | BIT_STATELESS)
                )));
            };
            let stateless = offered & BIT_STATELESS != 0;
            if !stateless && !self.policy.stateful {
                return Err(Failure::MppeRefused(
                    "the server insists on stateful MPPE, which is not allowed".into(),
                ));
            }
            self.req_bits = Some(bit | if stateless { BIT_STATELESS } else { 0 });
        }
        Ok(())
    }

    fn reject(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        if opts.iter().any(|o| o.kind == OPT_MPPE) {
            if self.policy.required {
                return Err(Failure::MppeRefused(
                    "the server rejected MPPE encryption".into(),
                ));
            }
            self.req_bits = None;
        }
        Ok(())
    }

    fn peer_request(
        &mut self,
        opts: &[Opt<'_>],
        reply: &mut Vec<u8>,
        nak_allowed: bool,
    ) -> Result<Verdict, Failure> {
        let mut rejects = Vec::new();
        let mut mppe = None;
        for o in opts {
            match (o.kind, <[u8; 4]>::try_from(o.value)) {
                (OPT_MPPE, Ok(v)) => mppe = Some(u32::from_be_bytes(v)),
                _ => put_option(&mut rejects, o.kind, o.value),
            }
        }
        if !rejects.is_empty() {
            reply.extend_from_slice(&rejects);
            return Ok(Verdict::Reject);
        }
        let Some(bits) = mppe else {
            self.tx = None;
            return Ok(Verdict::Ack);
        };
        let common = bits & self.policy.strength_bits();
        if self.only_weaker(bits) {
            self.weaker_offer = Some(describe(bits));
        }
        // Never Nak a stateless request towards stateful: pppd refuses stateful by
        // default and closes the link when a peer insists ("MPPE required but peer
        // negotiation failed"). Stateful is only used where the peer asks for it.
        let want_stateless = bits & BIT_STATELESS != 0 || !self.policy.stateful;
        let choice = strongest(common)
            .or_else(|| strongest(self.policy.strength_bits()))
            .map(|(b, _)| b | if want_stateless { BIT_STATELESS } else { 0 });
        match choice {
            Some(c) if c == bits => {
                self.tx = Ccp::params(bits);
                Ok(Verdict::Ack)
            }
            Some(c) if nak_allowed => {
                put_option(reply, OPT_MPPE, &c.to_be_bytes());
                Ok(Verdict::Nak)
            }
            _ => {
                put_option(reply, OPT_MPPE, &bits.to_be_bytes());
                Ok(Verdict::Reject)
            }
        }
    }

    fn extended(&mut self, pkt: &Packet<'_>, _opened: bool) -> Option<Option<Vec<u8>>> {
        match pkt.code {
            packet::RESET_REQUEST => {
                self.reset_requests += 1;
                // RFC 1962 §3.1 requires the Ack even though MPPE does not need it.
                Some(Some(packet::encode(packet::RESET_ACK, pkt.id, &[])))
            }
            packet::RESET_ACK => Some(None),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppp::fsm::{Fsm, Timers};
    use crate::test_vectors::{hex, vector};
    use std::time::Instant;

    fn fsm(p: MppePolicy) -> Fsm<Ccp> {
        Fsm::new(Ccp::new(p), Timers::default())
    }

    use crate::ppp::fsm::testing::pump;

    #[test]
    fn default_request_vector() {
        let v = vector("ccp_mppe_confreq_128_stateless_computed");
        let mut c = fsm(MppePolicy::default());
        c.open(Instant::now());
        let p = c.poll_transmit().unwrap();
        assert_eq!(
            crate::ppp::frame::Framing::default().frame(frame::CCP, &p),
            hex(&v["outputs"]["ppp_frame"])
        );
    }

    #[test]
    fn any_strength_client_meets_40_bit_server() {
        let now = Instant::now();
        let any = MppePolicy {
            allow_40: true,
            allow_128: true,
            ..MppePolicy::default()
        };
        let only40 = MppePolicy {
            allow_40: true,
            allow_128: false,
            ..MppePolicy::default()
        };
        let (mut c, mut s) = (fsm(any), fsm(only40));
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        assert!(c.is_opened() && s.is_opened());
        let p = MppeParams {
            strength: Strength::Bits40,
            stateful: false,
        };
        assert_eq!((c.opts.rx, c.opts.tx), (Some(p), Some(p)));
    }

    #[test]
    fn stateful_when_both_allow() {
        let now = Instant::now();
        let sf = MppePolicy {
            stateful: true,
            request_stateful: true,
            ..MppePolicy::default()
        };
        let (mut c, mut s) = (fsm(sf), fsm(sf));
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        let p = MppeParams {
            strength: Strength::Bits128,
            stateful: true,
        };
        assert_eq!((c.opts.rx, c.opts.tx), (Some(p), Some(p)));
        // A stateless-only server turns a stateful-preferring client stateless.
        let (mut c, mut s) = (fsm(sf), fsm(MppePolicy::default()));
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        let p = MppeParams {
            strength: Strength::Bits128,
            stateful: false,
        };
        assert_eq!((c.opts.rx, c.opts.tx), (Some(p), Some(p)));
        // Merely allowing stateful (pppd's mppe-stateful) asks for stateless.
        let allow = MppePolicy {
            request_stateful: false,
            ..sf
        };
        let (mut c, mut s) = (fsm(allow), fsm(allow));
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        assert_eq!((c.opts.rx, c.opts.tx), (Some(p), Some(p)));
    }

    #[test]
    fn stateless_request_is_never_naked_towards_stateful() {
        let mut c = fsm(MppePolicy {
            stateful: true,
            ..MppePolicy::default()
        });
        let stateless = (BIT_STATELESS | BIT_128).to_be_bytes();
        let mut reply = Vec::new();
        let r = c.opts.peer_request(
            &[Opt {
                kind: OPT_MPPE,
                value: &stateless,
            }],
            &mut reply,
            true,
        );
        assert_eq!(r, Ok(Verdict::Ack));
        assert_eq!(
            c.opts.tx,
            Some(MppeParams {
                strength: Strength::Bits128,
                stateful: false
            })
        );
    }

    /// pppd with require-mppe-40 does not Nak our 128-bit request: it ends the
    /// link. Its own request, 40-bit only, is what says why.
    #[test]
    fn a_peer_request_for_weaker_mppe_only_is_remembered() {
        for (bits, want) in [
            (BIT_40 | BIT_STATELESS, Some("40-bit stateless")),
            (BIT_128 | BIT_40 | BIT_STATELESS, None),
        ] {
            let mut c = Ccp::new(MppePolicy::default());
            let value = bits.to_be_bytes();
            let opt = Opt {
                kind: OPT_MPPE,
                value: &value,
            };
            let _ = c.peer_request(&[opt], &mut Vec::new(), true);
            assert_eq!(c.weaker_offer(), want, "{bits:#x}");
        }
    }

    #[test]
    fn required_128_against_40_only_server_fails_clearly() {
        let now = Instant::now();
        let only40 = MppePolicy {
            allow_40: true,
            allow_128: false,
            ..MppePolicy::default()
        };
        let (mut c, mut s) = (fsm(MppePolicy::default()), fsm(only40));
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        let f = c.failure().expect("client must fail");
        assert!(
            matches!(f, Failure::MppeTooWeak(m) if m.contains("40-bit")),
            "{f}"
        );
    }

    #[test]
    fn rejected_mppe_is_fatal_only_when_required() {
        let now = Instant::now();
        for required in [true, false] {
            let mut c = fsm(MppePolicy {
                required,
                ..MppePolicy::default()
            });
            c.open(now);
            let req = c.poll_transmit().unwrap();
            c.input(
                now,
                &packet::encode(packet::CONFIGURE_REJECT, req[1], &req[4..]),
            );
            assert_eq!(c.failure().is_some(), required);
        }
    }

    #[test]
    fn mppc_and_other_methods() {
        let mut c = fsm(MppePolicy::default());
        let mut reply = Vec::new();
        // MPPC bit and 40+128 offered: Nak to exactly 128 stateless.
        let v = (BIT_STATELESS | BIT_128 | BIT_40 | 1).to_be_bytes();
        assert_eq!(
            c.opts.peer_request(
                &[Opt {
                    kind: OPT_MPPE,
                    value: &v
                }],
                &mut reply,
                true
            ),
            Ok(Verdict::Nak)
        );
        assert_eq!(reply, vec![18, 6, 1, 0, 0, 0x40]);
        reply.clear();
        // Deflate (26) and BSD (21) are rejected.
        let r = c.opts.peer_request(
            &[
                Opt {
                    kind: 26,
                    value: &[0x78, 0],
                },
                Opt {
                    kind: 21,
                    value: &[0x2F],
                },
            ],
            &mut reply,
            true,
        );
        assert_eq!(r, Ok(Verdict::Reject));
        assert_eq!(reply, vec![26, 4, 0x78, 0, 21, 3, 0x2F]);
    }

    #[test]
    fn reset_request_is_acked_and_counted() {
        let mut c = fsm(MppePolicy::default());
        let pkt = Packet {
            code: packet::RESET_REQUEST,
            id: 4,
            data: &[],
        };
        assert_eq!(c.opts.extended(&pkt, true), Some(Some(vec![15, 4, 0, 4])));
        assert_eq!(c.opts.reset_requests, 1);
    }
}
