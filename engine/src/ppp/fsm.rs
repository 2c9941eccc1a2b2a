//! The option-negotiation automaton of RFC 1661 §4, written once and used by LCP,
//! IPCP and CCP through the [`Options`] trait.
//!
//! Longer than most modules on purpose: RFC 1661's state table is one thing,
//! and its transitions read best side by side (the retransmission and
//! duplicate rules that real servers need sit next to the events they change);
//! a third of the file is its tests.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::packet::{self, Opt, Packet};
use crate::wire::DecodeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Initial,
    Starting,
    Closed,
    Stopped,
    Closing,
    Stopping,
    ReqSent,
    AckRcvd,
    AckSent,
    Opened,
}

/// What the automaton tells the layer above (RFC 1661 §4.4 actions tlu/tld/tls/tlf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerEvent {
    Up,
    Down,
    Started,
    Finished,
}

/// Our answer to the peer's Configure-Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ack,
    Nak,
    Reject,
}

/// Why negotiation cannot succeed; the automaton closes and keeps it for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The peer will not use MPPE the way the policy requires.
    MppeRefused(String),
    /// The peer offers MPPE only in strengths weaker than the policy allows
    /// (what it offers).
    MppeTooWeak(String),
    /// Our magic number came back: the link is looped.
    LoopedBack,
    /// The peer insists on an authentication protocol we refuse.
    AuthRefused(String),
    /// The peer gave us no IPv4 address.
    NoAddress,
    /// The peer would not let us keep the fixed address we asked for.
    AddressRefused {
        wanted: std::net::Ipv4Addr,
        offered: std::net::Ipv4Addr,
    },
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::MppeRefused(s) => write!(f, "MPPE negotiation failed: {s}"),
            Failure::MppeTooWeak(s) => write!(
                f,
                "the server offers only {s} MPPE, weaker than this connection allows"
            ),
            Failure::LoopedBack => {
                f.write_str("the link is looped back (our own magic number came back)")
            }
            Failure::AuthRefused(s) => write!(f, "no acceptable authentication protocol: {s}"),
            Failure::NoAddress => f.write_str("the server did not assign an IPv4 address"),
            Failure::AddressRefused { wanted, offered } => {
                write!(
                    f,
                    "the server would not give us {wanted} (it offered {offered})"
                )
            }
            Failure::Other(s) => f.write_str(s),
        }
    }
}

/// How to answer a Configure-Request, given the options to reject and to Nak:
/// rejects win; Naks go out unless Max-Failure was reached, in which case the
/// offending options are rejected as the peer sent them (RFC 1661 §4.6).
/// `None` means acknowledge.
pub fn answer(
    opts: &[Opt<'_>],
    rejects: &[u8],
    naks: &[u8],
    nak_allowed: bool,
    reply: &mut Vec<u8>,
) -> Option<Verdict> {
    if !rejects.is_empty() {
        reply.extend_from_slice(rejects);
        return Some(Verdict::Reject);
    }
    if naks.is_empty() {
        return None;
    }
    if nak_allowed {
        reply.extend_from_slice(naks);
        return Some(Verdict::Nak);
    }
    let naked: Vec<u8> = packet::parse_options("Nak", naks)
        .map(|v| v.iter().map(|o| o.kind).collect())
        .unwrap_or_default();
    for o in opts.iter().filter(|o| naked.contains(&o.kind)) {
        packet::put_option(reply, o.kind, o.value);
    }
    Some(Verdict::Reject)
}

/// The per-protocol part: which options to ask for and how to answer the peer's.
pub trait Options {
    const PROTOCOL: u16;
    const NAME: &'static str;

    /// Start a new negotiation: forget what was negotiated before.
    fn reset(&mut self);
    /// Our Configure-Request options.
    fn request(&mut self, out: &mut Vec<u8>);
    /// The peer acknowledged exactly our last request.
    fn acked(&mut self) {}
    fn nak(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure>;
    fn reject(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure>;
    /// Judge the peer's request. For `Nak`/`Reject`, write the options to send back into
    /// `reply`; when `nak_allowed` is false (Max-Failure reached) turn Naks into Rejects.
    /// Called only when the options parsed; the verdict `Ack` commits them.
    fn peer_request(
        &mut self,
        opts: &[Opt<'_>],
        reply: &mut Vec<u8>,
        nak_allowed: bool,
    ) -> Result<Verdict, Failure>;
    /// Codes beyond 1–7 (echo, reset, ...). Returns `None` if the code is unknown, which
    /// makes the automaton send Code-Reject; `Some(reply)` otherwise.
    fn extended(&mut self, _pkt: &Packet<'_>, _opened: bool) -> Option<Option<Vec<u8>>> {
        None
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub restart: Duration,
    pub max_configure: u32,
    pub max_terminate: u32,
    pub max_failure: u32,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            restart: Duration::from_secs(3),
            max_configure: 10,
            max_terminate: 2,
            max_failure: 5,
        }
    }
}

/// How many of the peer's requests one negotiation remembers (a handful of
/// Naks is the most any real negotiation takes).
const PEER_REQUESTS_KEPT: usize = 8;

pub struct Fsm<O: Options> {
    /// The protocol's own state: read and changed only by the `impl Fsm<…>`
    /// blocks of its module, which give the layers above methods, not fields.
    pub(in crate::ppp) opts: O,
    state: State,
    timers: Timers,
    next_id: u8,
    req_id: u8,
    last_req: Vec<u8>,
    /// Our current request already got its Ack, Nak or Reject: a second answer
    /// with the same identifier is a duplicate, tossed (as pppd does).
    answered: bool,
    /// The peer's requests answered in this negotiation (identifier, options,
    /// our answer's code). The same again once Opened is a retransmission (our
    /// answer was slow or reordered): an acknowledged one is acknowledged again,
    /// a refused one tossed, rather than restarting the layer.
    peer_requests: VecDeque<(u8, Vec<u8>, u8)>,
    /// See [`Fsm::hold_mirrored_retransmit`].
    hold_mirrored: bool,
    /// One retransmission held back, waiting for evidence.
    held: bool,
    /// The options of the last Nak the peer sent us.
    last_nak: Vec<u8>,
    restart_count: u32,
    naks_sent: u32,
    timer: Option<Instant>,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<LayerEvent>,
    failure: Option<Failure>,
    /// Text the peer put in its Terminate-Request, if any.
    peer_terminate_reason: Option<String>,
    /// The peer sent a Terminate-Request (with or without a reason).
    peer_terminated: bool,
    /// The peer answered a request of ours with a Terminate-Ack while we were
    /// negotiating: see [`Fsm::take_not_yet`].
    not_yet: bool,
    /// Malformed packets received, for diagnostics.
    pub bad_packets: u64,
    /// Configure-Requests sent without any answer (for "is the peer hearing us").
    pub unanswered_requests: u32,
}

impl<O: Options> Fsm<O> {
    pub fn new(opts: O, timers: Timers) -> Self {
        Fsm {
            opts,
            state: State::Initial,
            timers,
            next_id: 1,
            req_id: 0,
            last_req: Vec::new(),
            answered: false,
            peer_requests: VecDeque::new(),
            hold_mirrored: false,
            held: false,
            last_nak: Vec::new(),
            restart_count: 0,
            naks_sent: 0,
            timer: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            failure: None,
            peer_terminate_reason: None,
            peer_terminated: false,
            not_yet: false,
            bad_packets: 0,
            unanswered_requests: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn is_opened(&self) -> bool {
        self.state == State::Opened
    }

    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    pub fn peer_terminate_reason(&self) -> Option<&str> {
        self.peer_terminate_reason.as_deref()
    }

    /// Whether the peer asked to terminate (rather than time out or renegotiate).
    pub fn peer_terminated(&self) -> bool {
        self.peer_terminated
    }

    /// An encoded packet (without the PPP protocol field) to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<LayerEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer
    }

    pub fn next_id(&mut self) -> u8 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Queue an extra packet (echo, reset request) from the layer above.
    pub fn send(&mut self, code: u8, id: u8, data: &[u8]) {
        self.out.push_back(packet::encode(code, id, data));
    }

    // --- actions (RFC 1661 §4.4) ---

    fn tlu(&mut self) {
        self.events.push_back(LayerEvent::Up);
    }
    fn tld(&mut self) {
        self.peer_requests.clear();
        self.events.push_back(LayerEvent::Down);
    }
    fn tls(&mut self) {
        self.events.push_back(LayerEvent::Started);
    }
    fn tlf(&mut self) {
        self.peer_requests.clear();
        self.events.push_back(LayerEvent::Finished);
    }
    fn irc_configure(&mut self) {
        self.restart_count = self.timers.max_configure;
        self.naks_sent = 0;
    }
    fn irc_terminate(&mut self) {
        self.restart_count = self.timers.max_terminate;
    }
    fn zrc(&mut self, now: Instant) {
        self.restart_count = 0;
        self.timer = Some(now + self.timers.restart);
    }
    fn scr(&mut self, now: Instant) {
        if self.restart_count == 0 {
            // First request of a negotiation (Stopped/Closed paths call scr right after irc).
            self.restart_count = self.timers.max_configure;
        }
        self.restart_count -= 1;
        self.req_id = self.next_id();
        self.answered = false;
        self.held = false;
        self.last_req.clear();
        self.opts.request(&mut self.last_req);
        self.send_request(now);
    }
    fn retransmit(&mut self, now: Instant) {
        self.held = false;
        self.restart_count = self.restart_count.saturating_sub(1);
        self.send_request(now);
    }
    /// The current request (identifier and options) onto the wire, timer armed.
    fn send_request(&mut self, now: Instant) {
        self.out.push_back(packet::encode(
            packet::CONFIGURE_REQUEST,
            self.req_id,
            &self.last_req,
        ));
        self.timer = Some(now + self.timers.restart);
        self.unanswered_requests += 1;
    }
    fn str_(&mut self, now: Instant) {
        self.restart_count = self.restart_count.saturating_sub(1);
        let id = self.next_id();
        self.out
            .push_back(packet::encode(packet::TERMINATE_REQUEST, id, &[]));
        self.timer = Some(now + self.timers.restart);
    }
    fn sta(&mut self, id: u8) {
        self.out
            .push_back(packet::encode(packet::TERMINATE_ACK, id, &[]));
    }

    fn set_state(&mut self, s: State) {
        self.state = s;
        if !matches!(
            s,
            State::Closing | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent
        ) {
            self.timer = None;
        }
    }

    // --- events ---

    /// Administrative Open plus lower layer Up: start negotiating.
    pub fn open(&mut self, now: Instant) {
        match self.state {
            State::Initial => {
                self.tls();
                self.state = State::Starting;
                self.up(now);
            }
            State::Starting => self.up(now),
            State::Closed => {
                self.irc_configure();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            State::Closing => self.set_state(State::Stopping),
            _ => {}
        }
    }

    fn up(&mut self, now: Instant) {
        match self.state {
            State::Initial => self.set_state(State::Closed),
            State::Starting => {
                self.opts.reset();
                self.last_nak.clear();
                self.irc_configure();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            _ => {}
        }
    }

    /// Lower layer went away (no packets will flow any more).
    pub fn down(&mut self) {
        match self.state {
            State::Closed | State::Closing => self.set_state(State::Initial),
            State::Stopped => {
                self.tls();
                self.set_state(State::Starting);
            }
            State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent => {
                self.set_state(State::Starting)
            }
            State::Opened => {
                self.tld();
                self.set_state(State::Starting);
            }
            _ => {}
        }
    }

    /// Administrative Close: terminate the link politely.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            State::Starting => {
                self.tlf();
                self.set_state(State::Initial);
            }
            State::Stopped => self.set_state(State::Closed),
            State::Stopping => self.set_state(State::Closing),
            State::ReqSent | State::AckRcvd | State::AckSent => {
                self.irc_terminate();
                self.str_(now);
                self.set_state(State::Closing);
            }
            State::Opened => {
                self.tld();
                self.irc_terminate();
                self.str_(now);
                self.set_state(State::Closing);
            }
            _ => {}
        }
    }

    fn fail(&mut self, now: Instant, f: Failure) {
        if self.failure.is_none() {
            self.failure = Some(f);
        }
        self.close(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self.timer {
            Some(t) if t <= now => {}
            _ => return,
        }
        self.timer = None;
        let positive = self.restart_count > 0;
        match (self.state, positive) {
            (State::Closing, true) | (State::Stopping, true) => self.str_(now),
            // Unanswered: the same request again, identifier unchanged (RFC 1661
            // §5.1 allows it), so that a late Ack of the first copy still counts.
            (State::AckSent, true) if self.hold_mirrored && !self.held && self.mirrored() => {
                // Probably only our Ack was lost and the peer is open: wait one
                // more interval for it to show which (see hold_mirrored_retransmit).
                self.held = true;
                self.timer = Some(now + self.timers.restart);
            }
            (State::ReqSent | State::AckSent, true) => self.retransmit(now),
            (State::AckRcvd, true) => {
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            (State::Closing, false) => {
                self.tlf();
                self.set_state(State::Closed);
            }
            (State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent, false) => {
                self.tlf();
                self.set_state(State::Stopped);
            }
            _ => {}
        }
    }

    /// A packet of this protocol arrived (the PPP protocol field already removed).
    pub fn input(&mut self, now: Instant, data: &[u8]) {
        let pkt = match Packet::decode(O::NAME, data) {
            Ok(p) => p,
            Err(_) => {
                self.bad_packets += 1;
                return;
            }
        };
        if matches!(self.state, State::Initial | State::Starting) {
            // RFC 1661: no packets are expected before the lower layer is up.
            return;
        }
        match pkt.code {
            packet::CONFIGURE_REQUEST => self.rcr(now, &pkt),
            packet::CONFIGURE_ACK => {
                if pkt.id != self.req_id || self.answered {
                    // Stale or repeated (RFC 1661 §5.2: silently discarded).
                } else if pkt.data == &self.last_req[..] {
                    self.answered = true;
                    self.unanswered_requests = 0;
                    self.rca(now);
                } else {
                    self.bad_packets += 1;
                }
            }
            packet::CONFIGURE_NAK | packet::CONFIGURE_REJECT => {
                if pkt.id != self.req_id || self.answered {
                    return;
                }
                self.unanswered_requests = 0;
                let opts = match packet::parse_options(O::NAME, pkt.data) {
                    Ok(o) => o,
                    Err(_) => {
                        self.bad_packets += 1;
                        return;
                    }
                };
                self.answered = true;
                if pkt.code == packet::CONFIGURE_NAK {
                    self.last_nak = pkt.data.to_vec();
                }
                let r = if pkt.code == packet::CONFIGURE_NAK {
                    self.opts.nak(&opts)
                } else {
                    self.opts.reject(&opts)
                };
                match r {
                    Ok(()) => self.rcn(now),
                    Err(f) => self.fail(now, f),
                }
            }
            packet::TERMINATE_REQUEST => {
                self.peer_terminated = true;
                if !pkt.data.is_empty() {
                    self.peer_terminate_reason = Some(sanitize(pkt.data));
                }
                self.rtr(now, pkt.id);
            }
            packet::TERMINATE_ACK => self.rta(now),
            packet::CODE_REJECT => {
                // A rejected code among 1..=7 means the peer cannot negotiate at all.
                let rejected = pkt.data.first().copied().unwrap_or(0);
                if (1..=7).contains(&rejected) {
                    self.rxj_minus(now);
                }
            }
            _ => match self.opts.extended(&pkt, self.state == State::Opened) {
                Some(Some(reply)) => self.out.push_back(reply),
                Some(None) => {}
                None => {
                    let id = self.next_id();
                    let mut rejected = data.to_vec();
                    rejected.truncate(1400);
                    self.out
                        .push_back(packet::encode(packet::CODE_REJECT, id, &rejected));
                }
            },
        }
    }

    fn rcr(&mut self, now: Instant, pkt: &Packet<'_>) {
        match self.state {
            State::Closed => return self.sta(pkt.id),
            State::Closing | State::Stopping => return,
            _ => {}
        }
        let opts = match packet::parse_options(O::NAME, pkt.data) {
            Ok(o) => o,
            Err(
                DecodeError::Truncated { .. }
                | DecodeError::BadLength { .. }
                | DecodeError::BadField { .. },
            ) => {
                self.bad_packets += 1;
                return;
            }
        };
        if self.state == State::Opened {
            let seen = self
                .peer_requests
                .iter()
                .find(|(id, d, _)| *id == pkt.id && d[..] == *pkt.data);
            match seen.map(|r| r.2) {
                Some(packet::CONFIGURE_ACK) => {
                    return self.out.push_back(packet::encode(
                        packet::CONFIGURE_ACK,
                        pkt.id,
                        pkt.data,
                    ))
                }
                Some(_) => return,
                None => {}
            }
        }
        if self.state == State::Stopped || self.state == State::Opened {
            // Renegotiation: start from scratch.
            if self.state == State::Opened {
                self.tld();
            }
            self.opts.reset();
            self.irc_configure();
            self.scr(now);
        }
        let mut reply = Vec::new();
        let nak_allowed = self.naks_sent < self.timers.max_failure;
        let verdict = match self.opts.peer_request(&opts, &mut reply, nak_allowed) {
            Ok(v) => v,
            Err(f) => return self.fail(now, f),
        };
        let good = verdict == Verdict::Ack;
        let (code, body) = match verdict {
            Verdict::Ack => (packet::CONFIGURE_ACK, pkt.data),
            Verdict::Nak => {
                self.naks_sent += 1;
                (packet::CONFIGURE_NAK, &reply[..])
            }
            Verdict::Reject => (packet::CONFIGURE_REJECT, &reply[..]),
        };
        self.out.push_back(packet::encode(code, pkt.id, body));
        if self.peer_requests.len() == PEER_REQUESTS_KEPT {
            self.peer_requests.pop_front();
        }
        self.peer_requests
            .push_back((pkt.id, pkt.data.to_vec(), code));
        let next = match (self.state, good) {
            (State::AckRcvd, true) => {
                self.set_state(State::Opened);
                self.tlu();
                return;
            }
            (State::AckRcvd, false) => State::AckRcvd,
            (_, true) => State::AckSent,
            (_, false) => State::ReqSent,
        };
        self.set_state(next);
    }

    fn rca(&mut self, now: Instant) {
        match self.state {
            State::Closed | State::Stopped => self.sta(self.req_id),
            State::ReqSent => {
                self.opts.acked();
                self.irc_configure();
                self.set_state(State::AckRcvd);
            }
            State::AckRcvd => {
                // Crossed connection: start again.
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            State::AckSent => {
                self.opts.acked();
                self.irc_configure();
                self.set_state(State::Opened);
                self.tlu();
            }
            State::Opened => {
                self.tld();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            _ => {}
        }
    }

    fn rcn(&mut self, now: Instant) {
        match self.state {
            State::Closed | State::Stopped => self.sta(self.req_id),
            State::ReqSent | State::AckRcvd => {
                self.irc_configure_keep_naks();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            State::AckSent => {
                self.irc_configure_keep_naks();
                self.scr(now);
            }
            State::Opened => {
                self.tld();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            _ => {}
        }
    }

    /// irc after a Nak: the restart counter resets, the Nak counter must not (or a peer
    /// that Naks forever would never hit Max-Failure).
    fn irc_configure_keep_naks(&mut self) {
        self.restart_count = self.timers.max_configure;
    }

    fn rtr(&mut self, now: Instant, id: u8) {
        match self.state {
            State::Closed | State::Stopped | State::Closing | State::Stopping => self.sta(id),
            State::ReqSent | State::AckRcvd | State::AckSent => {
                self.sta(id);
                self.set_state(State::ReqSent);
            }
            State::Opened => {
                self.tld();
                self.zrc(now);
                self.sta(id);
                self.state = State::Stopping;
            }
            _ => {}
        }
    }

    fn rta(&mut self, now: Instant) {
        match self.state {
            State::Closing => {
                self.tlf();
                self.set_state(State::Closed);
            }
            State::Stopping => {
                self.tlf();
                self.set_state(State::Stopped);
            }
            State::AckRcvd => self.set_state(State::ReqSent),
            State::Opened => {
                self.tld();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            State::ReqSent | State::AckSent => self.not_yet = true,
            _ => {}
        }
    }

    fn rxj_minus(&mut self, now: Instant) {
        match self.state {
            State::Closed | State::Closing => {
                self.tlf();
                self.set_state(State::Closed);
            }
            State::Stopped | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent => {
                self.tlf();
                self.set_state(State::Stopped);
            }
            State::Opened => {
                self.tld();
                self.irc_terminate();
                self.str_(now);
                self.set_state(State::Stopping);
            }
            _ => {}
        }
    }

    /// Our request is one the peer has said it wants: exactly what it asked for
    /// itself and we acknowledged, or exactly what its last Nak suggested.
    fn mirrored(&self) -> bool {
        let as_asked = self
            .peer_requests
            .iter()
            .rev()
            .find(|r| r.2 == packet::CONFIGURE_ACK)
            .is_some_and(|(_, d, _)| *d == self.last_req);
        as_asked || (!self.last_nak.is_empty() && self.last_nak == self.last_req)
    }

    /// For a layer whose renegotiation the peer may punish (pppd ends an MPPE
    /// link when CCP renegotiates): in AckSent with a mirrored request, the first
    /// restart timeout sends nothing and waits one more interval for the peer to
    /// show it is open (see [`Fsm::ack_implied`]); else the request goes then.
    /// The peer repeating its own request proves nothing here: it may have
    /// acknowledged ours and be waiting only for our Ack, and a path that delays
    /// rather than loses makes our copy arrive after it opened.
    pub fn hold_mirrored_retransmit(&mut self) {
        self.hold_mirrored = true;
    }

    /// The peer has shown by other means that it acknowledged our request (its
    /// Ack was lost on the way): behave as if the Ack had come, instead of
    /// sending the request again. Only in AckSent, and only when we ask for
    /// what the peer said it wants (see `mirrored`). Returns whether it applied.
    pub fn ack_implied(&mut self, now: Instant) -> bool {
        if self.state != State::AckSent || self.answered || !self.mirrored() {
            return false;
        }
        self.answered = true;
        self.unanswered_requests = 0;
        self.rca(now);
        true
    }

    /// Whether the peer answered our request with a Terminate-Ack (RFC 1661
    /// ignores it there): pppd and accel-ppp say "not yet" so to IPCP until
    /// their CCP is open. Reading it clears it.
    pub fn take_not_yet(&mut self) -> bool {
        std::mem::take(&mut self.not_yet)
    }

    /// Send the request again now instead of at the restart timeout (the peer
    /// said "not yet", and now is the time). Only while negotiating.
    pub fn retransmit_now(&mut self, now: Instant) {
        if matches!(self.state, State::ReqSent | State::AckSent) {
            self.retransmit(now);
        }
    }

    /// The peer Protocol-Rejected this protocol (RFC 1661 §5.7: RXJ-).
    pub fn protocol_rejected(&mut self, now: Instant) {
        self.rxj_minus(now);
    }
}

/// Peer-supplied text made safe to log: printable ASCII only, bounded.
pub fn sanitize(data: &[u8]) -> String {
    data.iter()
        .take(200)
        .map(|&b| {
            if (0x20..0x7F).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Test helper shared by the automaton and every protocol's tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Fsm, Options};
    use std::time::Instant;

    /// Deliver everything each side has queued to the other until both are quiet.
    pub fn pump<A: Options, B: Options>(a: &mut Fsm<A>, b: &mut Fsm<B>, now: Instant) {
        for _ in 0..100 {
            let mut moved = false;
            while let Some(p) = a.poll_transmit() {
                b.input(now, &p);
                moved = true;
            }
            while let Some(p) = b.poll_transmit() {
                a.input(now, &p);
                moved = true;
            }
            if !moved {
                return;
            }
        }
        panic!("negotiation did not settle");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy protocol: one option (type 1, one byte). We want value `want`; we accept
    /// the peer's value only if it is in `accept`.
    struct Toy {
        want: u8,
        accept: Vec<u8>,
        suggest: u8,
        acked: bool,
        refuse_naks: bool,
        rejected: bool,
    }

    impl Options for Toy {
        const PROTOCOL: u16 = 0x8001;
        const NAME: &'static str = "toy";
        fn reset(&mut self) {
            self.acked = false;
        }
        fn request(&mut self, out: &mut Vec<u8>) {
            if !self.rejected {
                packet::put_option(out, 1, &[self.want]);
            }
        }
        fn acked(&mut self) {
            self.acked = true;
        }
        fn nak(&mut self, opts: &[Opt<'_>]) -> Result<(), Failure> {
            if self.refuse_naks {
                return Err(Failure::Other("nak refused".into()));
            }
            self.want = opts[0].value[0];
            Ok(())
        }
        fn reject(&mut self, _: &[Opt<'_>]) -> Result<(), Failure> {
            self.rejected = true;
            Ok(())
        }
        fn peer_request(
            &mut self,
            opts: &[Opt<'_>],
            reply: &mut Vec<u8>,
            nak_allowed: bool,
        ) -> Result<Verdict, Failure> {
            let Some(v) = opts.first().map(|o| o.value[0]) else {
                return Ok(Verdict::Ack);
            };
            if self.accept.contains(&v) {
                return Ok(Verdict::Ack);
            }
            if nak_allowed {
                packet::put_option(reply, 1, &[self.suggest]);
                Ok(Verdict::Nak)
            } else {
                packet::put_option(reply, 1, &[v]);
                Ok(Verdict::Reject)
            }
        }
    }

    fn toy(want: u8, accept: &[u8], suggest: u8) -> Fsm<Toy> {
        Fsm::new(
            Toy {
                want,
                accept: accept.to_vec(),
                suggest,
                acked: false,
                refuse_naks: false,
                rejected: false,
            },
            Timers::default(),
        )
    }

    use super::testing::pump;

    #[test]
    fn both_sides_open() {
        let now = Instant::now();
        let (mut a, mut b) = (toy(1, &[2], 2), toy(2, &[1], 1));
        a.open(now);
        b.open(now);
        pump(&mut a, &mut b, now);
        assert!(a.is_opened() && b.is_opened());
        assert!(a.opts.acked && b.opts.acked);
        assert_eq!(a.poll_event(), Some(LayerEvent::Started));
        assert_eq!(a.poll_event(), Some(LayerEvent::Up));
        assert_eq!(a.poll_timeout(), None);
    }

    /// Both sides open, with every packet kept: (from a, from b).
    fn open_recording(
        a: &mut Fsm<Toy>,
        b: &mut Fsm<Toy>,
        now: Instant,
    ) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        a.open(now);
        b.open(now);
        let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            while let Some(p) = a.poll_transmit() {
                b.input(now, &p);
                from_a.push(p);
            }
            while let Some(p) = b.poll_transmit() {
                a.input(now, &p);
                from_b.push(p);
            }
        }
        assert!(a.is_opened() && b.is_opened());
        while a.poll_event().is_some() {}
        (from_a, from_b)
    }

    /// The peer's Configure-Request arrives again after Opened (our Ack was slow):
    /// acknowledged again, and the layer stays up (no renegotiation).
    #[test]
    fn a_repeated_request_in_opened_is_acknowledged_again() {
        let now = Instant::now();
        let (mut a, mut b) = (toy(1, &[2], 2), toy(2, &[1], 1));
        let (_, from_b) = open_recording(&mut a, &mut b, now);
        let req = from_b
            .iter()
            .find(|p| p[0] == packet::CONFIGURE_REQUEST)
            .unwrap();
        a.input(now, req);
        assert!(a.is_opened());
        assert_eq!(a.poll_event(), None, "no Down");
        let ack = a.poll_transmit().expect("a second Ack");
        assert_eq!((ack[0], ack[1]), (packet::CONFIGURE_ACK, req[1]));
        assert_eq!(&ack[4..], &req[4..]);
        assert_eq!(a.poll_transmit(), None, "no new request");
        // A request with a new identifier is a real renegotiation.
        let mut new = req.clone();
        new[1] = new[1].wrapping_add(1);
        a.input(now, &new);
        assert_eq!(a.poll_event(), Some(LayerEvent::Down));
    }

    /// An Ack implied by other means applies only in AckSent, and only when our
    /// request mirrors the peer's acknowledged one.
    #[test]
    fn an_implied_ack_needs_a_mirrored_request() {
        let now = Instant::now();
        for (ours, theirs, applies) in [(1, 1, true), (1, 2, false)] {
            let (mut a, mut b) = (toy(ours, &[1, 2], 2), toy(theirs, &[1, 2], 2));
            a.open(now);
            b.open(now);
            let _lost = a.poll_transmit().unwrap();
            assert!(!a.ack_implied(now), "ReqSent: nothing acknowledged yet");
            a.input(now, &b.poll_transmit().unwrap());
            assert_eq!(a.state(), State::AckSent);
            assert_eq!(a.ack_implied(now), applies, "{ours} vs {theirs}");
            assert_eq!(a.is_opened(), applies);
            assert_eq!(a.opts.acked, applies);
        }
    }

    /// pppd and accel-ppp answer IPCP with a Terminate-Ack until their CCP is
    /// open: the layer notes it (once) and can ask again at once, same
    /// identifier; the Terminate-Ack itself changes nothing.
    #[test]
    fn a_terminate_ack_to_our_request_is_not_yet() {
        let now = Instant::now();
        let mut a = toy(1, &[1], 1);
        a.open(now);
        let req = a.poll_transmit().unwrap();
        assert!(!a.take_not_yet());
        a.input(now, &packet::encode(packet::TERMINATE_ACK, req[1], &[]));
        assert_eq!(a.state(), State::ReqSent);
        assert_eq!(
            a.poll_transmit(),
            None,
            "nothing sent for the Terminate-Ack"
        );
        assert!(a.take_not_yet());
        assert!(!a.take_not_yet(), "read once");
        a.retransmit_now(now);
        assert_eq!(a.poll_transmit(), Some(req), "the same request again");
        // Not while opened: a Terminate-Ack there is RFC 1661's restart.
        let (mut a, mut b) = (toy(1, &[2], 2), toy(2, &[1], 1));
        a.open(now);
        b.open(now);
        pump(&mut a, &mut b, now);
        a.retransmit_now(now);
        assert_eq!(a.poll_transmit(), None);
    }

    /// With the hold on, a mirrored request's first timeout sends nothing, and the
    /// peer repeating its request does not release it (that crosses our request
    /// on a slow path); the next timeout does.
    #[test]
    fn a_held_retransmission_waits_for_evidence() {
        let now = Instant::now();
        for peer_repeats in [true, false] {
            let (mut a, mut b) = (toy(1, &[1], 1), toy(1, &[1], 1));
            a.hold_mirrored_retransmit();
            a.open(now);
            b.open(now);
            let _lost = a.poll_transmit().unwrap();
            let b_req = b.poll_transmit().unwrap();
            a.input(now, &b_req);
            let _ack = a.poll_transmit().unwrap();
            assert_eq!(a.state(), State::AckSent);
            let t1 = a.poll_timeout().unwrap();
            a.handle_timeout(t1);
            assert_eq!(a.poll_transmit(), None, "held");
            if peer_repeats {
                a.input(t1, &b_req);
                assert_eq!(a.poll_transmit().unwrap()[0], packet::CONFIGURE_ACK);
                assert_eq!(a.poll_transmit(), None, "still held");
            }
            a.handle_timeout(a.poll_timeout().unwrap());
            assert_eq!(a.poll_transmit().unwrap()[0], packet::CONFIGURE_REQUEST);
        }
    }

    /// A request we refused, arriving again once Opened, is stale: tossed.
    #[test]
    fn a_stale_refused_request_in_opened_is_tossed() {
        let now = Instant::now();
        // a wants 9, b accepts only 3: b Naks a's first request.
        let (mut a, mut b) = (toy(9, &[2], 2), toy(2, &[3], 3));
        let (from_a, _) = open_recording(&mut a, &mut b, now);
        let first = from_a
            .iter()
            .find(|p| p[0] == packet::CONFIGURE_REQUEST)
            .unwrap();
        while b.poll_event().is_some() {}
        b.input(now, first);
        assert!(b.is_opened());
        assert_eq!(b.poll_event(), None);
        assert_eq!(b.poll_transmit(), None);
    }

    /// An Ack (or Nak, Reject) for a request already answered is a duplicate:
    /// tossed, in Opened as in AckRcvd.
    #[test]
    fn a_repeated_answer_is_tossed() {
        let now = Instant::now();
        let (mut a, mut b) = (toy(1, &[2], 2), toy(2, &[1], 1));
        let (_, from_b) = open_recording(&mut a, &mut b, now);
        let ack = from_b
            .iter()
            .find(|p| p[0] == packet::CONFIGURE_ACK)
            .unwrap();
        a.input(now, ack);
        let mut nak = ack.clone();
        nak[0] = packet::CONFIGURE_NAK;
        a.input(now, &nak);
        assert!(a.is_opened());
        assert_eq!(a.poll_event(), None);
        assert_eq!(a.poll_transmit(), None);

        // AckRcvd: our request acked, the peer's not yet seen; a duplicate Ack
        // must not restart our request.
        let (mut a, mut b) = (toy(1, &[2], 2), toy(2, &[1], 1));
        a.open(now);
        b.open(now);
        let _b_req = b.poll_transmit().unwrap();
        let a_req = a.poll_transmit().unwrap();
        b.input(now, &a_req);
        let b_ack = b.poll_transmit().unwrap();
        a.input(now, &b_ack);
        assert_eq!(a.state(), State::AckRcvd);
        a.input(now, &b_ack);
        assert_eq!(a.state(), State::AckRcvd);
        assert_eq!(a.poll_transmit(), None);
    }

    #[test]
    fn nak_converges() {
        let now = Instant::now();
        // a wants 9 but b only accepts 3 and suggests it.
        let (mut a, mut b) = (toy(9, &[2], 2), toy(2, &[3], 3));
        a.open(now);
        b.open(now);
        pump(&mut a, &mut b, now);
        assert!(a.is_opened() && b.is_opened());
        assert_eq!(a.opts.want, 3);
    }

    #[test]
    fn max_failure_turns_naks_into_rejects() {
        let now = Instant::now();
        // b suggests a value it does not itself accept: a Nak loop that Max-Failure ends.
        let (mut a, mut b) = (toy(9, &[2], 2), toy(2, &[3], 4));
        a.open(now);
        b.open(now);
        pump(&mut a, &mut b, now);
        assert!(b.naks_sent <= Timers::default().max_failure);
        assert!(
            a.is_opened() && b.is_opened(),
            "{:?} {:?}",
            a.state(),
            b.state()
        );
        assert!(a.opts.rejected);
    }

    #[test]
    fn restart_timer_and_max_configure() {
        let mut now = Instant::now();
        let mut a = toy(1, &[2], 2);
        a.open(now);
        let mut sent = 0;
        while let Some(t) = a.poll_timeout() {
            while a.poll_transmit().is_some() {
                sent += 1;
            }
            now = t;
            a.handle_timeout(now);
        }
        assert_eq!(sent, 10);
        assert_eq!(a.state(), State::Stopped);
        assert!(std::iter::from_fn(|| a.poll_event()).any(|e| e == LayerEvent::Finished));
    }

    #[test]
    fn terminate_both_ways() {
        let now = Instant::now();
        let (mut a, mut b) = (toy(1, &[2], 2), toy(2, &[1], 1));
        a.open(now);
        b.open(now);
        pump(&mut a, &mut b, now);
        a.close(now);
        pump(&mut a, &mut b, now);
        assert_eq!(a.state(), State::Closed);
        assert_eq!(b.state(), State::Stopping);
        assert!(std::iter::from_fn(|| b.poll_event()).any(|e| e == LayerEvent::Down));
    }

    #[test]
    fn terminate_reason_is_kept_and_sanitized() {
        let now = Instant::now();
        let mut a = toy(1, &[2], 2);
        a.open(now);
        a.input(
            now,
            &packet::encode(packet::TERMINATE_REQUEST, 9, b"MPPE required\x00\n"),
        );
        assert_eq!(a.peer_terminate_reason(), Some("MPPE required??"));
        let acks: Vec<_> = std::iter::from_fn(|| a.poll_transmit()).collect();
        assert_eq!(
            acks.last().unwrap(),
            &packet::encode(packet::TERMINATE_ACK, 9, &[])
        );
    }

    #[test]
    fn failure_closes() {
        let now = Instant::now();
        let mut a = toy(1, &[2], 2);
        a.opts.refuse_naks = true;
        a.open(now);
        let req = a.poll_transmit().unwrap();
        let id = req[1];
        a.input(now, &packet::encode(packet::CONFIGURE_NAK, id, &[1, 3, 5]));
        assert_eq!(a.state(), State::Closing);
        assert_eq!(a.failure(), Some(&Failure::Other("nak refused".into())));
    }

    #[test]
    fn unknown_code_gets_code_reject_and_bad_packets_are_counted() {
        let now = Instant::now();
        let mut a = toy(1, &[2], 2);
        a.open(now);
        a.poll_transmit();
        a.input(now, &[0x42, 1, 0, 4]);
        let r = a.poll_transmit().unwrap();
        assert_eq!(r[0], packet::CODE_REJECT);
        assert_eq!(&r[4..], &[0x42, 1, 0, 4]);
        a.input(now, &[1, 1, 0]);
        a.input(now, &[1, 1, 0, 6, 1, 9]);
        assert_eq!(a.bad_packets, 2);
        // An Ack with the wrong id or content is ignored.
        a.input(now, &packet::encode(packet::CONFIGURE_ACK, 77, &[1, 3, 1]));
        assert_eq!(a.state(), State::ReqSent);
    }
}
