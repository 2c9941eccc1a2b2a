//! Is the peer still there: LCP Echo-Requests on a timer, and the link declared
//! dead after too many go unanswered (pppd's lcp-echo-interval/-failure).

use std::time::{Duration, Instant};

use super::timers::{Timer, TimerTable};
use crate::ppp::fsm::Fsm;
use crate::ppp::lcp::Lcp;

pub(super) struct Liveness {
    /// Interval and failure count; None: no echoes.
    echo: Option<(Duration, u32)>,
}

/// The peer stopped answering echoes.
pub(super) struct Dead;

impl Liveness {
    pub fn new(echo: Option<(Duration, u32)>) -> Self {
        Liveness { echo }
    }

    /// LCP opened: the first echo goes one interval later.
    pub fn start(&self, now: Instant, timers: &mut TimerTable) {
        if let Some((interval, _)) = self.echo {
            timers.set(Timer::Echo, now + interval);
        }
    }

    pub fn on_timeout(
        &self,
        now: Instant,
        timers: &mut TimerTable,
        lcp: &mut Fsm<Lcp>,
    ) -> Result<(), Dead> {
        if !timers.take_expired(Timer::Echo, now) || !lcp.is_opened() {
            return Ok(());
        }
        let Some((interval, failures)) = self.echo else {
            return Ok(());
        };
        // As pppd: a failure count of 0 keeps sending echoes (a keep-alive for
        // NAT state) without ever ending the link over them.
        if failures > 0 && lcp.unanswered_echoes() >= failures {
            return Err(Dead);
        }
        lcp.send_echo_request();
        timers.set(Timer::Echo, now + interval);
        Ok(())
    }
}
