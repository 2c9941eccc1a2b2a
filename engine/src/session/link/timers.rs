//! The link's own deadlines, one slot each, so that the next wake-up is one
//! lookup rather than a hand-kept list. (The automata below, authentication,
//! the reorder hold and DHCPINFORM keep theirs and are asked separately.)

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// The next LCP Echo-Request.
    Echo,
    /// Repeat the CCP Reset-Request while MPPE stays out of sync.
    ResetRetry,
    /// Stop waiting for the peer's Terminate-Ack.
    Terminate,
    /// Come up without IPv6 if IPV6CP has not finished by then.
    Ipv6Wait,
    /// Open CCP if the server's request has not come by then.
    CcpOpen,
    /// Send the held first CCP Configure-Ack.
    CcpAck,
}

const TIMERS: [Timer; 6] = [
    Timer::Echo,
    Timer::ResetRetry,
    Timer::Terminate,
    Timer::Ipv6Wait,
    Timer::CcpOpen,
    Timer::CcpAck,
];

#[derive(Debug, Default)]
pub(super) struct TimerTable {
    at: [Option<Instant>; TIMERS.len()],
}

impl TimerTable {
    pub fn set(&mut self, t: Timer, at: Instant) {
        self.at[t as usize] = Some(at);
    }

    /// Arm `t` unless it already runs; returns when it fires.
    pub fn set_once(&mut self, t: Timer, at: Instant) -> Instant {
        *self.at[t as usize].get_or_insert(at)
    }

    /// Arm `t` for `at`, or keep it if it already fires sooner.
    pub fn set_no_later(&mut self, t: Timer, at: Instant) {
        let slot = &mut self.at[t as usize];
        *slot = Some(slot.map_or(at, |s| s.min(at)));
    }

    pub fn stop(&mut self, t: Timer) {
        self.at[t as usize] = None;
    }

    pub fn is_armed(&self, t: Timer) -> bool {
        self.at[t as usize].is_some()
    }

    pub fn is_expired(&self, t: Timer, now: Instant) -> bool {
        self.at[t as usize].is_some_and(|at| at <= now)
    }

    /// Whether `t` has fired; a fired timer is stopped.
    pub fn take_expired(&mut self, t: Timer, now: Instant) -> bool {
        let fired = self.is_expired(t, now);
        if fired {
            self.stop(t);
        }
        fired
    }

    pub fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_soonest_armed_timer_is_next_and_fires_once() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Echo, t0 + Duration::from_secs(30));
        t.set(Timer::Terminate, t0 + Duration::from_secs(1));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
        assert!(!t.take_expired(Timer::Terminate, t0));
        assert!(t.take_expired(Timer::Terminate, t0 + Duration::from_secs(1)));
        assert!(!t.is_armed(Timer::Terminate));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(30)));
        t.set_no_later(Timer::ResetRetry, t0 + Duration::from_secs(5));
        t.set_no_later(Timer::ResetRetry, t0 + Duration::from_secs(9));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(5)));
        assert_eq!(t.set_once(Timer::Ipv6Wait, t0), t0);
        assert_eq!(t.set_once(Timer::Ipv6Wait, t0 + Duration::from_secs(2)), t0);
        t.stop(Timer::Ipv6Wait);
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(5)));
    }
}
