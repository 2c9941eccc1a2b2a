//! Keeping MPPE in step with the peer: CCP Reset-Requests after a loss,
//! repeated until something decrypts, and the rule for when decryption errors
//! mean the link is broken rather than under attack.

use std::time::{Duration, Instant};

use super::timers::{Timer, TimerTable};
use crate::mppe::MppeError;
use crate::ppp::ccp::Ccp;
use crate::ppp::fsm::Fsm;

/// How long decryption errors must go on with nothing genuine decrypted before
/// the link counts as broken ("too many MPPE errors").
const QUIET_LIMIT: Duration = Duration::from_secs(10);
/// How often to repeat a CCP Reset-Request while MPPE stays out of sync. pppd waits
/// 1 s; on a lossy path each lost request then costs a second of traffic. Extra
/// resets are harmless: the sender coalesces them, and the receiver's key search
/// absorbs the extra key changes.
const RESET_RETRY: Duration = Duration::from_millis(100);
/// Any packet can claim a stateful loss; this spaces the Reset-Requests such
/// claims cause (a held one goes out by the retry timer).
const RESET_MIN_GAP: Duration = Duration::from_millis(20);

#[derive(Default)]
pub(super) struct Resync {
    last_request: Option<Instant>,
    /// When a packet last decrypted to something genuine (or MPPE started): a
    /// storm of bad packets ends the link only if nothing genuine comes through.
    last_decrypted: Option<Instant>,
}

/// Decryption has failed for too long with nothing genuine in between.
pub(super) struct Broken;

impl Resync {
    /// MPPE starts: counts as a genuine packet.
    pub fn started(&mut self, now: Instant) {
        self.last_decrypted = Some(now);
    }

    /// LCP renegotiated: MPPE starts over.
    pub fn stopped(&mut self) {
        self.last_decrypted = None;
    }

    /// A data packet came through; `decrypted` when MPPE was on for it.
    pub fn on_genuine(&mut self, now: Instant, decrypted: bool, timers: &mut TimerTable) {
        timers.stop(Timer::ResetRetry);
        if decrypted {
            self.last_decrypted = Some(now);
        }
    }

    /// A packet MPPE refused. `fatal`: the decryptor itself has given up.
    pub fn on_error(
        &mut self,
        now: Instant,
        e: &MppeError,
        fatal: bool,
        ccp: &mut Fsm<Ccp>,
        timers: &mut TimerTable,
    ) -> Result<(), Broken> {
        if e.needs_reset_request() {
            match self.last_request.map(|t| t + RESET_MIN_GAP) {
                Some(next) if now < next => timers.set_no_later(Timer::ResetRetry, next),
                _ => self.request(now, ccp, timers),
            }
        }
        // The kernel's rule, except that anyone can send us bad packets: only a
        // link where nothing genuine arrived for a while is broken.
        let quiet = self
            .last_decrypted
            .is_none_or(|t| now.saturating_duration_since(t) >= QUIET_LIMIT);
        if quiet && fatal {
            return Err(Broken);
        }
        Ok(())
    }

    pub fn on_timeout(&mut self, now: Instant, ccp: &mut Fsm<Ccp>, timers: &mut TimerTable) {
        if timers.is_expired(Timer::ResetRetry, now) {
            self.request(now, ccp, timers);
        }
    }

    fn request(&mut self, now: Instant, ccp: &mut Fsm<Ccp>, timers: &mut TimerTable) {
        ccp.send_reset_request();
        timers.set(Timer::ResetRetry, now + RESET_RETRY);
        self.last_request = Some(now);
    }
}
