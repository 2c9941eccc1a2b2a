//! LCP options (RFC 1661 §6): MRU, authentication protocol, magic number, PFC,
//! ACFC; echo, discard, identification and Protocol-Reject handling.

use std::collections::VecDeque;

use rand::{rngs::StdRng, RngCore};

use super::frame::{self, Framing};
use super::fsm::{Failure, Fsm, Options, Verdict};
use super::packet::{self, put_option, Opt, Packet};

const OPT_MRU: u8 = 1;
const OPT_AUTH: u8 = 3;
const OPT_MAGIC: u8 = 5;
const OPT_PFC: u8 = 7;
const OPT_ACFC: u8 = 8;
const OPT_ACCM: u8 = 2;
/// Smallest MRU a peer may ask for (RFC 791's minimum IPv4 datagram is 68; pppd uses 128).
pub const MIN_MRU: u16 = 128;
pub const DEFAULT_MRU: u16 = 1400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthProtocol {
    Pap,
    ChapMd5,
    MsChapV1,
    MsChapV2,
}

impl AuthProtocol {
    pub fn name(self) -> &'static str {
        match self {
            AuthProtocol::Pap => "pap",
            AuthProtocol::ChapMd5 => "chap",
            AuthProtocol::MsChapV1 => "mschap",
            AuthProtocol::MsChapV2 => "mschapv2",
        }
    }

    /// As people write it.
    pub fn label(self) -> &'static str {
        match self {
            AuthProtocol::Pap => "PAP",
            AuthProtocol::ChapMd5 => "CHAP-MD5",
            AuthProtocol::MsChapV1 => "MS-CHAPv1",
            AuthProtocol::MsChapV2 => "MS-CHAPv2",
        }
    }

    fn encode(self) -> Vec<u8> {
        match self {
            AuthProtocol::Pap => frame::PAP.to_be_bytes().to_vec(),
            AuthProtocol::ChapMd5 => vec![0xC2, 0x23, 0x05],
            AuthProtocol::MsChapV1 => vec![0xC2, 0x23, 0x80],
            AuthProtocol::MsChapV2 => vec![0xC2, 0x23, 0x81],
        }
    }

    fn decode(v: &[u8]) -> Option<AuthProtocol> {
        match v {
            [0xC0, 0x23, ..] => Some(AuthProtocol::Pap),
            [0xC2, 0x23, 0x05] => Some(AuthProtocol::ChapMd5),
            [0xC2, 0x23, 0x80] => Some(AuthProtocol::MsChapV1),
            [0xC2, 0x23, 0x81] => Some(AuthProtocol::MsChapV2),
            _ => None,
        }
    }
}

/// Which methods we agree to authenticate with, as NetworkManager-pptp's
/// `refuse-*` keys describe it. EAP is never done; a server asking for it is Nak'd
/// towards the best allowed method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPolicy {
    pub pap: bool,
    pub chap: bool,
    pub mschap: bool,
    pub mschapv2: bool,
}

impl Default for AuthPolicy {
    /// The safe default for a new connection: MS-CHAPv2 only.
    fn default() -> Self {
        AuthPolicy {
            pap: false,
            chap: false,
            mschap: false,
            mschapv2: true,
        }
    }
}

impl AuthPolicy {
    pub fn all() -> Self {
        AuthPolicy {
            pap: true,
            chap: true,
            mschap: true,
            mschapv2: true,
        }
    }

    pub fn allows(&self, p: AuthProtocol) -> bool {
        match p {
            AuthProtocol::Pap => self.pap,
            AuthProtocol::ChapMd5 => self.chap,
            AuthProtocol::MsChapV1 => self.mschap,
            AuthProtocol::MsChapV2 => self.mschapv2,
        }
    }

    /// Strongest first.
    pub fn best(&self) -> Option<AuthProtocol> {
        [
            AuthProtocol::MsChapV2,
            AuthProtocol::MsChapV1,
            AuthProtocol::ChapMd5,
            AuthProtocol::Pap,
        ]
        .into_iter()
        .find(|p| self.allows(*p))
    }
}

#[derive(Debug, Clone)]
pub struct LcpConfig {
    pub mru: u16,
    /// Methods we will authenticate ourselves with (client role).
    pub accept_auth: AuthPolicy,
    /// Method we demand from the peer (server role).
    pub require_auth: Option<AuthProtocol>,
}

pub struct Lcp {
    cfg: LcpConfig,
    rng: StdRng,
    magic: u32,
    req_mru: bool,
    req_magic: bool,
    req_pfc: bool,
    req_acfc: bool,
    req_auth: Option<AuthProtocol>,
    magic_collisions: u32,
    /// Negotiated results.
    pub peer_mru: u16,
    pub peer_magic: u32,
    pub tx_framing: Framing,
    /// The method the peer wants us to authenticate with.
    pub auth_to_peer: Option<AuthProtocol>,
    /// The method the peer agreed to authenticate itself with.
    pub auth_of_peer: Option<AuthProtocol>,
    /// Protocols the peer Protocol-Rejected, for the session to act on.
    pub protocol_rejects: VecDeque<u16>,
    /// Echo-Requests sent and not answered.
    pub echo_outstanding: u32,
    /// Echo-Requests that carried our own magic number.
    pub looped_echoes: u32,
    /// A method the peer asked us to authenticate with that the policy refuses:
    /// what to tell the user if the link never comes up.
    pub refused_auth: Option<AuthProtocol>,
}

impl Lcp {
    pub fn new(cfg: LcpConfig, rng: StdRng) -> Self {
        let mut l = Lcp {
            cfg,
            rng,
            magic: 0,
            req_mru: true,
            req_magic: true,
            req_pfc: true,
            req_acfc: true,
            req_auth: None,
            magic_collisions: 0,
            peer_mru: 1500,
            peer_magic: 0,
            tx_framing: Framing::default(),
            auth_to_peer: None,
            auth_of_peer: None,
            protocol_rejects: VecDeque::new(),
            echo_outstanding: 0,
            looped_echoes: 0,
            refused_auth: None,
        };
        l.reset();
        l
    }

    pub fn magic(&self) -> u32 {
        self.magic
    }

    pub fn mru(&self) -> u16 {
        self.cfg.mru
    }

    fn new_magic(&mut self) -> u32 {
        loop {
            let m = self.rng.next_u32();
            if m != 0 {
                return m;
            }
        }
    }
}

/// What the layers above LCP read from it and ask of it.
impl Fsm<Lcp> {
    /// The method the peer wants us to authenticate with (client role).
    pub fn auth_to_peer(&self) -> Option<AuthProtocol> {
        self.opts.auth_to_peer
    }

    /// The method the peer agreed to authenticate itself with (server role).
    pub fn auth_of_peer(&self) -> Option<AuthProtocol> {
        self.opts.auth_of_peer
    }

    /// A method the peer asked for that the policy refused.
    pub fn refused_auth(&self) -> Option<AuthProtocol> {
        self.opts.refused_auth
    }

    pub fn peer_mru(&self) -> u16 {
        self.opts.peer_mru
    }

    /// Our own MRU.
    pub fn mru(&self) -> u16 {
        self.opts.mru()
    }

    pub fn tx_framing(&self) -> Framing {
        self.opts.tx_framing
    }

    /// Echo-Requests sent since the last Echo-Reply.
    pub fn unanswered_echoes(&self) -> u32 {
        self.opts.echo_outstanding
    }

    /// An Echo-Request carrying our magic number, counted until answered.
    pub fn send_echo_request(&mut self) {
        self.opts.echo_outstanding = self.opts.echo_outstanding.saturating_add(1);
        let id = self.next_id();
        let magic = self.opts.magic().to_be_bytes();
        self.send(packet::ECHO_REQUEST, id, &magic);
    }

    /// The next protocol the peer Protocol-Rejected, oldest first.
    pub fn take_protocol_reject(&mut self) -> Option<u16> {
        self.opts.protocol_rejects.pop_front()
    }

    /// Refuse a packet of a protocol we do not run (RFC 1661 §5.7), once LCP is
    /// open; the rejected information is cut to fit the peer's MRU.
    pub fn reject_protocol(&mut self, proto: u16, info: &[u8]) {
        if !self.is_opened() {
            return;
        }
        let mut d = proto.to_be_bytes().to_vec();
        let room = usize::from(self.opts.peer_mru).saturating_sub(10);
        d.extend_from_slice(&info[..info.len().min(room)]);
        let id = self.next_id();
        self.send(packet::PROTOCOL_REJECT, id, &d);
    }
}

impl Options for Lcp {
    const PROTOCOL: u16 = frame::LCP;
    const NAME: &'static str = "LCP";

    fn reset(&mut self) {
        self.magic = self.new_magic();
        self.req_mru = self.cfg.mru != 1500;
        self.req_magic = true;
        self.req_pfc = true;
        self.req_acfc = true;
        self.req_auth = self.cfg.require_auth;
        self.magic_collisions = 0;
        self.peer_mru = 1500;
        self.peer_magic = 0;
        self.tx_framing = Framing::default();
        self.auth_to_peer = None;
        self.auth_of_peer = None;
        self.echo_outstanding = 0;
    }

    fn request(&mut self, out: &mut Vec<u8>) {
        if self.req_mru {
            put_option(out, OPT_MRU, &self.cfg.mru.to_be_bytes());
        }
        if let Some(a) = self.req_auth {
            put_option(out, OPT_AUTH, &a.encode());
        }
        if self.req_magic {
            put_option(out, OPT_MAGIC, &self.magic.to_be_bytes());
        }
        if self.req_pfc {
            put_option(out, OPT_PFC, &[]);
        }
        if self.req_acfc {
            put_option(out, OPT_ACFC, &[]);
        }
    }

    fn acked(&mut self) {
        self.auth_of_peer = self.req_auth;
    }

    fn nak(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        for o in opts {
            match (o.kind, o.value) {
                (OPT_MRU, [a, b]) => {
                    // Peer wants us to receive a different size; only go smaller than 1500.
                    let m = u16::from_be_bytes([*a, *b]);
                    if (MIN_MRU..=1500).contains(&m) {
                        self.cfg.mru = m;
                    }
                }
                (OPT_MAGIC, _) => {
                    self.magic_collisions += 1;
                    if self.magic_collisions > 5 {
                        return Err(Failure::LoopedBack);
                    }
                    self.magic = self.new_magic();
                }
                (OPT_AUTH, v) => {
                    // Server role: the client proposes another method. We only ever demand
                    // the configured one.
                    let want = self.req_auth.map(|a| a.name()).unwrap_or("none");
                    let offer = AuthProtocol::decode(v)
                        .map(|a| a.name())
                        .unwrap_or("an unsupported method");
                    return Err(Failure::AuthRefused(format!(
                        "peer offered {offer}, we require {want}"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn reject(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
        for o in opts {
            match o.kind {
                OPT_MRU => self.req_mru = false,
                OPT_MAGIC => self.req_magic = false,
                OPT_PFC => self.req_pfc = false,
                OPT_ACFC => self.req_acfc = false,
                OPT_AUTH => {
                    return Err(Failure::AuthRefused("peer refused to authenticate".into()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn peer_request(
        &mut self,
        opts: &[Opt<'_>],
        reply: &mut Vec<u8>,
        nak_allowed: bool,
    ) -> Result<Verdict, Failure> {
        let mut naks = Vec::new();
        let mut rejects = Vec::new();
        let (mut mru, mut magic, mut pfc, mut acfc, mut auth) = (1500u16, 0u32, false, false, None);
        for o in opts {
            match (o.kind, o.value) {
                (OPT_MRU, [a, b]) => {
                    let m = u16::from_be_bytes([*a, *b]);
                    if m < MIN_MRU {
                        put_option(&mut naks, OPT_MRU, &MIN_MRU.to_be_bytes());
                    } else {
                        mru = m;
                    }
                }
                // Meaningless over GRE but harmless: acknowledge it.
                (OPT_ACCM, [_, _, _, _]) => {}
                (OPT_MAGIC, [a, b, c, d]) => {
                    let m = u32::from_be_bytes([*a, *b, *c, *d]);
                    if m == self.magic && self.req_magic {
                        // RFC 1661 §6.4: possibly looped; Nak with another value and pick a
                        // new one ourselves.
                        self.magic_collisions += 1;
                        if self.magic_collisions > 5 {
                            return Err(Failure::LoopedBack);
                        }
                        self.magic = self.new_magic();
                        let other = self.new_magic();
                        put_option(&mut naks, OPT_MAGIC, &other.to_be_bytes());
                    } else {
                        magic = m;
                    }
                }
                (OPT_PFC, []) => pfc = true,
                (OPT_ACFC, []) => acfc = true,
                (OPT_AUTH, v) => match AuthProtocol::decode(v) {
                    Some(p) if self.cfg.accept_auth.allows(p) => {
                        auth = Some(p);
                        self.refused_auth = None;
                    }
                    asked => {
                        if asked.is_some() {
                            self.refused_auth = asked;
                        }
                        match self.cfg.accept_auth.best() {
                            Some(best) => put_option(&mut naks, OPT_AUTH, &best.encode()),
                            None => put_option(&mut rejects, OPT_AUTH, v),
                        }
                    }
                },
                // Everything else (quality, callback, MRRU, endpoint discriminator, and
                // known options with a bad length).
                (k, v) => put_option(&mut rejects, k, v),
            }
        }
        if let Some(v) = super::fsm::answer(opts, &rejects, &naks, nak_allowed, reply) {
            return Ok(v);
        }
        self.peer_mru = mru;
        self.peer_magic = magic;
        self.tx_framing = Framing { acfc, pfc };
        self.auth_to_peer = auth;
        Ok(Verdict::Ack)
    }

    fn extended(&mut self, pkt: &Packet<'_>, opened: bool) -> Option<Option<Vec<u8>>> {
        Some(match pkt.code {
            packet::PROTOCOL_REJECT => {
                if let [a, b, ..] = pkt.data {
                    self.protocol_rejects
                        .push_back(u16::from_be_bytes([*a, *b]));
                }
                None
            }
            packet::ECHO_REQUEST if opened => {
                if pkt.data.len() >= 4
                    && pkt.data[..4] == self.magic.to_be_bytes()
                    && self.magic != 0
                {
                    self.looped_echoes += 1;
                }
                let mut d = self.magic.to_be_bytes().to_vec();
                d.extend_from_slice(pkt.data.get(4..).unwrap_or(&[]));
                Some(packet::encode(packet::ECHO_REPLY, pkt.id, &d))
            }
            packet::ECHO_REPLY => {
                self.echo_outstanding = 0;
                None
            }
            packet::ECHO_REQUEST
            | packet::DISCARD_REQUEST
            | packet::IDENTIFICATION
            | packet::TIME_REMAINING => None,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppp::fsm::{Fsm, Timers};
    use crate::test_vectors::{hex, vector};
    use rand::SeedableRng;
    use std::time::Instant;

    fn lcp(accept: AuthPolicy, require: Option<AuthProtocol>, seed: u64) -> Fsm<Lcp> {
        let cfg = LcpConfig {
            mru: 1400,
            accept_auth: accept,
            require_auth: require,
        };
        Fsm::new(
            Lcp::new(cfg, StdRng::seed_from_u64(seed)),
            Timers::default(),
        )
    }

    use crate::ppp::fsm::testing::pump;

    #[test]
    fn client_request_matches_vector() {
        let v = vector("lcp_confreq_client_computed");
        let mut l = lcp(AuthPolicy::default(), None, 1);
        l.opts.magic = 0x12345678;
        let mut out = Vec::new();
        l.opts.request(&mut out);
        let frame = Framing::default().frame(frame::LCP, &packet::encode(1, 1, &out));
        assert_eq!(frame, hex(&v["outputs"]["ppp_frame"]));
    }

    #[test]
    fn negotiates_auth_towards_allowed() {
        let now = Instant::now();
        // Server demands CHAP-MD5; client only does MS-CHAPv2: the server must fail clearly.
        let mut c = lcp(AuthPolicy::default(), None, 1);
        let mut s = lcp(AuthPolicy::default(), Some(AuthProtocol::ChapMd5), 2);
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        assert!(matches!(s.failure(), Some(Failure::AuthRefused(_))));

        let mut c = lcp(AuthPolicy::default(), None, 1);
        let mut s = lcp(AuthPolicy::default(), Some(AuthProtocol::MsChapV2), 2);
        c.open(now);
        s.open(now);
        pump(&mut c, &mut s, now);
        assert!(c.is_opened() && s.is_opened());
        assert_eq!(c.opts.auth_to_peer, Some(AuthProtocol::MsChapV2));
        assert_eq!(s.opts.auth_of_peer, Some(AuthProtocol::MsChapV2));
        assert_eq!(
            c.opts.tx_framing,
            Framing {
                acfc: true,
                pfc: true
            }
        );
        assert_eq!(c.opts.peer_mru, 1400);
    }

    #[test]
    fn eap_and_unknown_options() {
        let mut l = lcp(
            AuthPolicy {
                pap: true,
                ..AuthPolicy::default()
            },
            None,
            1,
        );
        let mut reply = Vec::new();
        let eap = [Opt {
            kind: OPT_AUTH,
            value: &[0xC2, 0x27],
        }];
        assert_eq!(
            l.opts.peer_request(&eap, &mut reply, true),
            Ok(Verdict::Nak)
        );
        assert_eq!(reply, vec![3, 5, 0xC2, 0x23, 0x81]);
        reply.clear();
        let cb = [
            Opt {
                kind: 13,
                value: &[6],
            },
            Opt {
                kind: OPT_ACCM,
                value: &[0, 0, 0, 0],
            },
        ];
        assert_eq!(
            l.opts.peer_request(&cb, &mut reply, true),
            Ok(Verdict::Reject)
        );
        assert_eq!(reply, vec![13, 3, 6]);
        reply.clear();
        let bad_mru = [Opt {
            kind: OPT_MRU,
            value: &[1],
        }];
        assert_eq!(
            l.opts.peer_request(&bad_mru, &mut reply, true),
            Ok(Verdict::Reject)
        );
        // With nothing allowed, the auth option is rejected rather than Nak'd.
        let mut none = lcp(
            AuthPolicy {
                pap: false,
                chap: false,
                mschap: false,
                mschapv2: false,
            },
            None,
            1,
        );
        reply.clear();
        assert_eq!(
            none.opts.peer_request(&eap, &mut reply, true),
            Ok(Verdict::Reject)
        );
    }

    #[test]
    fn magic_collision_is_naked_then_loop_detected() {
        let mut l = lcp(AuthPolicy::default(), None, 1);
        for i in 0..7 {
            let m = l.opts.magic.to_be_bytes();
            let mut reply = Vec::new();
            let r = l.opts.peer_request(
                &[Opt {
                    kind: OPT_MAGIC,
                    value: &m,
                }],
                &mut reply,
                true,
            );
            if i < 5 {
                assert_eq!(r, Ok(Verdict::Nak));
            } else {
                assert_eq!(r, Err(Failure::LoopedBack));
                return;
            }
        }
    }

    #[test]
    fn echo_reply_vector() {
        let v = vector("lcp_echo_computed");
        let mut l = lcp(AuthPolicy::default(), None, 1);
        l.opts.magic = 0x9ABCDEF0;
        let req = hex(&v["outputs"]["echo_request_frame"]);
        let (_, info) = frame::decode(&req).unwrap();
        let pkt = Packet::decode("LCP", info).unwrap();
        let reply = l.opts.extended(&pkt, true).unwrap().unwrap();
        assert_eq!(
            Framing::default().frame(frame::LCP, &reply),
            hex(&v["outputs"]["echo_reply_frame"])
        );
        // Not answered before the link is open.
        assert_eq!(l.opts.extended(&pkt, false), Some(None));
    }
}
