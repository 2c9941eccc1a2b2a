//! Dialling again after a lost call (NetworkManager's `vpn.persistent`, pppd's
//! `persist`): which endings end it for good, and how long to wait before the
//! next try. The service and `pptp-client` both follow these.

use std::time::Duration;

use crate::auth::AuthError;
use crate::session::DownReason;

/// Whether a call that ended this way ends a persistent connection too:
/// Disconnect, a refused login (asking again with credentials the server
/// refused would only lock the account) and a server that could not prove it
/// knows the password (not one to keep talking to). Anything else, an
/// authentication that merely timed out included, is worth another try.
pub fn is_final(reason: &DownReason) -> bool {
    matches!(
        reason,
        DownReason::Stopped
            | DownReason::AuthFailed(AuthError::Rejected(_) | AuthError::ServerNotAuthenticated(_))
    )
}

// The wait doubles from one second to half a minute, back to one second once a
// call comes up: a server that is down is asked twice a minute, not hammered; a
// short outage is bridged in about a second.

const FIRST: Duration = Duration::from_secs(1);
const LONGEST: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST }
    }
}

impl Backoff {
    /// The wait before the next attempt; each call doubles the one after.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(LONGEST);
        wait
    }

    /// A call came up: the next loss starts from the shortest wait again.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_disconnect_and_a_refused_login_are_final() {
        use crate::auth::ServerFailure;
        assert!(is_final(&DownReason::Stopped));
        assert!(is_final(&DownReason::AuthFailed(AuthError::Rejected(
            ServerFailure::mschap(b"E=691 R=0 V=3 M=denied")
        ))));
        for r in [
            DownReason::AuthFailed(AuthError::Timeout),
            DownReason::EchoTimeout,
            DownReason::PeerUnreachable("x".into()),
            DownReason::GreBlocked,
            DownReason::NoIpAddress,
        ] {
            assert!(!is_final(&r), "{r:?}");
        }
    }

    #[test]
    fn doubles_up_to_half_a_minute_and_starts_over_after_a_call() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..8).map(|_| b.next_wait().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        b.reset();
        assert_eq!(b.next_wait(), Duration::from_secs(1));
    }
}
