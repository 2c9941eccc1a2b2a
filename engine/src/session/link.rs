//! PPP over one GRE call: LCP → authentication → CCP + IPCP (+ IPV6CP) → up, for
//! either role.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use tracing::{debug, info, warn};
use zeroize::Zeroize;

use super::datapath::{Rx, RxOutcome, SendError, Trial, Tx};
use super::flush_nudge::FlushNudge;
use super::reorder::ReorderHold;
use super::{DownReason, Event, Ipv6Link, Phase, PppConfig, UpInfo};
use crate::auth::authenticator::{self, Authenticator};
use crate::auth::peer::{AuthPeer, Outcome};
use crate::auth::{AuthError, AuthProtocol, MppeKeys};
use crate::dhcp;
use crate::gre;
use crate::mppe::{self, Decryptor, Encryptor, MppeError};
use crate::ndisc::{self, Offer, RouterDiscovery};
use crate::ppp::ccp::{Ccp, MppePolicy};
use crate::ppp::frame::{self, Framing};
use crate::ppp::fsm::{Failure, Fsm, LayerEvent, State};
use crate::ppp::ipcp::{Ipcp, IpcpConfig};
use crate::ppp::ipv6cp::Ipv6cp;
use crate::ppp::lcp::{Lcp, LcpConfig};
use crate::ppp::packet;
use crate::ppp::trace::Trace;
use crate::secret::Password;

/// How long decryption errors must go on with nothing genuine decrypted before
/// the link counts as broken ("too many MPPE errors").
const MPPE_QUIET_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) enum Role {
    Client {
        user: String,
        password: Password,
        /// Someone can type a new password when the server allows a retry.
        password_retry: bool,
    },
    Server {
        users: Vec<(String, Password)>,
        misbehaviour: authenticator::Misbehaviour,
        push: Option<dhcp::Pushed>,
    },
}

enum AuthSide {
    Pending,
    Peer(AuthPeer),
    Authenticator(Authenticator),
    Done,
}

/// How long to wait for the peer's Terminate-Ack before moving on.
const TERMINATE_WAIT: Duration = Duration::from_secs(1);
/// How often to repeat a CCP Reset-Request while MPPE stays out of sync. pppd waits
/// 1 s; on a lossy path each lost request then costs a second of traffic. Extra
/// resets are harmless: the sender coalesces them, and the receiver's key search
/// absorbs the extra key changes.
/// Network-phase packets kept during authentication (one of each per side is
/// what a server sends; the rest is noise).
const HELD_NCP: usize = 4;
const RESET_RETRY: Duration = Duration::from_millis(100);
/// Any packet can claim a stateful loss; this spaces the Reset-Requests such
/// claims cause (a held one goes out by the retry timer).
const RESET_MIN_GAP: Duration = Duration::from_millis(20);
/// How long the link waits, once IPv4 is ready, for IPV6CP to finish before it
/// comes up without IPv6. A server without IPv6 rejects the protocol at once;
/// this bounds a server that neither rejects nor answers.
const IPV6_WAIT: Duration = Duration::from_secs(2);
/// ICMPv6 refusals of IPv6 on a link without it: at most one per this gap
/// (RFC 4443 §2.4 (f) asks for a limit).
const REFUSAL_GAP: Duration = Duration::from_millis(10);

pub(crate) struct Link {
    cfg: PppConfig,
    role: Role,
    pub phase: Phase,
    lcp: Fsm<Lcp>,
    ipcp: Fsm<Ipcp>,
    /// None when the connection turned IPv6 off.
    ipv6cp: Option<Fsm<Ipv6cp>>,
    /// When IPv4 was ready to come up and IPV6CP had not finished.
    ipv6_wait_until: Option<Instant>,
    /// IPv6 is carried (IPV6CP opened and the link is up with it).
    ipv6_up: bool,
    /// Router solicitations and advertisements (client role, IPv6 up).
    ndisc: Option<RouterDiscovery>,
    ccp: Fsm<Ccp>,
    mppe_policy: MppePolicy,
    ccp_done: bool,
    auth: AuthSide,
    auth_method: Option<AuthProtocol>,
    keys: Option<MppeKeys>,
    /// The DHCPINFORM exchange once the link is up (client only, unless turned off).
    inform: Option<dhcp::Inform>,
    /// The keys MPPE ran with before LCP was renegotiated: never again.
    spent_keys: Option<MppeKeys>,
    tx: Tx,
    rx: Rx,
    shared: Arc<gre::Shared>,
    epoch: Instant,
    gre_out: VecDeque<Vec<u8>>,
    pub events: VecDeque<Event>,
    pub down: Option<DownReason>,
    gre_received: bool,
    /// When a packet last decrypted to something genuine (or MPPE started): a
    /// storm of bad packets ends the link only if nothing genuine comes through.
    last_decrypted: Option<Instant>,
    echo_next: Option<Instant>,
    reset_retry: Option<Instant>,
    /// Network-phase packets that came while authentication was still going on
    /// (the server's Success lost or overtaken): answered once it completes,
    /// instead of after the server's 3 s restart timer.
    held_ncp: Vec<(u16, Vec<u8>)>,
    /// The MSS that TCP SYNs crossing the tunnel are clamped to, once up.
    mss_max: Option<u16>,
    last_reset_request: Option<Instant>,
    terminating: bool,
    /// While terminating: when to stop waiting for the Terminate-Ack.
    terminate_deadline: Option<Instant>,
    nudge: FlushNudge,
    hold: ReorderHold,
    /// Packets for the tunnel interface: those that left the reorder hold, and
    /// ICMPv6 refusals.
    released: VecDeque<Vec<u8>>,
    last_refusal: Option<Instant>,
    rng: StdRng,
}

impl Link {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: PppConfig,
        role: Role,
        lcp_cfg: LcpConfig,
        ipcp_cfg: IpcpConfig,
        mppe_policy: MppePolicy,
        call_id: u16,
        peer_call_id: u16,
        peer_window: u16,
        mut rng: StdRng,
        now: Instant,
    ) -> Self {
        use rand::SeedableRng;
        let shared = Arc::new(gre::Shared::default());
        let lcp_rng = StdRng::from_rng(&mut rng);
        let ipv6_rng = StdRng::from_rng(&mut rng);
        let ipv6_wanted = cfg.ipv6;
        let mut l = Link {
            lcp: Fsm::new(Lcp::new(lcp_cfg, lcp_rng), cfg.timers),
            ipcp: Fsm::new(Ipcp::new(ipcp_cfg), cfg.timers),
            ipv6cp: cfg
                .ipv6
                .then(|| Fsm::new(Ipv6cp::new(ipv6_rng, None), cfg.timers)),
            ipv6_wait_until: None,
            ipv6_up: false,
            ndisc: None,
            ccp: {
                let mut ccp = Fsm::new(Ccp::new(mppe_policy), cfg.timers);
                ccp.hold_mirrored_retransmit();
                ccp
            },
            cfg,
            role,
            phase: Phase::Establish,
            mppe_policy,
            ccp_done: false,
            auth: AuthSide::Pending,
            auth_method: None,
            keys: None,
            spent_keys: None,
            inform: None,
            tx: Tx {
                gre: gre::Sender::new(peer_call_id, peer_window, shared.clone()),
                framing: Framing::default(),
                mppe: None,
                peer_mru: 1500,
                mss_max: None,
            },
            rx: Rx {
                gre: gre::Receiver::new(call_id, shared.clone()),
                mppe: None,
                require_encryption: false,
                // Until IPV6CP ends without IPv6: the peer may send IPv6 the
                // moment its side opens, before ours does.
                ipv6: ipv6_wanted,
            },
            shared,
            epoch: now,
            gre_out: VecDeque::new(),
            events: VecDeque::new(),
            down: None,
            gre_received: false,
            last_decrypted: None,
            echo_next: None,
            reset_retry: None,
            held_ncp: Vec::new(),
            mss_max: None,
            last_reset_request: None,
            terminating: false,
            terminate_deadline: None,
            nudge: FlushNudge::default(),
            hold: ReorderHold::default(),
            released: VecDeque::new(),
            last_refusal: None,
            rng,
        };
        l.events.push_back(Event::Phase(Phase::Establish));
        l.lcp.open(now);
        l.drive(now);
        l
    }

    fn ns(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    fn set_phase(&mut self, p: Phase) {
        if self.phase != p {
            debug!(phase = ?p, "PPP phase");
            self.phase = p;
            self.events.push_back(Event::Phase(p));
        }
    }

    fn fail(&mut self, now: Instant, reason: DownReason) {
        if self.down.is_none() {
            warn!(reason = %reason, "link failed");
            self.down = Some(reason);
            self.close(now);
        }
    }

    /// Politely terminate LCP.
    pub fn close(&mut self, now: Instant) {
        if !self.terminating {
            self.terminating = true;
            self.set_phase(Phase::Terminate);
            self.terminate_deadline = Some(now + TERMINATE_WAIT);
            self.lcp.close(now);
            self.drive(now);
        }
    }

    /// LCP has finished terminating (or the peer never answered in time).
    pub fn terminated(&self, now: Instant) -> bool {
        let _ = now;
        matches!(
            self.lcp.state(),
            State::Closed | State::Stopped | State::Initial
        ) || (self.terminating && self.terminate_deadline.is_none())
    }

    pub fn stats(&self) -> crate::gre::RxStats {
        crate::gre::RxStats {
            window_exceeded: self.tx.gre.window_exceeded,
            held: self.hold.stats.held,
            hold_expired: self.hold.stats.expired,
            mppe_rekeys: self.rx.mppe.as_ref().map_or(0, Decryptor::rekeys),
            ..self.rx.gre.stats
        }
    }

    /// The method the server asked for and we refused, while that is what holds
    /// the link back: the reason to give if the server then hangs up.
    pub fn refusal(&self) -> Option<DownReason> {
        if let Some(r) = self.password_refusal() {
            return Some(r);
        }
        if self.phase > Phase::Establish {
            return None;
        }
        self.lcp.opts.refused_auth.map(DownReason::MethodRefused)
    }

    /// Nothing at all has come back over GRE since the call was placed.
    pub fn gre_silent(&self) -> bool {
        !self.gre_received && self.phase <= Phase::Establish
    }

    pub fn poll_gre_transmit(&mut self) -> Option<Vec<u8>> {
        self.gre_out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let ack = (self.shared.unacked() > 0).then(|| {
            self.epoch + Duration::from_nanos(self.shared.oldest_unacked_ns()) + self.cfg.ack_delay
        });
        let auth = match &self.auth {
            AuthSide::Peer(p) => p.poll_timeout(),
            AuthSide::Authenticator(a) => a.poll_timeout(),
            _ => None,
        };
        [
            self.lcp.poll_timeout(),
            self.ipcp.poll_timeout(),
            self.ipv6cp.as_ref().and_then(Fsm::poll_timeout),
            self.ipv6_wait_until,
            self.ndisc.as_ref().and_then(RouterDiscovery::poll_timeout),
            self.ccp.poll_timeout(),
            auth,
            ack,
            self.echo_next,
            self.reset_retry,
            self.terminate_deadline,
            self.nudge.poll_timeout(),
            self.hold.poll_timeout(),
            self.inform.as_ref().and_then(dhcp::Inform::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.release_expired(now);
        self.lcp.handle_timeout(now);
        self.ipcp.handle_timeout(now);
        if let Some(f) = &mut self.ipv6cp {
            f.handle_timeout(now);
        }
        self.ccp.handle_timeout(now);
        let outcome = match &mut self.auth {
            AuthSide::Peer(p) => p.handle_timeout(now),
            AuthSide::Authenticator(a) => a
                .handle_timeout(now)
                .then_some(Outcome::Failure(AuthError::Timeout)),
            _ => None,
        };
        if let Some(o) = outcome {
            self.auth_outcome(now, o);
        }
        if self.echo_next.is_some_and(|t| t <= now) && !self.lcp.is_opened() {
            self.echo_next = None;
        }
        if self.echo_next.is_some_and(|t| t <= now) {
            let (interval, failures) = self
                .cfg
                .lcp_echo
                .expect("echo timer only runs when configured");
            // As pppd: a failure count of 0 keeps sending echoes (a keep-alive
            // for NAT state) without ever ending the link over them.
            if failures > 0 && self.lcp.opts.echo_outstanding >= failures {
                self.echo_next = None;
                self.fail(now, DownReason::EchoTimeout);
            } else {
                self.lcp.opts.echo_outstanding = self.lcp.opts.echo_outstanding.saturating_add(1);
                let id = self.lcp.next_id();
                let magic = self.lcp.opts.magic().to_be_bytes();
                self.lcp.send(packet::ECHO_REQUEST, id, &magic);
                self.echo_next = Some(now + interval);
            }
        }
        if self.terminate_deadline.is_some_and(|t| t <= now) {
            self.terminate_deadline = None;
        }
        if self.reset_retry.is_some_and(|t| t <= now) {
            self.send_reset_request(now);
        }
        if let Some(i) = &mut self.inform {
            i.handle_timeout(now);
        }
        self.flush_inform();
        self.flush_ndisc(now);
        if self.inform.as_ref().is_some_and(dhcp::Inform::is_done) {
            debug!("no answer to DHCPINFORM: carrying on without");
            self.inform = None;
        }
        let (in_flight, peer_ack) = (self.tx.gre.in_flight(), self.tx.gre.peer_ack());
        if self.phase == Phase::Up && self.nudge.on_timeout(now, in_flight, peer_ack) {
            let mut buf = [0u8; gre::MAX_HEADER_LEN];
            if let Some(n) = self.tx.ack_again(&mut buf) {
                self.gre_out.push_back(buf[..n].to_vec());
            }
        }
        let ack_due =
            self.epoch + Duration::from_nanos(self.shared.oldest_unacked_ns()) + self.cfg.ack_delay;
        if self.shared.unacked() > 0 && ack_due <= now {
            let mut buf = [0u8; gre::MAX_HEADER_LEN];
            if let Some(n) = self.tx.ack_only(&mut buf) {
                self.gre_out.push_back(buf[..n].to_vec());
            }
        }
        self.drive(now);
    }

    fn send_reset_request(&mut self, now: Instant) {
        let id = self.ccp.next_id();
        self.ccp.send(packet::RESET_REQUEST, id, &[]);
        self.reset_retry = Some(now + RESET_RETRY);
        self.last_reset_request = Some(now);
    }

    pub fn send_ip(&mut self, now: Instant, ip: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        if self.phase != Phase::Up {
            return Err(SendError::NotUp);
        }
        let protocol = match ip.first().map(|b| b >> 4) {
            Some(4) => frame::IPV4,
            Some(6) if self.ipv6_up => frame::IPV6,
            Some(6) => {
                self.refuse_ipv6(now, ip);
                return Err(SendError::NoIpv6);
            }
            _ => return Err(SendError::NotIp),
        };
        let n = self.tx.encapsulate(protocol, ip, out)?;
        self.nudge.on_send(now, self.tx.gre.peer_ack());
        Ok(n)
    }

    /// One GRE packet from the peer; returns the range of an IP packet for the
    /// tunnel. A packet after a gap may be held instead; packets that leave the
    /// hold come out of [`Link::poll_released`], which the caller drains after
    /// each call (to keep the order) and after timeouts.
    pub fn input_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        let r = self.take_gre(now, pkt);
        let (peer_ack, in_flight) = (self.tx.gre.peer_ack(), self.tx.gre.in_flight());
        self.nudge.on_ack(now, peer_ack, in_flight);
        r
    }

    fn take_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        // Stateful MPPE is not held: after a loss it must ask for a resync at
        // once, and every packet behind the gap is lost to it anyway.
        let hold = !self.rx.mppe.as_ref().is_some_and(Decryptor::is_stateful);
        if let Some((seq, expected)) = self.rx.gre.after_gap(pkt).filter(|_| hold) {
            if self.hold.is_full() {
                // Room first: what waits is older than this packet.
                while let Some(mut p) = self.hold.take_lowest(expected) {
                    self.open_held(now, &mut p);
                }
            }
            if let Some(expected) = self.rx.gre.expected() {
                // A forged MPPE packet is refused now rather than held: held, it
                // would take the genuine packet's place under its number.
                let trial = self.rx.trial(pkt, self.ns(now));
                if trial != Trial::Fails
                    && self
                        .hold
                        .offer(now, seq, expected, pkt, trial == Trial::Decrypts)
                {
                    return None;
                }
            }
        }
        let r = self.open_gre(now, pkt);
        self.release_in_order(now);
        r
    }

    /// IPv6 the routes sent into a tunnel without IPv6 (so that it does not
    /// leak around a full-tunnel VPN) is refused with an ICMPv6 error, at most
    /// one per [`REFUSAL_GAP`], so the application gives up on IPv6 at once.
    fn refuse_ipv6(&mut self, now: Instant, ip: &[u8]) {
        if self.last_refusal.is_some_and(|t| now < t + REFUSAL_GAP) {
            return;
        }
        if let Some(e) = crate::icmpv6::unreachable(ip, crate::icmpv6::ADMIN_PROHIBITED) {
            self.last_refusal = Some(now);
            self.released.push_back(e);
        }
    }

    /// An IP packet for the tunnel interface that did not come straight from
    /// [`Link::input_gre`]: one that left the reorder hold, or a refusal.
    pub fn poll_released(&mut self) -> Option<Vec<u8>> {
        self.released.pop_front()
    }

    /// Held packets whose gap has now been filled, in order.
    fn release_in_order(&mut self, now: Instant) {
        while let Some(mut p) = self.rx.gre.expected().and_then(|e| self.hold.take(e)) {
            self.open_held(now, &mut p);
        }
    }

    fn release_expired(&mut self, now: Instant) {
        while let Some(mut p) = self
            .rx
            .gre
            .expected()
            .and_then(|e| self.hold.take_expired(now, e))
        {
            self.open_held(now, &mut p);
            self.release_in_order(now);
        }
    }

    fn open_held(&mut self, now: Instant, p: &mut Vec<u8>) {
        if let Some(r) = self.open_gre(now, p) {
            self.released.push_back(p[r].to_vec());
        }
        p.zeroize();
    }

    fn open_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        let ns = self.ns(now);
        let outcome = self.rx.decapsulate(pkt, ns);
        match outcome {
            RxOutcome::Ip(r) => {
                self.gre_received = true;
                self.reset_retry = None;
                if self.rx.mppe.is_some() {
                    self.last_decrypted = Some(now);
                }
                if self.phase != Phase::Up {
                    return None;
                }
                if pkt[r.start] >> 4 == 6 {
                    return self.ipv6_input(pkt, r);
                }
                if let Some(answer) = self.inform.as_mut().and_then(|i| i.offer(&pkt[r.clone()])) {
                    match answer {
                        Ok(pushed) => {
                            info!(
                                routes = pushed.routes.len(),
                                domain = pushed.domain.as_deref().unwrap_or(""),
                                "the server answered DHCPINFORM"
                            );
                            self.events.push_back(Event::Pushed(pushed));
                            self.inform = None;
                        }
                        Err(e) => warn!(error = %e, "DHCPINFORM answer ignored"),
                    }
                    return None;
                }
                if let Role::Server {
                    push: Some(push), ..
                } = &self.role
                {
                    let server = self.ipcp.opts.local.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    if let Some(ack) = dhcp::answer_inform(&pkt[r.clone()], server, push) {
                        let mut buf = [0u8; gre::MAX_HEADER_LEN + gre::MAX_PAYLOAD];
                        if let Ok(n) = self.tx.encapsulate(frame::IPV4, &ack, &mut buf) {
                            self.gre_out.push_back(buf[..n].to_vec());
                        }
                        return None;
                    }
                }
                if let Some(max) = self.mss_max {
                    crate::tcp_mss::clamp(&mut pkt[r.clone()], max);
                }
                return Some(r);
            }
            RxOutcome::Control(proto, r) => {
                // Control packets travel in clear: they say nothing about MPPE sync, so
                // a pending Reset-Request retry stays armed.
                self.gre_received = true;
                debug!(
                    "rcvd [{}]",
                    Trace {
                        proto,
                        info: &pkt[r.clone()]
                    }
                );
                self.control_input(now, proto, &pkt[r]);
            }
            RxOutcome::Mppe(e) => {
                self.gre_received = true;
                self.mppe_error(now, e);
            }
            RxOutcome::Nothing => self.gre_received = true,
            RxOutcome::Dropped(why) => debug!(why, "GRE packet dropped"),
        }
        self.drive(now);
        None
    }

    /// An IPv6 packet from the peer: a router advertisement is ours, the rest
    /// goes to the tunnel while IPV6CP is open.
    fn ipv6_input(&mut self, pkt: &mut [u8], r: Range<usize>) -> Option<Range<usize>> {
        if !self.ipv6_up {
            debug!("IPv6 packet without IPV6CP dropped");
            return None;
        }
        if let Some(d) = &mut self.ndisc {
            match d.input(&pkt[r.clone()]) {
                Offer::NotForUs => {}
                Offer::Same => return None,
                Offer::New(info) => {
                    info!(
                        addresses = ?info.addresses,
                        dns = ?info.dns,
                        routes = info.routes.len(),
                        default_route = info.default_route,
                        "router advertisement"
                    );
                    self.events.push_back(Event::Router(info));
                    return None;
                }
                Offer::Bad(e) => {
                    debug!(error = %e);
                    return None;
                }
            }
        }
        // What the client's router discovery above did not take (one behind
        // extension headers, a redirect, a neighbour advertisement) must not
        // configure the tunnel interface behind our back. (A server's radvd
        // answers the client's solicitations: they pass.)
        if matches!(self.role, Role::Client { .. })
            && crate::icmpv6::is_neighbour_discovery(&pkt[r.clone()])
        {
            debug!("neighbour discovery from the tunnel dropped");
            return None;
        }
        if let Some(max) = self.mss_max {
            crate::tcp_mss::clamp(&mut pkt[r.clone()], max);
        }
        Some(r)
    }

    /// Router solicitations go as data, beside the control packets.
    fn flush_ndisc(&mut self, now: Instant) {
        let Some(rs) = self.ndisc.as_mut().and_then(|d| d.poll_transmit(now)) else {
            return;
        };
        let mut buf = [0u8; gre::MAX_HEADER_LEN + gre::MAX_PAYLOAD];
        match self.tx.encapsulate(frame::IPV6, &rs, &mut buf) {
            Ok(n) => self.gre_out.push_back(buf[..n].to_vec()),
            Err(e) => debug!(error = %e, "router solicitation not sent"),
        }
    }

    fn mppe_error(&mut self, now: Instant, e: MppeError) {
        debug!(error = %e, "MPPE");
        if e.needs_reset_request() {
            match self.last_reset_request.map(|t| t + RESET_MIN_GAP) {
                Some(next) if now < next => {
                    self.reset_retry = Some(self.reset_retry.map_or(next, |r| r.min(next)));
                }
                _ => self.send_reset_request(now),
            }
        }
        // The kernel's rule, except that anyone can send us bad packets: only a
        // link where nothing genuine arrived for a while is broken.
        let quiet = self
            .last_decrypted
            .is_none_or(|t| now.saturating_duration_since(t) >= MPPE_QUIET_LIMIT);
        if quiet && self.rx.mppe.as_ref().is_some_and(Decryptor::is_fatal) {
            self.fail(now, DownReason::MppeFailed);
        }
    }

    fn control_input(&mut self, now: Instant, proto: u16, info: &[u8]) {
        match proto {
            frame::LCP => self.lcp.input(now, info),
            frame::PAP | frame::CHAP => match &mut self.auth {
                AuthSide::Peer(p) if p.protocol() == proto => {
                    if let Some(o) = p.input(now, info) {
                        self.auth_outcome(now, o);
                    }
                }
                AuthSide::Authenticator(a) if a.protocol() == proto => match a.input(info) {
                    Some(authenticator::Verdict::Accepted { user, keys }) => {
                        info!(user = %user, "peer authenticated");
                        // The authenticator stays: its Success is still queued.
                        self.keys = keys;
                        self.start_network(now);
                    }
                    Some(authenticator::Verdict::Refused { user }) => {
                        warn!(user = %user, "peer failed authentication");
                        let f = crate::auth::ServerFailure::plain(b"peer authentication failed");
                        self.fail(now, DownReason::AuthFailed(AuthError::Rejected(f)));
                    }
                    None => {}
                },
                _ => debug!(
                    proto,
                    "authentication packet outside authentication ignored"
                ),
            },
            frame::IPCP if self.phase >= Phase::Network => {
                // A server that requires MPPE (pppd) starts IPCP only once its CCP
                // is open, so its IPCP says it acknowledged our CCP request even
                // if that Ack was lost; sending the request again would make pppd
                // renegotiate CCP, which ends the link ("MPPE disabled").
                if self.mppe_policy.enabled() && self.ccp.ack_implied(now) {
                    debug!("CCP Ack implied by the server's IPCP");
                }
                // The peer is ready for IPCP: do not make it wait for our CCP.
                self.ipcp.open(now);
                self.ipcp.input(now, info)
            }
            frame::IPV6CP if self.ipv6cp.is_some() && self.phase >= Phase::Network => {
                if let Some(f) = &mut self.ipv6cp {
                    f.open(now);
                    f.input(now, info);
                }
            }
            frame::CCP if self.mppe_policy.enabled() && self.phase >= Phase::Network => {
                self.ccp.input(now, info)
            }
            frame::IPCP | frame::CCP | frame::IPV6CP
                if (proto == frame::CCP && self.mppe_policy.enabled())
                    || proto == frame::IPCP
                    || (proto == frame::IPV6CP && self.ipv6cp.is_some()) =>
            {
                if self.phase == Phase::Authenticate && self.held_ncp.len() < HELD_NCP {
                    debug!(proto, "NCP packet during authentication held");
                    self.held_ncp.push((proto, info.to_vec()));
                } else {
                    debug!(proto, "NCP packet before the network phase dropped");
                }
                if let AuthSide::Peer(p) = &mut self.auth {
                    p.server_moved_on(now);
                }
            }
            _ => {
                if self.lcp.is_opened() {
                    debug!(proto = format!("{proto:#06x}"), "Protocol-Reject");
                    let mut d = proto.to_be_bytes().to_vec();
                    d.extend_from_slice(
                        &info[..info.len().min(self.lcp.opts.peer_mru as usize - 10)],
                    );
                    let id = self.lcp.next_id();
                    self.lcp.send(packet::PROTOCOL_REJECT, id, &d);
                }
            }
        }
    }

    fn auth_outcome(&mut self, now: Instant, o: Outcome) {
        match o {
            Outcome::Success { keys, message } => {
                info!(
                    method = self.auth_method.map(|m| m.name()),
                    server_message = message.as_deref().unwrap_or(""),
                    "authenticated"
                );
                // The peer stays to answer re-challenges (RFC 1994 §2).
                self.keys = keys;
                self.start_network(now);
            }
            Outcome::Failure(e) => self.fail(now, DownReason::AuthFailed(e)),
            Outcome::PasswordWanted(f) => {
                info!(refusal = %f, "the server allows another password on this link");
                self.events.push_back(Event::PasswordWanted(f));
            }
        }
    }

    /// The new password for the retry an [`Event::PasswordWanted`] announced. It
    /// also answers any later re-authentication of this call. Given back when no
    /// retry is pending (the link is ending, or the wait is over).
    pub fn retry_password(&mut self, now: Instant, password: Password) -> Result<(), Password> {
        let AuthSide::Peer(p) = &mut self.auth else {
            return Err(password);
        };
        if self.down.is_some() || self.terminating || !p.retry_with(now, password.clone()) {
            return Err(password);
        }
        if let Role::Client { password: kept, .. } = &mut self.role {
            *kept = password;
        }
        Ok(())
    }

    fn start_network(&mut self, now: Instant) {
        if self.phase >= Phase::Network {
            return;
        }
        self.set_phase(Phase::Network);
        // pppd answers IPCP with Terminate-Ack until its CCP is open when MPPE is
        // required, which costs a 3 s restart timeout; so, like pppd, start IPCP
        // after CCP in that case.
        if !self.mppe_policy.required {
            self.open_ncps(now);
        }
        if self.mppe_policy.enabled() {
            self.ccp.open(now);
        } else {
            self.ccp_finished(now);
        }
        for (proto, info) in std::mem::take(&mut self.held_ncp) {
            self.control_input(now, proto, &info);
        }
    }

    fn ccp_finished(&mut self, now: Instant) {
        self.ccp_done = true;
        self.open_ncps(now);
    }

    fn open_ncps(&mut self, now: Instant) {
        self.ipcp.open(now);
        if let Some(f) = &mut self.ipv6cp {
            f.open(now);
        }
    }

    /// IPV6CP has nothing more to say before Up: open, or given up on.
    fn ipv6_settled(&self) -> bool {
        self.ipv6cp.as_ref().is_none_or(|f| {
            matches!(
                f.state(),
                State::Opened | State::Closed | State::Stopped | State::Initial
            )
        })
    }

    fn lcp_up(&mut self, now: Instant) {
        let o = &self.lcp.opts;
        self.tx.framing = o.tx_framing;
        self.tx.peer_mru = o.peer_mru as usize;
        info!(
            peer_mru = o.peer_mru,
            pfc = o.tx_framing.pfc,
            acfc = o.tx_framing.acfc,
            "LCP up"
        );
        if let Some((interval, _)) = self.cfg.lcp_echo {
            self.echo_next = Some(now + interval);
        }
        let method = match &self.role {
            Role::Client { .. } => o.auth_to_peer,
            Role::Server { .. } => o.auth_of_peer,
        };
        self.auth_method = method;
        let Some(method) = method else {
            // A server that skips authentication proves nothing about itself; only
            // a connection that gave up on MPPE accepts that.
            // pppd drops its demand after our Nak and then hangs up: what it first
            // asked for is the reason.
            if matches!(self.role, Role::Client { .. }) && self.mppe_policy.required {
                let r = self.refusal().unwrap_or(DownReason::NoAuthentication);
                return self.fail(now, r);
            }
            self.auth = AuthSide::Done;
            return self.start_network(now);
        };
        self.set_phase(Phase::Authenticate);
        let rng = {
            use rand::SeedableRng;
            StdRng::from_rng(&mut self.rng)
        };
        match &self.role {
            Role::Client {
                user,
                password,
                password_retry,
            } => {
                let mut p = AuthPeer::new(method, user, password.clone(), rng);
                if *password_retry {
                    p.allow_password_retry();
                }
                p.start(now);
                self.auth = AuthSide::Peer(p);
            }
            Role::Server {
                users,
                misbehaviour,
                ..
            } => {
                let mut a = Authenticator::new(method, users.clone(), *misbehaviour, rng);
                a.start(now);
                self.auth = AuthSide::Authenticator(a);
            }
        }
    }

    /// The peer renegotiated LCP before the link came up. pppd does that when a
    /// Configure-Request of ours arrives after its LCP opened, which a path that
    /// delays a packet past the restart timer brings about. Start over from the
    /// Establish phase, as pppd would, instead of ending the attempt: the layers
    /// above go quiet and authentication runs again once LCP is back up. MPPE, if
    /// it started, starts again only with the new authentication's keys (see
    /// `ccp_up`). After Up the link ends as before.
    fn lcp_restarted(&mut self) {
        info!("the server renegotiated LCP before the link was up: authenticating again");
        self.ccp.down();
        self.ipcp.down();
        // Their Down events are this restart, not a failure.
        while self.ccp.poll_event().is_some() {}
        while self.ipcp.poll_event().is_some() {}
        if let Some(f) = &mut self.ipv6cp {
            f.down();
            while f.poll_event().is_some() {}
        }
        self.ipv6_wait_until = None;
        if self.mppe_started() {
            self.spent_keys = self.keys.take();
        }
        self.tx.mppe = None;
        self.rx.mppe = None;
        self.rx.require_encryption = false;
        self.last_decrypted = None;
        self.auth = AuthSide::Pending;
        self.auth_method = None;
        self.keys = None;
        self.held_ncp.clear();
        self.ccp_done = false;
        self.echo_next = None;
        self.set_phase(Phase::Establish);
    }

    /// MPPE's keys only move forward; a second start would repeat the keystream.
    fn mppe_started(&self) -> bool {
        self.tx.mppe.is_some() || self.rx.mppe.is_some()
    }

    fn ccp_restarted(&mut self, now: Instant) {
        self.fail(
            now,
            DownReason::NegotiationFailed(
                "the server restarted CCP; a second MPPE start would reuse the RC4 keystream, so the link ends"
                    .into(),
            ),
        );
    }

    fn ccp_up(&mut self, now: Instant) {
        if self.mppe_started() {
            return self.ccp_restarted(now);
        }
        let (tx, rx) = (self.ccp.opts.tx, self.ccp.opts.rx);
        if self.mppe_policy.required && (tx.is_none() || rx.is_none()) {
            return self.fail(
                now,
                DownReason::MppeRefused("the server agreed to CCP without MPPE".into()),
            );
        }
        if tx.is_some() || rx.is_some() {
            let Some(keys) = &self.keys else {
                let how = self.auth_method.map_or("no authentication", |m| m.name());
                return self.fail(
                    now,
                    DownReason::MppeRefused(format!(
                        "MPPE needs MS-CHAP keys, but authentication used {how}"
                    )),
                );
            };
            if self.spent_keys.as_ref().is_some_and(|k| {
                k.send.expose() == keys.send.expose() || k.recv.expose() == keys.recv.expose()
            }) {
                // Only a fresh authentication makes a second start safe.
                return self.ccp_restarted(now);
            }
            self.tx.mppe = tx.map(|p| Encryptor::new(&keys.send, p));
            self.rx.mppe = rx.map(|p| Decryptor::new(&keys.recv, p));
            self.rx.require_encryption = true;
            self.last_decrypted = Some(now);
            info!(send = ?tx.map(|p| p.to_string()), recv = ?rx.map(|p| p.to_string()), "MPPE on");
        }
        self.ccp_finished(now);
    }

    /// Process what the automata produced, until nothing changes.
    fn drive(&mut self, now: Instant) {
        for _ in 0..16 {
            let mut changed = false;
            while let Some(e) = self.lcp.poll_event() {
                changed = true;
                match e {
                    LayerEvent::Up => self.lcp_up(now),
                    LayerEvent::Down
                        if self.down.is_none()
                            && !self.terminating
                            && self.phase < Phase::Up
                            && matches!(
                                self.lcp.state(),
                                State::ReqSent | State::AckRcvd | State::AckSent
                            ) =>
                    {
                        self.lcp_restarted()
                    }
                    LayerEvent::Down | LayerEvent::Finished
                        if self.down.is_none() && !self.terminating =>
                    {
                        let reason = self.lcp_failure_reason(e == LayerEvent::Down);
                        self.fail(now, reason);
                    }
                    _ => {}
                }
            }
            while let Some(p) = self.lcp.opts.protocol_rejects.pop_front() {
                changed = true;
                match p {
                    frame::CCP => {
                        self.ccp.protocol_rejected(now);
                        if self.mppe_policy.required {
                            self.fail(
                                now,
                                DownReason::MppeRefused(
                                    "the server does not do MPPE (it rejected CCP)".into(),
                                ),
                            );
                        } else {
                            self.ccp_finished(now);
                        }
                    }
                    frame::IPCP => self.fail(
                        now,
                        DownReason::NegotiationFailed("the server rejected IPCP".into()),
                    ),
                    frame::IPV6CP => {
                        info!("the server does not do IPv6 (it rejected IPV6CP)");
                        if let Some(f) = &mut self.ipv6cp {
                            f.protocol_rejected(now);
                        }
                    }
                    _ => debug!(proto = p, "peer rejected protocol"),
                }
            }
            while let Some(e) = self.ccp.poll_event() {
                changed = true;
                match e {
                    LayerEvent::Up => self.ccp_up(now),
                    LayerEvent::Finished | LayerEvent::Down
                        if self.down.is_none()
                            && !self.terminating
                            && self.phase == Phase::Up
                            && self.ccp.peer_terminated() =>
                    {
                        let text = self.ccp.peer_terminate_reason().unwrap_or_default();
                        self.fail(now, DownReason::SessionEnded(text.to_string()))
                    }
                    LayerEvent::Finished | LayerEvent::Down
                        if self.down.is_none() && !self.terminating && self.mppe_started() =>
                    {
                        self.ccp_restarted(now)
                    }
                    LayerEvent::Finished | LayerEvent::Down
                        if self.down.is_none() && !self.terminating =>
                    {
                        match self.ccp.failure().cloned() {
                            Some(Failure::MppeRefused(s)) => {
                                self.fail(now, DownReason::MppeRefused(s))
                            }
                            Some(Failure::MppeTooWeak(s)) => {
                                self.fail(now, DownReason::MppeTooWeak(s))
                            }
                            _ if self.mppe_policy.required => self.fail(
                                now,
                                DownReason::MppeRefused("CCP negotiation did not complete".into()),
                            ),
                            _ => self.ccp_finished(now),
                        }
                    }
                    _ => {}
                }
            }
            while let Some(e) = self.ipcp.poll_event() {
                changed = true;
                if matches!(e, LayerEvent::Finished | LayerEvent::Down)
                    && self.down.is_none()
                    && !self.terminating
                {
                    let r = match self.ipcp.failure() {
                        Some(Failure::NoAddress) => DownReason::NoIpAddress,
                        Some(Failure::AddressRefused { wanted, offered }) => {
                            DownReason::AddressRefused {
                                wanted: *wanted,
                                offered: *offered,
                            }
                        }
                        Some(f) => DownReason::NegotiationFailed(f.to_string()),
                        None => DownReason::NegotiationFailed("IPCP did not complete".into()),
                    };
                    self.fail(now, r);
                }
            }
            if let Some(f) = &mut self.ipv6cp {
                while let Some(e) = f.poll_event() {
                    changed = true;
                    match e {
                        LayerEvent::Down | LayerEvent::Finished if self.ipv6_up => {
                            warn!("IPV6CP went down: IPv6 stops, IPv4 carries on");
                            self.ipv6_up = false;
                            self.rx.ipv6 = false;
                            self.ndisc = None;
                        }
                        LayerEvent::Finished => {
                            debug!("IPV6CP finished without IPv6");
                            self.rx.ipv6 = false;
                        }
                        _ => {}
                    }
                }
            }
            if self.ccp.opts.reset_requests > 0 {
                self.ccp.opts.reset_requests = 0;
                if let Some(e) = self.tx.mppe.as_mut() {
                    e.reset();
                }
            }
            changed |= self.flush_control();
            if self.phase == Phase::Network
                && self.down.is_none()
                && self.ipcp.is_opened()
                && self.ccp_done
            {
                let wait = *self.ipv6_wait_until.get_or_insert(now + IPV6_WAIT);
                if self.ipv6_settled() || now >= wait {
                    self.network_up(now);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// A server that offered a retry of the password (pppd sends R=1 too) and
    /// then hung up refused the password.
    fn password_refusal(&self) -> Option<DownReason> {
        match &self.auth {
            AuthSide::Peer(p) => p
                .offered_refusal()
                .map(|f| DownReason::AuthFailed(AuthError::Rejected(f.clone()))),
            _ => None,
        }
    }

    fn lcp_failure_reason(&self, was_up: bool) -> DownReason {
        if let Some(r) = self.password_refusal() {
            return r;
        }
        // After Up, a Terminate-Request is the server ending a session that
        // worked (a connect-time limit says "MPPE disabled" when pppd closes CCP
        // first): not a negotiation that failed.
        if self.phase == Phase::Up && self.lcp.peer_terminated() {
            let text = self.lcp.peer_terminate_reason().unwrap_or_default();
            return DownReason::SessionEnded(text.to_string());
        }
        if let (false, Some(r)) = (was_up, self.refusal()) {
            return r;
        }
        let peer_text = self.lcp.peer_terminate_reason().map(str::to_string);
        if let Some(f) = self.lcp.failure() {
            return match f {
                Failure::MppeRefused(s) => DownReason::MppeRefused(s.clone()),
                Failure::MppeTooWeak(s) => DownReason::MppeTooWeak(s.clone()),
                f => DownReason::NegotiationFailed(f.to_string()),
            };
        }
        if let Some(t) = peer_text {
            // pppd: "MPPE required but peer negotiation failed" and friends.
            if let Some(offered) = self.ccp.opts.weaker_offer().filter(|_| t.contains("MPPE")) {
                return DownReason::MppeTooWeak(offered.to_string());
            }
            if t.contains("MPPE") {
                return DownReason::MppeRefused(format!("the server terminated the link: {t}"));
            }
            return DownReason::PeerClosed(format!("the server terminated the PPP link: {t}"));
        }
        if was_up {
            return DownReason::PeerClosed("the server terminated the PPP link".into());
        }
        if !self.gre_received {
            return DownReason::GreBlocked;
        }
        DownReason::NegotiationFailed("LCP negotiation did not complete".into())
    }

    fn network_up(&mut self, now: Instant) {
        let ip = &self.ipcp.opts;
        let Some(local) = ip.local else {
            return self.fail(now, DownReason::NoIpAddress);
        };
        if let (Role::Client { .. }, Some(why)) = (&self.role, ip.unusable()) {
            return self.fail(
                now,
                DownReason::NegotiationFailed(format!("{why}, which cannot be used")),
            );
        }
        let peer = ip.peer.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        let overhead = if self.tx.mppe.is_some() {
            mppe::OVERHEAD as u16
        } else {
            0
        };
        // The peer's MRU alone would allow 1500-byte frames that, with 44 bytes of IP,
        // GRE, PPP and MPPE around them, fragment on an ordinary 1500-byte path; our
        // own MRU (1400 by default, as Windows uses) is the path budget too.
        let mut mtu = self
            .lcp
            .opts
            .peer_mru
            .min(self.lcp.opts.mru())
            .saturating_sub(overhead);
        if let Some(cap) = self.cfg.mtu {
            mtu = mtu.min(cap);
        }
        // Both ways: our own stack already fits the interface MTU, but hosts
        // routed through the tunnel, and the server's side, do not know it.
        self.mss_max = self
            .cfg
            .mss_clamp
            .then(|| mtu.saturating_sub(crate::tcp_mss::OVERHEAD_V4));
        self.tx.mss_max = self.mss_max;
        let (dns, nbns) = (ip.dns(), ip.nbns());
        let ipv6 = self.ipv6_link(now, mtu);
        let up = UpInfo {
            ipv6,
            local,
            peer,
            dns,
            nbns,
            mtu,
            mppe: self.ccp.opts.tx.filter(|_| self.tx.mppe.is_some()),
            mppe_receive: self.ccp.opts.rx.filter(|_| self.rx.mppe.is_some()),
            auth: self.auth_method,
        };
        info!(%local, %peer, mtu, mppe = %up.mppe_name(), "link up");
        self.set_phase(Phase::Up);
        self.events.push_back(Event::Up(up));
        if self.cfg.dhcp_inform && matches!(self.role, Role::Client { .. }) {
            self.inform = Some(dhcp::Inform::new(local, peer, &mut self.rng, now));
            self.flush_inform();
        }
        self.flush_ndisc(now);
    }

    /// IPv6 for the link coming up, if IPV6CP opened and the MTU carries it;
    /// starts router discovery for a client.
    fn ipv6_link(&mut self, now: Instant, mtu: u16) -> Option<Ipv6Link> {
        self.ipv6_wait_until = None;
        let settled = self.ipv6_settled();
        let f = self.ipv6cp.as_mut()?;
        if !f.is_opened() {
            if !settled {
                info!("IPV6CP did not finish in time: the link comes up without IPv6");
                f.close(now);
            }
            return None;
        }
        if u32::from(mtu) < ndisc::MIN_MTU {
            warn!(
                mtu,
                "the tunnel MTU is below IPv6's minimum of 1280: no IPv6"
            );
            f.close(now);
            return None;
        }
        let id = f.opts.local?;
        self.ipv6_up = true;
        self.rx.ipv6 = true;
        if matches!(self.role, Role::Client { .. }) {
            self.ndisc = Some(RouterDiscovery::new(id, now));
        }
        let link = Ipv6Link {
            local: crate::ppp::ipv6cp::link_local(id),
            peer: f.opts.peer.map(crate::ppp::ipv6cp::link_local),
        };
        info!(local = %link.local, "IPv6 up");
        Some(link)
    }

    /// The DHCPINFORM goes as data (encrypted when MPPE is on), beside the
    /// control packets.
    fn flush_inform(&mut self) {
        let Some(packet) = self.inform.as_mut().and_then(dhcp::Inform::poll_transmit) else {
            return;
        };
        let mut buf = [0u8; gre::MAX_HEADER_LEN + gre::MAX_PAYLOAD];
        match self.tx.encapsulate(frame::IPV4, &packet, &mut buf) {
            Ok(n) => self.gre_out.push_back(buf[..n].to_vec()),
            Err(e) => debug!(error = %e, "DHCPINFORM not sent"),
        }
    }

    /// Wrap queued control packets in GRE. Returns whether anything was queued.
    fn flush_control(&mut self) -> bool {
        let mut any = false;
        let mut buf = [0u8; gre::MAX_HEADER_LEN + gre::MAX_PAYLOAD];
        // Authentication first: a server's CHAP Failure must reach the client before
        // the Terminate-Request that follows it, or the client sees only a hang-up.
        let mut queue: Vec<(u16, Vec<u8>)> = Vec::new();
        match &mut self.auth {
            AuthSide::Peer(a) => {
                while let Some(p) = a.poll_transmit() {
                    queue.push((a.protocol(), p));
                }
            }
            AuthSide::Authenticator(a) => {
                while let Some(p) = a.poll_transmit() {
                    queue.push((a.protocol(), p));
                }
            }
            _ => {}
        }
        while let Some(p) = self.lcp.poll_transmit() {
            queue.push((frame::LCP, p));
        }
        while let Some(p) = self.ipcp.poll_transmit() {
            queue.push((frame::IPCP, p));
        }
        if let Some(f) = &mut self.ipv6cp {
            while let Some(p) = f.poll_transmit() {
                queue.push((frame::IPV6CP, p));
            }
        }
        while let Some(p) = self.ccp.poll_transmit() {
            queue.push((frame::CCP, p));
        }
        for (proto, mut p) in queue {
            any = true;
            debug!("sent [{}]", Trace { proto, info: &p });
            match self.tx.encapsulate(proto, &p, &mut buf) {
                Ok(n) => self.gre_out.push_back(buf[..n].to_vec()),
                Err(e) => warn!(error = %e, proto, "control packet not sent"),
            }
            // A PAP request carries the password in clear: no copy stays behind
            // (the runtime wipes the GRE packet once sent).
            p.zeroize();
        }
        if any {
            buf.zeroize();
        }
        any
    }
}
