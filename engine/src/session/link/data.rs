//! The link's data path: IP packets and the control protocols in and out of
//! GRE (through MPPE when it is on), the reorder hold, what the link answers
//! itself (DHCPINFORM, router discovery, ICMPv6 refusals) and MSS clamping.

use std::net::Ipv4Addr;
use std::ops::Range;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};
use zeroize::Zeroize;

use super::{Link, Role};
use crate::dhcp;
use crate::gre;
use crate::mppe::{Decryptor, MppeError};
use crate::ndisc::Offer;
use crate::ppp::frame;
use crate::ppp::trace::Trace;
use crate::session::datapath::{RxOutcome, SendError, Trial};
use crate::session::{DownReason, Event, Phase};

/// ICMPv6 refusals of IPv6 on a link without it: at most one per this gap
/// (RFC 4443 §2.4 (f) asks for a limit).
const REFUSAL_GAP: Duration = Duration::from_millis(10);

impl Link {
    pub fn poll_gre_transmit(&mut self) -> Option<Vec<u8>> {
        self.gre_out.pop_front()
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
        let n = self.tx.encapsulate(&mut self.gre, protocol, ip, out)?;
        self.nudge.on_send(now, self.gre.peer_ack());
        Ok(n)
    }

    /// One GRE packet from the peer; returns the range of an IP packet for the
    /// tunnel. A packet after a gap may be held instead; packets that leave the
    /// hold come out of [`Link::poll_released`], which the caller drains after
    /// each call (to keep the order) and after timeouts.
    pub fn input_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        let r = self.take_gre(now, pkt);
        let (peer_ack, in_flight) = (self.gre.peer_ack(), self.gre.in_flight());
        self.nudge.on_ack(now, peer_ack, in_flight);
        r
    }

    fn take_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        // Stateful MPPE is not held: after a loss it must ask for a resync at
        // once, and every packet behind the gap is lost to it anyway.
        let hold = !self.rx.mppe.as_ref().is_some_and(Decryptor::is_stateful);
        if let Some((seq, expected)) = self.gre.after_gap(pkt).filter(|_| hold) {
            if self.hold.is_full() {
                // Room first: what waits is older than this packet.
                while let Some(mut p) = self.hold.take_lowest(expected) {
                    self.open_held(now, &mut p);
                }
            }
            if let Some(expected) = self.gre.expected() {
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
        while let Some(mut p) = self.gre.expected().and_then(|e| self.hold.take(e)) {
            self.open_held(now, &mut p);
        }
    }

    pub(super) fn release_expired(&mut self, now: Instant) {
        while let Some(mut p) = self
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
        let outcome = self.rx.decapsulate(&mut self.gre, pkt, ns);
        match outcome {
            RxOutcome::Ip(r) => {
                self.gre_received = true;
                let decrypted = self.rx.mppe.is_some();
                self.resync.on_genuine(now, decrypted, &mut self.timers);
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
                    let server = self.ipcp.local().unwrap_or(Ipv4Addr::UNSPECIFIED);
                    if let Some(ack) = dhcp::answer_inform(&pkt[r.clone()], server, push) {
                        self.send_own(frame::IPV4, &ack, "DHCPACK");
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
        if self.role.is_client() && crate::icmpv6::is_neighbour_discovery(&pkt[r.clone()]) {
            debug!("neighbour discovery from the tunnel dropped");
            return None;
        }
        if let Some(max) = self.mss_max {
            crate::tcp_mss::clamp(&mut pkt[r.clone()], max);
        }
        Some(r)
    }

    fn mppe_error(&mut self, now: Instant, e: MppeError) {
        debug!(error = %e, "MPPE");
        let fatal = self.rx.mppe.as_ref().is_some_and(Decryptor::is_fatal);
        let verdict = self
            .resync
            .on_error(now, &e, fatal, &mut self.ccp, &mut self.timers);
        if verdict.is_err() {
            self.fail(now, DownReason::MppeFailed);
        }
    }

    /// Router solicitations go as data, beside the control packets.
    pub(super) fn flush_ndisc(&mut self, now: Instant) {
        if let Some(rs) = self.ndisc.as_mut().and_then(|d| d.poll_transmit(now)) {
            self.send_own(frame::IPV6, &rs, "router solicitation");
        }
    }

    /// The DHCPINFORM goes as data (encrypted when MPPE is on), beside the
    /// control packets.
    pub(super) fn flush_inform(&mut self) {
        if let Some(packet) = self.inform.as_mut().and_then(dhcp::Inform::poll_transmit) {
            self.send_own(frame::IPV4, &packet, "DHCPINFORM");
        }
    }

    /// An IP packet the link makes itself goes out as data (encrypted when
    /// MPPE is on), beside the control packets.
    fn send_own(&mut self, protocol: u16, ip: &[u8], what: &str) {
        let mut buf = [0u8; gre::MAX_HEADER_LEN + gre::MAX_PAYLOAD];
        match self.tx.encapsulate(&mut self.gre, protocol, ip, &mut buf) {
            Ok(n) => self.gre_out.push_back(buf[..n].to_vec()),
            Err(e) => debug!(error = %e, "{what} not sent"),
        }
    }

    /// An ack-only GRE packet, when there is one to send.
    fn send_ack(&mut self, header: Option<gre::Header>) {
        if let Some(h) = header {
            let mut buf = [0u8; gre::MAX_HEADER_LEN];
            let n = h.encode(&mut buf);
            self.gre_out.push_back(buf[..n].to_vec());
        }
    }

    /// Wrap queued control packets in GRE. Returns whether anything was queued.
    pub(super) fn flush_control(&mut self, now: Instant) -> bool {
        let mut any = false;
        let mut buf = [0u8; gre::MAX_HEADER_LEN + gre::MAX_PAYLOAD];
        // Authentication first: a server's CHAP Failure must reach the client before
        // the Terminate-Request that follows it, or the client sees only a hang-up.
        let mut queue: Vec<(u16, Vec<u8>)> = Vec::new();
        while let Some(p) = self.auth.poll_transmit() {
            queue.push(p);
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
            if !self.role.is_client() {
                queue.push((frame::CCP, p));
            } else if let Some(p) = self.ccp_start.outgoing(now, p, &mut self.timers) {
                queue.push((frame::CCP, p));
            }
        }
        if let Some(p) = self.ccp_start.release(now, &mut self.timers) {
            queue.push((frame::CCP, p));
        }
        for (proto, mut p) in queue {
            any = true;
            debug!("sent [{}]", Trace { proto, info: &p });
            match self.tx.encapsulate(&mut self.gre, proto, &p, &mut buf) {
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

    /// The data path's share of a timeout: DHCPINFORM and router solicitations
    /// resent, a flush nudge, an ack that waited long enough.
    pub(super) fn data_timeouts(&mut self, now: Instant) {
        if let Some(i) = &mut self.inform {
            i.handle_timeout(now);
        }
        self.flush_inform();
        self.flush_ndisc(now);
        if self.inform.as_ref().is_some_and(dhcp::Inform::is_done) {
            debug!("no answer to DHCPINFORM: carrying on without");
            self.inform = None;
        }
        let (in_flight, peer_ack) = (self.gre.in_flight(), self.gre.peer_ack());
        if self.phase == Phase::Up && self.nudge.on_timeout(now, in_flight, peer_ack) {
            let h = self.gre.ack_again();
            self.send_ack(h);
        }
        if self.ack_due().is_some_and(|t| t <= now) {
            let h = self.gre.ack_only();
            self.send_ack(h);
        }
    }
}
