//! One PPTP call for either role: a control connection (PNS for the client, PAC
//! for the server role) carrying the call, PPP on top, and the orderly way down.
//! [`super::ClientSession`] and [`super::ServerSession`] are this type with their
//! own constructors.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Instant;

use super::link::Link;
use super::{DownReason, Event, Phase, SendError};
use crate::pptp::control::{Awaited, ControlDown, ControlEvent, Pac, Pns, PnsState};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::pptp::control::Pns {}
    impl Sealed for crate::pptp::control::Pac {}
}

/// The two control-connection roles, seen from the session.
pub trait ControlSide: sealed::Sealed {
    fn input(&mut self, now: Instant, data: &[u8]);
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    fn poll_event(&mut self) -> Option<ControlEvent>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn handle_timeout(&mut self, now: Instant);
    /// Begin the polite teardown.
    fn close(&mut self, now: Instant);
    fn connection_closed(&mut self);
    fn connection_stalled(&mut self);
    fn call_id(&self) -> u16;
}

impl ControlSide for Pns {
    fn input(&mut self, now: Instant, data: &[u8]) {
        Pns::input(self, now, data)
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        Pns::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<ControlEvent> {
        Pns::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Pns::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Pns::handle_timeout(self, now)
    }
    fn close(&mut self, now: Instant) {
        if self.state() != PnsState::Closed {
            Pns::close(self, now)
        }
    }
    fn connection_closed(&mut self) {
        Pns::connection_closed(self)
    }
    fn connection_stalled(&mut self) {
        Pns::connection_stalled(self)
    }
    fn call_id(&self) -> u16 {
        Pns::call_id(self)
    }
}

impl ControlSide for Pac {
    fn input(&mut self, now: Instant, data: &[u8]) {
        Pac::input(self, now, data)
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        Pac::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<ControlEvent> {
        Pac::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Pac::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Pac::handle_timeout(self, now)
    }
    fn close(&mut self, _now: Instant) {
        self.disconnect()
    }
    fn connection_closed(&mut self) {
        Pac::connection_closed(self)
    }
    fn connection_stalled(&mut self) {
        Pac::connection_stalled(self)
    }
    fn call_id(&self) -> u16 {
        Pac::call_id(self)
    }
}

/// GRE packets kept from before the call is up (a peer sends one LCP request).
const EARLY_GRE: usize = 4;

/// Builds the PPP link once the call is up.
pub(crate) type LinkFactory = Box<dyn FnMut(u16, u16, u16, Instant) -> Link + Send>;

/// Feed it TCP bytes, GRE packets, IP packets and time; take from it TCP bytes, GRE
/// packets, events and the next deadline.
pub struct Session<C: ControlSide> {
    control: C,
    control_done: bool,
    make_link: LinkFactory,
    link: Option<Link>,
    /// GRE packets that came before the call was up: the peer's first LCP
    /// request often overtakes its Outgoing-Call-Reply (another socket), and
    /// dropping it costs a 3 s restart timer. Replayed into the new link.
    early_gre: Vec<Vec<u8>>,
    events: VecDeque<Event>,
    /// Set once the session is going down, with the reason and the hard deadline.
    ending: Option<(DownReason, Instant)>,
    control_closing: bool,
    close_timeout: std::time::Duration,
    dead: bool,
}

impl<C: ControlSide> Session<C> {
    pub(crate) fn from_parts(
        control: C,
        make_link: LinkFactory,
        close_timeout: std::time::Duration,
    ) -> Self {
        let mut events = VecDeque::new();
        events.push_back(Event::Phase(Phase::Control));
        Session {
            control,
            control_done: false,
            make_link,
            link: None,
            early_gre: Vec::new(),
            events,
            ending: None,
            control_closing: false,
            close_timeout,
            dead: false,
        }
    }

    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Our call ID: the one the peer puts in every GRE packet it sends us,
    /// fixed from the start of the session.
    pub fn call_id(&self) -> u16 {
        self.control.call_id()
    }

    /// The call's GRE counters, once PPP has started.
    pub fn stats(&self) -> Option<crate::gre::RxStats> {
        self.link.as_ref().map(Link::stats)
    }

    pub fn is_up(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.phase() == Phase::Up) && self.ending.is_none()
    }

    pub fn handle_tcp_data(&mut self, now: Instant, data: &[u8]) {
        self.control.input(now, data);
        self.drive(now);
    }

    pub fn handle_tcp_closed(&mut self, now: Instant) {
        self.control.connection_closed();
        self.drive(now);
    }

    /// A control message could not be written in time (the peer stopped reading).
    pub fn handle_tcp_stalled(&mut self, now: Instant) {
        self.control.connection_stalled();
        self.drive(now);
    }

    /// A GRE packet (IP header stripped). It is decrypted in place; if it carried an IPv4
    /// packet for the tunnel, its range within `pkt` is returned.
    pub fn handle_gre(&mut self, now: Instant, pkt: &mut [u8]) -> Option<Range<usize>> {
        let Some(link) = self.link.as_mut() else {
            if self.ending.is_none() && self.early_gre.len() < EARLY_GRE {
                self.early_gre.push(pkt.to_vec());
            }
            return None;
        };
        let r = link.input_gre(now, pkt);
        self.drive(now);
        r
    }

    /// A packet for the tunnel interface that did not come out of
    /// [`Session::handle_gre`]: one that waited in the reorder hold, or an
    /// ICMPv6 refusal of IPv6 the link does not carry. Drain after each
    /// [`Session::handle_gre`] (it follows that packet's), after
    /// [`Session::handle_timeout`] and after [`Session::send_ip`].
    pub fn poll_released_ip(&mut self) -> Option<Vec<u8>> {
        self.link.as_mut()?.poll_released()
    }

    /// One IP packet from the tunnel interface, framed (and encrypted) into
    /// `out`; `now` is when it is sent.
    pub fn send_ip(&mut self, now: Instant, ip: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        if self.ending.is_some() {
            return Err(SendError::NotUp);
        }
        self.link
            .as_mut()
            .ok_or(SendError::NotUp)?
            .send_ip(now, ip, out)
    }

    pub fn poll_tcp_transmit(&mut self) -> Option<Vec<u8>> {
        self.control.poll_transmit()
    }

    pub fn poll_gre_transmit(&mut self) -> Option<Vec<u8>> {
        self.link.as_mut()?.poll_gre_transmit()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.dead {
            return None;
        }
        let link = self.link.as_ref().and_then(Link::poll_timeout);
        [
            self.control.poll_timeout(),
            link,
            self.ending.as_ref().map(|e| e.1),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.control.handle_timeout(now);
        if let Some(l) = self.link.as_mut() {
            l.handle_timeout(now);
        }
        self.drive(now);
    }

    /// Answer [`Event::PasswordWanted`]: authenticate again on this link. The
    /// password comes back when the call can no longer use it (it is ending: a
    /// server such as pppd offers a retry and hangs up anyway), so that the owner
    /// can dial again with it.
    pub fn retry_password(
        &mut self,
        now: Instant,
        password: crate::secret::Password,
    ) -> Result<(), crate::secret::Password> {
        if self.ending.is_some() {
            return Err(password);
        }
        let r = match self.link.as_mut() {
            Some(l) => l.retry_password(now, password),
            None => Err(password),
        };
        self.drive(now);
        r
    }

    /// Disconnect politely; a `Down(Stopped)` event follows within the close timeout.
    pub fn close(&mut self, now: Instant) {
        self.end(now, DownReason::Stopped);
        self.drive(now);
    }

    /// End the call for a reason found outside the engine (its runtime's I/O);
    /// the same bounded shutdown as [`Self::close`] follows, then `Down(reason)`.
    pub fn fail(&mut self, now: Instant, reason: DownReason) {
        self.end(now, reason);
        self.drive(now);
    }

    fn end(&mut self, now: Instant, reason: DownReason) {
        if self.ending.is_none() {
            self.ending = Some((reason, now + self.close_timeout));
            if let Some(l) = self.link.as_mut() {
                l.close(now);
            }
        }
    }

    fn drive(&mut self, now: Instant) {
        if self.dead {
            return;
        }
        while let Some(e) = self.control.poll_event() {
            match e {
                ControlEvent::CallUp {
                    peer_call_id,
                    peer_window,
                } => {
                    if self.ending.is_none() && self.link.is_none() {
                        let call_id = self.control.call_id();
                        let mut link = (self.make_link)(call_id, peer_call_id, peer_window, now);
                        // Only control packets can precede the call; data is refused.
                        for mut p in std::mem::take(&mut self.early_gre) {
                            let _ = link.input_gre(now, &mut p);
                        }
                        self.link = Some(link);
                    }
                }
                ControlEvent::Down(d) => {
                    self.control_done = true;
                    let gre_silent = self.link.as_ref().is_some_and(Link::gre_silent);
                    let refusal = self.link.as_ref().and_then(Link::refusal);
                    let reason = match (&d, self.link.is_some()) {
                        (ControlDown::Closed, _) => DownReason::Stopped,
                        (ControlDown::Stalled, _) => DownReason::PeerUnreachable(d.describe()),
                        // It hung up because we would not use the method it wants.
                        (_, true) if refusal.is_some() => refusal.expect("checked"),
                        // The server gave up on a call we never heard a GRE packet of.
                        (ControlDown::PeerDisconnected(_), true) if gre_silent => {
                            DownReason::GreBlocked
                        }
                        (ControlDown::Timeout(Awaited::Echo), true) => DownReason::EchoTimeout,
                        (ControlDown::Refused { .. } | ControlDown::Timeout(_), false) => {
                            DownReason::PeerUnreachable(d.describe())
                        }
                        _ => DownReason::PeerClosed(d.describe()),
                    };
                    self.end(now, reason);
                }
            }
        }
        if let Some(l) = self.link.as_mut() {
            while let Some(e) = l.poll_event() {
                self.events.push_back(e);
            }
            if let Some(r) = l.down_reason().cloned() {
                self.end(now, r);
            }
        }
        let Some((_, deadline)) = &self.ending else {
            return;
        };
        let link_done = self.link.as_ref().is_none_or(|l| l.terminated());
        if link_done && !self.control_closing && !self.control_done {
            self.control_closing = true;
            self.control.close(now);
            while let Some(ControlEvent::Down(_)) = self.control.poll_event() {
                self.control_done = true;
            }
        }
        if self.control_done || *deadline <= now {
            let (reason, _) = self.ending.take().expect("checked above");
            self.dead = true;
            self.events.push_back(Event::Phase(Phase::Dead));
            self.events.push_back(Event::Down(reason));
        }
    }
}
