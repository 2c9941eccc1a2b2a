//! A bounded hold for GRE packets that arrive ahead of a gap in the sequence.
//!
//! Without it, a packet overtaken on the path arrives "late" and is dropped (it
//! cannot be decrypted any more: stateless MPPE only rekeys forward), so every
//! reordering becomes a loss to TCP above. With it, packets after a gap wait up
//! to [`HOLD`] for the missing one and are then delivered in order; a gap that
//! is a real loss costs those packets at most [`HOLD`] of delay. Packets are
//! held as received (still encrypted), so the window moves only when they are
//! opened, in order, by the same path as any other packet.

use std::time::{Duration, Instant};

use zeroize::Zeroize;

/// How long a packet waits for the gap before it. Path reordering is a few
/// milliseconds (parallel links, Wi-Fi retries, netem's 10 ms); pptp-linux
/// waits 300 ms, which adds that much delay to every real loss.
pub const HOLD: Duration = Duration::from_millis(50);
/// At most this many packets are held (a 1500-byte MTU: 96 KB). At the lab's
/// 2 MB/s, 10 ms of reordering is about 20 packets; a full hold is released.
pub const MAX_HELD: usize = 64;
/// A packet further ahead than this is not held: a gap that wide is loss, or a
/// forgery, and holding it would only delay what follows.
pub const MAX_AHEAD: u32 = 128;

#[derive(Debug, Default)]
pub struct ReorderHold {
    held: Vec<Held>,
    pub stats: HoldStats,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HoldStats {
    /// Packets that waited in the hold and left it in order.
    pub held: u64,
    /// Packets released by the timer (the gap was a loss).
    pub expired: u64,
}

#[derive(Debug)]
struct Held {
    seq: u32,
    deadline: Instant,
    packet: Vec<u8>,
    /// Whether it decrypted when offered (a frame in clear proves nothing).
    decrypts: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Control frames travel in clear (a PAP request to a server among them).
        self.packet.zeroize();
    }
}

impl ReorderHold {
    /// Keep `packet` (sequence `seq`, `expected` being the next in order) if it
    /// is ahead of a gap and there is room; false means handle it now. A copy
    /// of a packet already held is taken and dropped: handled now, it would
    /// move the window past the gap and make the gap's packet late. Only a
    /// packet that `decrypts` (checked by the caller, committing nothing) may
    /// displace one held under its number that did not: a sender never reuses a
    /// number, so the one in clear was forged to take the genuine one's place.
    pub fn offer(
        &mut self,
        now: Instant,
        seq: u32,
        expected: u32,
        packet: &[u8],
        decrypts: bool,
    ) -> bool {
        let ahead = seq.wrapping_sub(expected);
        if ahead == 0 || ahead > MAX_AHEAD {
            return false;
        }
        if let Some(h) = self.held.iter_mut().find(|h| h.seq == seq) {
            if decrypts && !h.decrypts {
                h.packet.zeroize();
                h.packet = packet.to_vec();
                h.decrypts = true;
            }
            return true;
        }
        if self.held.len() >= MAX_HELD {
            return false;
        }
        self.held.push(Held {
            seq,
            deadline: now + HOLD,
            packet: packet.to_vec(),
            decrypts,
        });
        true
    }

    /// The held packet with this sequence number (the gap before it was filled).
    pub fn take(&mut self, seq: u32) -> Option<Vec<u8>> {
        let i = self.held.iter().position(|h| h.seq == seq)?;
        self.stats.held += 1;
        Some(std::mem::take(&mut self.held.swap_remove(i).packet))
    }

    /// Once a held packet has waited [`HOLD`], the gap counts as lost: the
    /// lowest held packet after `expected`, to be handled next.
    pub fn take_expired(&mut self, now: Instant, expected: u32) -> Option<Vec<u8>> {
        if !self.held.iter().any(|h| h.deadline <= now) {
            return None;
        }
        self.stats.expired += 1;
        self.take_lowest(expected)
    }

    /// The held packet nearest after `expected` (to make room, or to flush).
    pub fn take_lowest(&mut self, expected: u32) -> Option<Vec<u8>> {
        let i = (0..self.held.len()).min_by_key(|&i| self.held[i].seq.wrapping_sub(expected))?;
        Some(std::mem::take(&mut self.held.swap_remove(i).packet))
    }

    pub fn is_full(&self) -> bool {
        self.held.len() >= MAX_HELD
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.held.iter().map(|h| h.deadline).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_gap_releases_in_order() {
        let t = Instant::now();
        let mut h = ReorderHold::default();
        assert!(!h.offer(t, 10, 10, b"in order", true));
        assert!(h.offer(t, 12, 10, b"12", true));
        assert!(h.offer(t, 11, 10, b"11", true));
        assert!(
            h.offer(t, 11, 10, b"11 again", true),
            "a copy is taken, and dropped"
        );
        assert_eq!(h.take(10), None);
        assert_eq!(h.take(11).as_deref(), Some(&b"11"[..]));
        assert_eq!(h.take(11), None, "one copy per sequence number");
        assert_eq!(h.take(12).as_deref(), Some(&b"12"[..]));
        assert_eq!(h.poll_timeout(), None);
        assert_eq!(h.stats.held, 2);
    }

    #[test]
    fn a_clear_frame_never_keeps_a_decrypting_packet_out() {
        let t = Instant::now();
        let mut h = ReorderHold::default();
        assert!(h.offer(t, 12, 10, b"forged in clear", false));
        assert!(h.offer(t, 12, 10, b"genuine", true));
        assert!(h.offer(t, 12, 10, b"forged again", false));
        assert!(h.offer(t, 12, 10, b"a copy", true));
        assert_eq!(h.take(12).as_deref(), Some(&b"genuine"[..]));
    }

    #[test]
    fn a_lost_gap_expires_lowest_first() {
        let t = Instant::now();
        let mut h = ReorderHold::default();
        assert!(h.offer(t, 0x0000_0002, 0xFFFF_FFFF, b"2", true));
        assert!(h.offer(
            t + Duration::from_millis(5),
            0x0000_0000,
            0xFFFF_FFFF,
            b"0",
            true
        ));
        assert_eq!(h.poll_timeout(), Some(t + HOLD));
        assert_eq!(
            h.take_expired(t + HOLD - Duration::from_millis(1), 0xFFFF_FFFF),
            None
        );
        // Across the wrap, 0 comes before 2.
        assert_eq!(
            h.take_expired(t + HOLD, 0xFFFF_FFFF).as_deref(),
            Some(&b"0"[..])
        );
        assert_eq!(h.take_expired(t + HOLD, 1).as_deref(), Some(&b"2"[..]));
        assert_eq!(h.stats.expired, 2);
    }

    #[test]
    fn bounded() {
        let t = Instant::now();
        let mut h = ReorderHold::default();
        assert!(!h.offer(t, 100 + MAX_AHEAD + 1, 100, b"far", true));
        assert!(!h.offer(t, 99, 100, b"late", true));
        for s in 0..MAX_HELD as u32 {
            assert!(h.offer(t, 101 + s, 100, b"x", true));
        }
        assert!(h.is_full());
        assert!(!h.offer(t, 100 + MAX_AHEAD, 100, b"no room", true));
        assert_eq!(h.take_lowest(100).as_deref(), Some(&b"x"[..]));
        assert!(!h.is_full());
    }
}
