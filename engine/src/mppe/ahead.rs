//! The receiver's session keys ahead of its current one, each computed once.
//!
//! A packet that claims a coherency count `n` changes ahead needs the key `n`
//! changes down the chain, whether it is genuine or forged: the key depends only
//! on the distance. Keeping the keys already computed makes a flood of forged
//! counts cost key changes only as far ahead as its furthest claim, once, and
//! then one per genuine packet as the window moves: never one per forged packet.
//! So the budget that bounds that work can no longer be emptied by forgeries at
//! the expense of a genuine packet after a loss, whose key is already here.

use std::collections::VecDeque;

use super::keys::KeyChain;

/// How many key changes a stateless receiver may look ahead: the kernel's
/// half-space rule (counts further on are treated as late).
pub const MAX_AHEAD: u32 = 2048;

/// How many key changes the receiver may compute beyond the next one, per
/// second (and at most at once). Genuine traffic costs one change per packet,
/// the next one, which is never charged.
pub const JUMP_BUDGET: u32 = 4096;

pub struct KeysAhead {
    current: KeyChain,
    /// `ahead[i]` is `current` after `i + 1` key changes.
    ahead: VecDeque<KeyChain>,
    tokens: u32,
    last_ns: u64,
    /// Key changes computed, for the work bound's tests and the call's counters.
    rekeys: u64,
}

impl KeysAhead {
    pub fn new(current: KeyChain) -> Self {
        KeysAhead {
            current,
            ahead: VecDeque::new(),
            tokens: JUMP_BUDGET,
            last_ns: 0,
            rekeys: 0,
        }
    }

    #[cfg(test)]
    pub fn current(&self) -> &KeyChain {
        &self.current
    }

    pub fn rekeys(&self) -> u64 {
        self.rekeys
    }

    /// Refill the budget as if no time had been spent (for callers with no clock).
    pub fn refill(&mut self) {
        self.tokens = JUMP_BUDGET;
    }

    /// The key `n` changes ahead of the current one (`n` ≥ 1), computing those
    /// not yet known. `None` when `n` is beyond [`MAX_AHEAD`] or the budget does
    /// not cover the new changes beyond the first position.
    pub fn get(&mut self, n: u32, now_ns: u64) -> Option<&KeyChain> {
        if n == 0 || n > MAX_AHEAD {
            return None;
        }
        let have = self.ahead.len() as u32;
        if n > have {
            // Position 1 is what every in-order packet costs; the rest is paid.
            let charged = n - have.max(1);
            if !self.take(charged, now_ns) {
                return None;
            }
            if self.ahead.capacity() < MAX_AHEAD as usize {
                // Once, so that no reallocation leaves copies of keys behind.
                self.ahead.reserve_exact(MAX_AHEAD as usize);
            }
            let mut k = self.ahead.back().unwrap_or(&self.current).clone();
            for _ in have..n {
                k.rekey();
                self.rekeys += 1;
                self.ahead.push_back(k.clone());
            }
        }
        self.ahead.get(n as usize - 1)
    }

    /// Make the key `n` changes ahead the current one; it must have been got.
    pub fn advance(&mut self, n: u32) {
        debug_assert!(n >= 1 && n as usize <= self.ahead.len());
        for _ in 1..n {
            self.ahead.pop_front();
        }
        if let Some(k) = self.ahead.pop_front() {
            self.current = k;
        }
    }

    fn take(&mut self, n: u32, now_ns: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        let refill = elapsed.saturating_mul(u64::from(JUMP_BUDGET)) / 1_000_000_000;
        if refill > 0 {
            self.tokens = (u64::from(self.tokens) + refill).min(u64::from(JUMP_BUDGET)) as u32;
            self.last_ns = now_ns;
        }
        if n > self.tokens {
            return false;
        }
        self.tokens -= n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mppe::{StartKey, Strength};

    fn chain() -> KeyChain {
        KeyChain::new(&StartKey::new([9; 16]), Strength::Bits128)
    }

    fn walked(n: u32) -> Vec<u8> {
        let mut k = chain();
        for _ in 0..n {
            k.rekey();
        }
        k.session_key().to_vec()
    }

    #[test]
    fn keys_ahead_are_the_chains_and_computed_once() {
        let mut a = KeysAhead::new(chain());
        assert_eq!(a.get(5, 0).unwrap().session_key(), walked(5));
        assert_eq!(a.rekeys(), 5);
        // Nearer and the same: already known.
        assert_eq!(a.get(3, 0).unwrap().session_key(), walked(3));
        assert_eq!(a.get(5, 0).unwrap().session_key(), walked(5));
        assert_eq!(a.rekeys(), 5);
        a.advance(3);
        assert_eq!(a.current().session_key(), walked(3));
        assert_eq!(a.get(2, 0).unwrap().session_key(), walked(5));
        assert_eq!(a.get(3, 0).unwrap().session_key(), walked(6));
        assert_eq!(a.rekeys(), 6);
        assert!(a.get(0, 0).is_none());
        assert!(a.get(MAX_AHEAD + 1, 0).is_none());
    }

    #[test]
    fn the_next_key_is_free_and_the_rest_is_budgeted() {
        let mut a = KeysAhead::new(chain());
        // An in-order packet at a time the budget is empty still gets its key.
        assert!(a.take(JUMP_BUDGET, 0));
        assert!(a.get(1, 0).is_some());
        assert!(a.get(2, 0).is_none());
        // Half a second refills half the budget.
        assert!(a.get(2049, 500_000_000).is_none());
        assert!(a.get(2048, 500_000_000).is_some());
    }
}
