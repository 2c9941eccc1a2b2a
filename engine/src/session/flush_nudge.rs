//! When a peer stops acknowledging our data, one ack-only packet at a time.
//!
//! pptpd (1.4, the common Linux server, and pptp-linux's own receiver) holds
//! every packet that follows a lost one in a reorder queue, and looks at that
//! queue again only when another GRE packet from us arrives, releasing what
//! waited past its 0.3 s hold. Right after a loss, TCP above us has usually
//! filled its window and waits for acks that sit in that queue, so nothing
//! arrives until its retransmission timer fires, and each loss costs a
//! backed-off RTO or more. An ack-only packet once the peer's ack has stood
//! still for the hold releases the queue; to a server without such a queue it
//! is one more 12-byte ack.

use std::time::{Duration, Instant};

/// How long the peer's ack may stand still, with our data unacknowledged,
/// before a nudge: pptpd's hold (0.3 s, counted from when the first packet
/// after the gap reached it, which is after its last ack left), and a margin so
/// that on a LAN, where that is the same instant, the nudge does not arrive
/// just before the hold ends and release nothing.
pub const STALL: Duration = Duration::from_millis(325);

#[derive(Debug, Default)]
pub struct FlushNudge {
    watch: Option<Watch>,
    pub sent: u64,
}

#[derive(Debug)]
struct Watch {
    /// The peer's ack as last seen, and since when it has not moved.
    seen: u32,
    since: Instant,
}

impl FlushNudge {
    /// We sent a data packet; `peer_ack` is the peer's latest ack.
    pub fn on_send(&mut self, now: Instant, peer_ack: u32) {
        if self.watch.is_none() {
            self.watch = Some(Watch {
                seen: peer_ack,
                since: now,
            });
        }
    }

    /// A packet from the peer was taken in; `peer_ack` is its latest ack and
    /// `in_flight` what of ours it leaves unacknowledged. The ack is watched as
    /// it arrives, so the only timer is the stall's own deadline: while acks
    /// keep moving it keeps moving too, and never fires (a periodic look every
    /// 50 ms woke an idle-looking tunnel 20 times a second). Once everything is
    /// acknowledged the watch ends, so the next stall is timed from the next
    /// send and not from an older ack.
    pub fn on_ack(&mut self, now: Instant, peer_ack: u32, in_flight: u32) {
        if in_flight == 0 {
            self.watch = None;
        } else if let Some(w) = self.watch.as_mut().filter(|w| w.seen != peer_ack) {
            w.seen = peer_ack;
            w.since = now;
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.watch.as_ref().map(|w| w.since + STALL)
    }

    /// At or after [`FlushNudge::poll_timeout`]: true when a nudge is due now.
    /// `in_flight` counts our packets the peer has not acknowledged.
    pub fn on_timeout(&mut self, now: Instant, in_flight: u32, peer_ack: u32) -> bool {
        let Some(w) = self.watch.as_mut() else {
            return false;
        };
        if now < w.since + STALL {
            return false;
        }
        if in_flight == 0 {
            self.watch = None;
            return false;
        }
        if peer_ack != w.seen {
            w.seen = peer_ack;
            w.since = now;
            return false;
        }
        // Again after another hold if this one released nothing. A peer that
        // has never acknowledged anything (our numbers start at 1) does not ack
        // at all: nothing to read into its silence.
        w.since = now;
        if peer_ack == 0 {
            return false;
        }
        self.sent += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        n: &mut FlushNudge,
        t0: Instant,
        ms: u64,
        in_flight: u32,
        ack: impl Fn(u64) -> u32,
    ) -> Vec<u64> {
        let mut fired = Vec::new();
        for t in (0..=ms).step_by(10) {
            let now = t0 + Duration::from_millis(t);
            // A packet from the peer every 10 ms, carrying its current ack.
            n.on_ack(now, ack(t), in_flight);
            if n.poll_timeout().is_some_and(|d| d <= now) && n.on_timeout(now, in_flight, ack(t)) {
                fired.push(t);
            }
        }
        fired
    }

    #[test]
    fn a_stalled_ack_gets_a_nudge_per_hold() {
        let t0 = Instant::now();
        let mut n = FlushNudge::default();
        n.on_send(t0, 7);
        assert_eq!(run(&mut n, t0, 1000, 3, |_| 7), [330, 660, 990]);
        assert_eq!(n.sent, 3);
    }

    #[test]
    fn a_moving_ack_gets_none() {
        let t0 = Instant::now();
        let mut n = FlushNudge::default();
        n.on_send(t0, 7);
        // The ack moves every 200 ms: never a 300 ms stall.
        assert!(run(&mut n, t0, 2000, 3, |t| 7 + (t / 200) as u32).is_empty());
        // It stops moving at 2010: a nudge one hold later (to the 10 ms step),
        // and another after the next hold.
        let t1 = t0 + Duration::from_millis(2010);
        let fired = run(&mut n, t1, 700, 3, |_| 99);
        assert_eq!(fired, [330, 660]);
    }

    /// While acks keep coming the deadline keeps moving ahead of the clock:
    /// the tunnel is never woken to look.
    #[test]
    fn moving_acks_never_wake_the_timer() {
        let t0 = Instant::now();
        let mut n = FlushNudge::default();
        n.on_send(t0, 1);
        for t in (10..5000).step_by(10) {
            let now = t0 + Duration::from_millis(t);
            n.on_ack(now, 1 + (t / 10) as u32, 3);
            n.on_send(now, 1 + (t / 10) as u32);
            assert!(n.poll_timeout().is_some_and(|d| d > now), "due at {t} ms");
        }
    }

    /// Everything acknowledged, then quiet, then a send that is lost: the
    /// stall is timed from that send, not from the last ack before the quiet.
    #[test]
    fn a_stall_after_a_quiet_spell_counts_from_the_next_send() {
        let t0 = Instant::now();
        let mut n = FlushNudge::default();
        n.on_send(t0, 1);
        n.on_ack(t0 + Duration::from_millis(10), 2, 0);
        assert_eq!(n.poll_timeout(), None);
        let t1 = t0 + Duration::from_millis(200);
        n.on_send(t1, 2);
        assert_eq!(n.poll_timeout(), Some(t1 + STALL));
    }

    #[test]
    fn a_peer_that_never_acks_gets_none() {
        let t0 = Instant::now();
        let mut n = FlushNudge::default();
        n.on_send(t0, 0);
        assert!(run(&mut n, t0, 2000, 50, |_| 0).is_empty());
    }

    #[test]
    fn nothing_unacknowledged_ends_the_watch() {
        let t0 = Instant::now();
        let mut n = FlushNudge::default();
        n.on_send(t0, 7);
        assert!(run(&mut n, t0, 1000, 0, |_| 7).is_empty());
        assert_eq!(n.poll_timeout(), None);
    }
}
