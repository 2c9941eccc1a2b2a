//! When CCP starts, and when our first CCP Configure-Ack goes.
//!
//! Both are about servers that start CCP a moment after authentication and
//! are caught out by a client faster than that moment. accel-ppp drops a CCP
//! request that arrives before its CCP layer has started (ours would go the
//! instant CHAP succeeds), which costs a 3 s restart timeout; so our request
//! waits for the server's own (or [`OPEN_WAIT`], for a server that only
//! answers). And accel-ppp sends its request before it tells its kernel that
//! CCP is open: an Ack back before that system call never starts the kernel's
//! decryption, and the link comes up carrying nothing. So the first Ack of a
//! negotiation waits [`ACK_PACE`], far longer than that window and far shorter
//! than anything a user notices. pppd does neither, and loses nothing: it sends
//! its request as it enters the network phase, where ours now follows it.
//!
//! Both servers answer IPCP and IPV6CP with a Terminate-Ack ("not yet") until
//! their CCP is open. So our network protocols start only once our CCP Ack is
//! out (the server's CCP may open on it), and one told "not yet" all the same
//! (accel-ppp starts IPCP before its CCP) asks again the moment CCP is done on
//! our side, once, rather than at its 3 s restart timeout.

use std::time::{Duration, Instant};

use super::timers::{Timer, TimerTable};
use crate::ppp::packet::CONFIGURE_ACK;

/// How long our CCP request waits for the server's before going anyway.
pub(super) const OPEN_WAIT: Duration = Duration::from_millis(200);
/// How long the first CCP Configure-Ack of a negotiation is held.
pub(super) const ACK_PACE: Duration = Duration::from_millis(5);

#[derive(Debug, Default)]
pub(super) struct CcpStart {
    /// The first Ack has been held (and maybe sent) already.
    paced: bool,
    held: Option<Vec<u8>>,
    /// CCP finished while our Ack was held: IPCP and IPV6CP start on its release.
    ncps_deferred: bool,
    ipcp_hurried: bool,
    ipv6cp_hurried: bool,
}

impl CcpStart {
    /// The network phase began: open CCP once the server's request comes, or
    /// at the latest after [`OPEN_WAIT`].
    pub fn network_phase(&mut self, now: Instant, timers: &mut TimerTable) {
        *self = CcpStart::default();
        timers.set(Timer::CcpOpen, now + OPEN_WAIT);
    }

    /// Whether our CCP should be opened now: on the server's first CCP packet
    /// or when the wait is over. True once: opening stops the wait's timer.
    pub fn should_open(
        &mut self,
        now: Instant,
        server_spoke: bool,
        timers: &mut TimerTable,
    ) -> bool {
        let due = server_spoke || timers.is_expired(Timer::CcpOpen, now);
        if !due || !timers.is_armed(Timer::CcpOpen) {
            return false;
        }
        timers.stop(Timer::CcpOpen);
        true
    }

    /// A CCP packet on its way out: `Some` to send it now, `None` when it is
    /// the negotiation's first Ack, held for [`ACK_PACE`].
    pub fn outgoing(
        &mut self,
        now: Instant,
        packet: Vec<u8>,
        timers: &mut TimerTable,
    ) -> Option<Vec<u8>> {
        if self.paced || packet.first() != Some(&CONFIGURE_ACK) {
            return Some(packet);
        }
        self.paced = true;
        self.held = Some(packet);
        timers.set(Timer::CcpAck, now + ACK_PACE);
        None
    }

    /// Our first Ack is still held: the server's CCP cannot be open yet.
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Whether IPCP, told "not yet", may ask again at once: the first time.
    pub fn hurry_ipcp(&mut self) -> bool {
        !std::mem::replace(&mut self.ipcp_hurried, true)
    }

    /// The same for IPV6CP.
    pub fn hurry_ipv6cp(&mut self) -> bool {
        !std::mem::replace(&mut self.ipv6cp_hurried, true)
    }

    /// CCP is done: whether the network protocols may start now, or must wait
    /// for the held Ack to go ([`CcpStart::take_deferred_ncps`]).
    pub fn ncps_may_start(&mut self) -> bool {
        self.ncps_deferred = self.held.is_some();
        !self.ncps_deferred
    }

    /// Whether network protocols held back by [`CcpStart::ncps_may_start`]
    /// may start now (the Ack has gone). True once.
    pub fn take_deferred_ncps(&mut self) -> bool {
        if self.held.is_some() {
            return false;
        }
        std::mem::take(&mut self.ncps_deferred)
    }

    /// The held Ack, once its time has come.
    pub fn release(&mut self, now: Instant, timers: &mut TimerTable) -> Option<Vec<u8>> {
        if !timers.take_expired(Timer::CcpAck, now) {
            return None;
        }
        self.held.take()
    }

    /// The link went back to establishing: nothing held survives.
    pub fn reset(&mut self, timers: &mut TimerTable) {
        *self = CcpStart::default();
        timers.stop(Timer::CcpOpen);
        timers.stop(Timer::CcpAck);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ccp_opens_on_the_servers_request_or_after_the_wait_once() {
        let t0 = Instant::now();
        let mut timers = TimerTable::default();
        let mut s = CcpStart::default();
        s.network_phase(t0, &mut timers);
        assert!(!s.should_open(t0, false, &mut timers));
        assert!(s.should_open(t0 + Duration::from_millis(1), true, &mut timers));
        assert!(!s.should_open(t0 + Duration::from_millis(2), true, &mut timers));

        s.network_phase(t0, &mut timers);
        assert!(!s.should_open(t0 + OPEN_WAIT / 2, false, &mut timers));
        assert!(s.should_open(t0 + OPEN_WAIT, false, &mut timers));
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn only_the_first_ack_waits_and_it_is_released_on_time() {
        let t0 = Instant::now();
        let mut timers = TimerTable::default();
        let mut s = CcpStart::default();
        s.network_phase(t0, &mut timers);
        s.should_open(t0, true, &mut timers);
        let request = vec![1, 1, 0, 4];
        let ack = vec![CONFIGURE_ACK, 7, 0, 4];
        assert_eq!(s.outgoing(t0, request.clone(), &mut timers), Some(request));
        assert_eq!(s.outgoing(t0, ack.clone(), &mut timers), None);
        assert!(s.holding());
        assert_eq!(timers.next(), Some(t0 + ACK_PACE));
        let again = vec![CONFIGURE_ACK, 8, 0, 4];
        assert_eq!(s.outgoing(t0, again.clone(), &mut timers), Some(again));
        assert_eq!(s.release(t0 + ACK_PACE / 2, &mut timers), None);
        assert_eq!(s.release(t0 + ACK_PACE, &mut timers), Some(ack));
        assert_eq!(s.release(t0 + ACK_PACE * 2, &mut timers), None);
        assert!(!s.holding());
    }

    #[test]
    fn each_ncp_is_hurried_once_per_network_phase() {
        let mut timers = TimerTable::default();
        let mut s = CcpStart::default();
        assert!(s.hurry_ipcp() && s.hurry_ipv6cp());
        assert!(!s.hurry_ipcp() && !s.hurry_ipv6cp());
        s.reset(&mut timers);
        assert!(s.hurry_ipcp() && s.hurry_ipv6cp());
    }

    #[test]
    fn network_protocols_wait_for_the_held_ack() {
        let t0 = Instant::now();
        let mut timers = TimerTable::default();
        let mut s = CcpStart::default();
        s.network_phase(t0, &mut timers);
        s.should_open(t0, true, &mut timers);
        assert_eq!(
            s.outgoing(t0, vec![CONFIGURE_ACK, 1, 0, 4], &mut timers),
            None
        );
        assert!(!s.ncps_may_start(), "the Ack is still held");
        assert!(!s.take_deferred_ncps());
        assert!(s.release(t0 + ACK_PACE, &mut timers).is_some());
        assert!(s.take_deferred_ncps());
        assert!(!s.take_deferred_ncps(), "once");
        // With nothing held they start at once.
        assert!(s.ncps_may_start());
        assert!(!s.take_deferred_ncps());
    }
}
