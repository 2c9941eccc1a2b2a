//! What the automata reported, turned into the link's next step: the next
//! phase, a restart, or the reason it ends.

use std::time::Instant;

use tracing::{debug, info, warn};

use super::timers::Timer;
use super::{reasons, Link, IPV6_WAIT};
use crate::ppp::frame;
use crate::ppp::fsm::{Failure, LayerEvent, State};
use crate::session::{DownReason, Phase};

impl Link {
    /// Process what the automata produced, until nothing changes.
    pub(super) fn drive(&mut self, now: Instant) {
        for _ in 0..16 {
            let mut changed = self.lcp_events(now);
            changed |= self.protocol_rejects(now);
            changed |= self.ccp_events(now);
            changed |= self.ipcp_events(now);
            changed |= self.ipv6cp_events();
            if self.ccp.take_reset_requests() {
                if let Some(e) = self.tx.mppe.as_mut() {
                    e.reset();
                }
            }
            changed |= self.flush_control(now);
            if self.ccp_done && !self.ccp_start.holding() {
                changed |= self.after_ccp(now);
            }
            if self.phase == Phase::Network
                && self.down.is_none()
                && self.ipcp.is_opened()
                && self.ccp_done
            {
                let wait = self.timers.set_once(Timer::Ipv6Wait, now + IPV6_WAIT);
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

    /// CCP is done on our side and our Ack is out (see ccp_start): the network
    /// protocols held back for it start, and one told "not yet" asks again.
    fn after_ccp(&mut self, now: Instant) -> bool {
        let mut any = false;
        if self.ccp_start.take_deferred_ncps() {
            self.open_ncps(now);
            any = true;
        }
        if self.ipcp.take_not_yet() && self.ccp_start.hurry_ipcp() {
            self.ipcp.retransmit_now(now);
            any = true;
        }
        if let Some(f) = &mut self.ipv6cp {
            if f.take_not_yet() && self.ccp_start.hurry_ipv6cp() {
                f.retransmit_now(now);
                any = true;
            }
        }
        // What this queued goes out in drive's next round.
        any
    }

    /// Neither failing nor terminating already: an automaton's Down is news.
    fn running(&self) -> bool {
        self.down.is_none() && !self.terminating
    }

    fn lcp_events(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(e) = self.lcp.poll_event() {
            any = true;
            match e {
                LayerEvent::Up => self.lcp_up(now),
                LayerEvent::Down
                    if self.running()
                        && self.phase < Phase::Up
                        && matches!(
                            self.lcp.state(),
                            State::ReqSent | State::AckRcvd | State::AckSent
                        ) =>
                {
                    self.lcp_restarted()
                }
                LayerEvent::Down | LayerEvent::Finished if self.running() => {
                    let reason = self.lcp_failure_reason(e == LayerEvent::Down);
                    self.fail(now, reason);
                }
                _ => {}
            }
        }
        any
    }

    fn protocol_rejects(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(p) = self.lcp.take_protocol_reject() {
            any = true;
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
                // Every packet we seal is this protocol: a server that rejects
                // it opens none of them, and the link would carry nothing.
                // (accel-ppp can miss the CCP Ack that starts its kernel's
                // decryption if the Ack comes back faster than its next system
                // call.) A fresh call may well work: not final for redials.
                frame::COMPRESSED if self.mppe_started() => self.fail(
                    now,
                    DownReason::NegotiationFailed(
                        "the server does not decrypt what we send: it Protocol-Rejected MPPE packets \
                         after agreeing to MPPE"
                            .into(),
                    ),
                ),
                _ => debug!(proto = p, "peer rejected protocol"),
            }
        }
        any
    }

    fn ccp_events(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(e) = self.ccp.poll_event() {
            any = true;
            if e == LayerEvent::Up {
                self.ccp_up(now);
                continue;
            }
            if !matches!(e, LayerEvent::Finished | LayerEvent::Down) || !self.running() {
                continue;
            }
            if self.phase == Phase::Up && self.ccp.peer_terminated() {
                let text = self.ccp.peer_terminate_reason().unwrap_or_default();
                self.fail(now, DownReason::SessionEnded(text.to_string()));
            } else if self.mppe_started() && (self.phase == Phase::Up || self.mppe_carried_data()) {
                self.ccp_restarted(now);
            } else if self.mppe_started() && e == LayerEvent::Down {
                self.ccp_renegotiating();
            } else {
                match self.ccp.failure().cloned() {
                    Some(Failure::MppeRefused(s)) => self.fail(now, DownReason::MppeRefused(s)),
                    Some(Failure::MppeTooWeak(s)) => self.fail(now, DownReason::MppeTooWeak(s)),
                    _ if self.mppe_policy.required => self.fail(
                        now,
                        DownReason::MppeRefused("CCP negotiation did not complete".into()),
                    ),
                    _ => self.ccp_finished(now),
                }
            }
        }
        any
    }

    fn ipcp_events(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(e) = self.ipcp.poll_event() {
            any = true;
            if matches!(e, LayerEvent::Finished | LayerEvent::Down) && self.running() {
                let r = reasons::ipcp_failure(self.ipcp.failure());
                self.fail(now, r);
            }
        }
        any
    }

    fn ipv6cp_events(&mut self) -> bool {
        let mut any = false;
        let Some(f) = &mut self.ipv6cp else {
            return false;
        };
        while let Some(e) = f.poll_event() {
            any = true;
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
        any
    }
}
