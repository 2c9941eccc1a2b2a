//! PPP over one GRE call: LCP → authentication → CCP + IPCP (+ IPV6CP) → up, for
//! either role. This module sequences the phases and turns what the automata
//! report into the link's events; each concern keeps its own state:
//! [`liveness`] (LCP echoes), [`auth`] (the authentication phase), [`resync`]
//! (MPPE Reset-Requests and when errors mean broken), [`ccp_start`] (when CCP
//! begins), [`data`] (IP and control packets in and out of GRE), [`up`] (what
//! the link comes up with) and [`reasons`] (why it went down), on one
//! [`timers::TimerTable`].

mod auth;
mod ccp_start;
mod data;
mod events;
mod liveness;
mod reasons;
mod resync;
mod timers;
mod up;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use tracing::{debug, info, warn};

use self::auth::{Authentication, Decision};
use self::ccp_start::CcpStart;
use self::liveness::Liveness;
use self::resync::Resync;
use self::timers::{Timer, TimerTable};
use super::datapath::{Rx, Tx};
use super::flush_nudge::FlushNudge;
use super::reorder::ReorderHold;
use super::{DownReason, Event, Phase, PppConfig};
use crate::auth::authenticator;
use crate::auth::MppeKeys;
use crate::dhcp;
use crate::gre;
use crate::mppe::{Decryptor, Encryptor};
use crate::ndisc::RouterDiscovery;
use crate::ppp::ccp::{Ccp, MppePolicy};
use crate::ppp::frame::{self, Framing};
use crate::ppp::fsm::{Fsm, State};
use crate::ppp::ipcp::{Ipcp, IpcpConfig};
use crate::ppp::ipv6cp::Ipv6cp;
use crate::ppp::lcp::{Lcp, LcpConfig};
use crate::secret::Password;

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

impl Role {
    fn is_client(&self) -> bool {
        matches!(self, Role::Client { .. })
    }
}

/// How long to wait for the peer's Terminate-Ack before moving on.
const TERMINATE_WAIT: Duration = Duration::from_secs(1);
/// Network-phase packets kept during authentication (one of each per side is
/// what a server sends; the rest is noise).
const HELD_NCP: usize = 4;
/// How long the link waits, once IPv4 is ready, for IPV6CP to finish before it
/// comes up without IPv6. A server without IPv6 rejects the protocol at once;
/// this bounds a server that neither rejects nor answers.
const IPV6_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Link {
    cfg: PppConfig,
    role: Role,
    phase: Phase,
    timers: TimerTable,
    lcp: Fsm<Lcp>,
    liveness: Liveness,
    auth: Authentication,
    ccp: Fsm<Ccp>,
    ccp_start: CcpStart,
    mppe_policy: MppePolicy,
    /// CCP has settled (open, or given up on where MPPE is optional).
    ccp_done: bool,
    /// MS-CHAP's keys from this authentication.
    keys: Option<MppeKeys>,
    /// The keys MPPE ran with before LCP was renegotiated: never again.
    spent_keys: Option<MppeKeys>,
    resync: Resync,
    ipcp: Fsm<Ipcp>,
    /// None when the connection turned IPv6 off.
    ipv6cp: Option<Fsm<Ipv6cp>>,
    /// IPv6 is carried (IPV6CP opened and the link is up with it).
    ipv6_up: bool,
    /// Router solicitations and advertisements (client role, IPv6 up).
    ndisc: Option<RouterDiscovery>,
    /// The DHCPINFORM exchange once the link is up (client only, unless turned off).
    inform: Option<dhcp::Inform>,
    /// Network-phase packets that came while authentication was still going on
    /// (the server's Success lost or overtaken): answered once it completes,
    /// instead of after the server's 3 s restart timer.
    held_ncp: Vec<(u16, Vec<u8>)>,
    /// The call's GRE state, both ways (the two directions meet in the acks).
    gre: gre::Call,
    tx: Tx,
    rx: Rx,
    epoch: Instant,
    gre_out: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    down: Option<DownReason>,
    gre_received: bool,
    /// The MSS that TCP SYNs crossing the tunnel are clamped to, once up.
    mss_max: Option<u16>,
    terminating: bool,
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
        let lcp_rng = StdRng::from_rng(&mut rng);
        let ipv6_rng = StdRng::from_rng(&mut rng);
        let ipv6_wanted = cfg.ipv6;
        let mut l = Link {
            lcp: Fsm::new(Lcp::new(lcp_cfg, lcp_rng), cfg.timers),
            liveness: Liveness::new(cfg.lcp_echo),
            ipcp: Fsm::new(Ipcp::new(ipcp_cfg), cfg.timers),
            ipv6cp: cfg
                .ipv6
                .then(|| Fsm::new(Ipv6cp::new(ipv6_rng, None), cfg.timers)),
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
            timers: TimerTable::default(),
            mppe_policy,
            ccp_start: CcpStart::default(),
            ccp_done: false,
            auth: Authentication::new(),
            keys: None,
            spent_keys: None,
            resync: Resync::default(),
            inform: None,
            gre: gre::Call::new(call_id, peer_call_id, peer_window),
            tx: Tx {
                framing: Framing::default(),
                mppe: None,
                peer_mru: 1500,
                mss_max: None,
            },
            rx: Rx {
                mppe: None,
                require_encryption: false,
                // Until IPV6CP ends without IPv6: the peer may send IPv6 the
                // moment its side opens, before ours does.
                ipv6: ipv6_wanted,
            },
            epoch: now,
            gre_out: VecDeque::new(),
            events: VecDeque::new(),
            down: None,
            gre_received: false,
            held_ncp: Vec::new(),
            mss_max: None,
            terminating: false,
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

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// What happened since the last call, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Why the link failed, once it has.
    pub fn down_reason(&self) -> Option<&DownReason> {
        self.down.as_ref()
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
            self.timers.set(Timer::Terminate, now + TERMINATE_WAIT);
            self.lcp.close(now);
            self.drive(now);
        }
    }

    /// LCP has finished terminating (or the peer never answered in time).
    pub fn terminated(&self) -> bool {
        matches!(
            self.lcp.state(),
            State::Closed | State::Stopped | State::Initial
        ) || (self.terminating && !self.timers.is_armed(Timer::Terminate))
    }

    pub fn stats(&self) -> crate::gre::RxStats {
        crate::gre::RxStats {
            held: self.hold.stats.held,
            hold_expired: self.hold.stats.expired,
            mppe_rekeys: self.rx.mppe.as_ref().map_or(0, Decryptor::rekeys),
            ..self.gre.stats
        }
    }

    /// Nothing at all has come back over GRE since the call was placed.
    pub fn gre_silent(&self) -> bool {
        !self.gre_received && self.phase <= Phase::Establish
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.timers.next(),
            self.lcp.poll_timeout(),
            self.ipcp.poll_timeout(),
            self.ipv6cp.as_ref().and_then(Fsm::poll_timeout),
            self.ndisc.as_ref().and_then(RouterDiscovery::poll_timeout),
            self.ccp.poll_timeout(),
            self.auth.poll_timeout(),
            self.ack_due(),
            self.nudge.poll_timeout(),
            self.hold.poll_timeout(),
            self.inform.as_ref().and_then(dhcp::Inform::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// When the ack owed for what was received falls due, if one is owed.
    fn ack_due(&self) -> Option<Instant> {
        let oldest = Duration::from_nanos(self.gre.oldest_unacked_ns());
        (self.gre.unacked() > 0).then(|| self.epoch + oldest + self.cfg.ack_delay)
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.release_expired(now);
        self.lcp.handle_timeout(now);
        self.ipcp.handle_timeout(now);
        if let Some(f) = &mut self.ipv6cp {
            f.handle_timeout(now);
        }
        self.ccp.handle_timeout(now);
        if let Some(d) = self.auth.handle_timeout(now) {
            self.auth_decision(now, d);
        }
        if self
            .liveness
            .on_timeout(now, &mut self.timers, &mut self.lcp)
            .is_err()
        {
            self.fail(now, DownReason::EchoTimeout);
        }
        self.timers.take_expired(Timer::Terminate, now);
        self.open_ccp_when_due(now, false);
        self.resync.on_timeout(now, &mut self.ccp, &mut self.timers);
        self.data_timeouts(now);
        self.drive(now);
    }

    fn auth_decision(&mut self, now: Instant, d: Decision) {
        match d {
            Decision::Passed(keys) => {
                info!(
                    method = self.auth.method().map(|m| m.name()),
                    "authentication done"
                );
                // The peer stays to answer re-challenges (RFC 1994 §2).
                self.keys = keys;
                self.start_network(now);
            }
            Decision::Failed(e) => self.fail(now, DownReason::AuthFailed(e)),
            Decision::PasswordWanted(f) => {
                info!(refusal = %f, "the server allows another password on this link");
                self.events.push_back(Event::PasswordWanted(f));
            }
        }
    }

    /// The new password for the retry an [`Event::PasswordWanted`] announced. It
    /// also answers any later re-authentication of this call. Given back when no
    /// retry is pending (the link is ending, or the wait is over).
    pub fn retry_password(&mut self, now: Instant, password: Password) -> Result<(), Password> {
        if self.down.is_some() || self.terminating {
            return Err(password);
        }
        self.auth.retry_with(now, password.clone())?;
        if let Role::Client { password: kept, .. } = &mut self.role {
            *kept = password;
        }
        Ok(())
    }

    fn control_input(&mut self, now: Instant, proto: u16, info: &[u8]) {
        match proto {
            frame::LCP => self.lcp.input(now, info),
            frame::PAP | frame::CHAP => {
                if let Some(d) = self.auth.input(now, proto, info) {
                    self.auth_decision(now, d);
                }
            }
            frame::IPCP if self.phase >= Phase::Network => {
                // A server that requires MPPE (pppd) starts IPCP only once its CCP
                // is open, so its IPCP says it acknowledged our CCP request even
                // if that Ack was lost; sending the request again would make pppd
                // renegotiate CCP, which ends the link ("MPPE disabled").
                if self.mppe_policy.enabled()
                    && !self.ccp_start.holding()
                    && self.ccp.ack_implied(now)
                {
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
                self.open_ccp_when_due(now, true);
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
                self.auth.server_moved_on(now);
            }
            _ if self.lcp.is_opened() => {
                debug!(proto = format!("{proto:#06x}"), "Protocol-Reject");
                self.lcp.reject_protocol(proto, info);
            }
            _ => {}
        }
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
        if !self.mppe_policy.enabled() {
            self.ccp_finished(now);
        } else if self.role.is_client() {
            self.ccp_start.network_phase(now, &mut self.timers);
        } else {
            self.ccp.open(now);
        }
        for (proto, info) in std::mem::take(&mut self.held_ncp) {
            self.control_input(now, proto, &info);
        }
    }

    /// Our CCP request goes with the server's first CCP packet, or when the
    /// wait for it is over (see [`ccp_start`]).
    fn open_ccp_when_due(&mut self, now: Instant, server_spoke: bool) {
        if self
            .ccp_start
            .should_open(now, server_spoke, &mut self.timers)
        {
            self.ccp.open(now);
        }
    }

    fn ccp_finished(&mut self, now: Instant) {
        self.ccp_done = true;
        if self.ccp_start.ncps_may_start() {
            self.open_ncps(now);
        }
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
        self.tx.framing = self.lcp.tx_framing();
        self.tx.peer_mru = usize::from(self.lcp.peer_mru());
        info!(
            peer_mru = self.lcp.peer_mru(),
            pfc = self.tx.framing.pfc,
            acfc = self.tx.framing.acfc,
            "LCP up"
        );
        self.liveness.start(now, &mut self.timers);
        let method = if self.role.is_client() {
            self.lcp.auth_to_peer()
        } else {
            self.lcp.auth_of_peer()
        };
        let Some(method) = method else {
            // A server that skips authentication proves nothing about itself; only
            // a connection that gave up on MPPE accepts that.
            // pppd drops its demand after our Nak and then hangs up: what it first
            // asked for is the reason.
            if self.role.is_client() && self.mppe_policy.required {
                let r = self.refusal().unwrap_or(DownReason::NoAuthentication);
                return self.fail(now, r);
            }
            self.auth.skip();
            return self.start_network(now);
        };
        self.set_phase(Phase::Authenticate);
        let rng = {
            use rand::SeedableRng;
            StdRng::from_rng(&mut self.rng)
        };
        self.auth.start(&self.role, method, rng, now);
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
        self.timers.stop(Timer::Ipv6Wait);
        if self.mppe_started() {
            self.spent_keys = self.keys.take();
        }
        self.tx.mppe = None;
        self.rx.mppe = None;
        self.rx.require_encryption = false;
        self.resync.stopped();
        self.auth = Authentication::new();
        self.keys = None;
        self.held_ncp.clear();
        self.ccp_start.reset(&mut self.timers);
        self.ccp_done = false;
        self.timers.stop(Timer::Echo);
        self.set_phase(Phase::Establish);
    }

    /// MPPE's keys only move forward; a second start would repeat the keystream.
    fn mppe_started(&self) -> bool {
        self.tx.mppe.is_some() || self.rx.mppe.is_some()
    }

    /// Whether a packet has been sealed or opened with MPPE's keys: before
    /// that, starting over costs no keystream.
    fn mppe_carried_data(&self) -> bool {
        self.tx.mppe.as_ref().is_some_and(Encryptor::has_sealed)
            || self.rx.mppe.as_ref().is_some_and(Decryptor::has_opened)
    }

    /// CCP went back to negotiating before MPPE carried anything: a server
    /// that starts IPCP before its CCP is open (accel-ppp), whose IPCP we took
    /// as its Ack of our CCP request, now asks again. Not a restart of a
    /// running cipher (the link is not up, nothing was sealed or opened): MPPE
    /// starts afresh when CCP is up again, and until then IPCP cannot bring
    /// the link up.
    fn ccp_renegotiating(&mut self) {
        debug!("CCP negotiating again before MPPE carried a packet");
        self.tx.mppe = None;
        self.rx.mppe = None;
        self.ccp_done = false;
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
        let (tx, rx) = (self.ccp.send_params(), self.ccp.receive_params());
        if self.mppe_policy.required && (tx.is_none() || rx.is_none()) {
            return self.fail(
                now,
                DownReason::MppeRefused("the server agreed to CCP without MPPE".into()),
            );
        }
        if tx.is_some() || rx.is_some() {
            let Some(keys) = &self.keys else {
                let how = self.auth.method().map_or("no authentication", |m| m.name());
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
            self.resync.started(now);
            info!(send = ?tx.map(|p| p.to_string()), recv = ?rx.map(|p| p.to_string()), "MPPE on");
        }
        self.ccp_finished(now);
    }
}
