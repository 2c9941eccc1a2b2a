//! Why a link that went down went down, in the user's terms: what the
//! automata, authentication and the server's own words say, turned into a
//! [`DownReason`].

use super::Link;
use crate::ppp::fsm::Failure;
use crate::session::{DownReason, Phase};

/// IPCP went down before the link was up.
pub(super) fn ipcp_failure(f: Option<&Failure>) -> DownReason {
    match f {
        Some(Failure::NoAddress) => DownReason::NoIpAddress,
        Some(Failure::AddressRefused { wanted, offered }) => DownReason::AddressRefused {
            wanted: *wanted,
            offered: *offered,
        },
        Some(f) => DownReason::NegotiationFailed(f.to_string()),
        None => DownReason::NegotiationFailed("IPCP did not complete".into()),
    }
}

impl Link {
    /// The method the server asked for and we refused, while that is what holds
    /// the link back: the reason to give if the server then hangs up.
    pub fn refusal(&self) -> Option<DownReason> {
        if let Some(r) = self.password_refusal() {
            return Some(r);
        }
        if self.phase > Phase::Establish {
            return None;
        }
        self.lcp.refused_auth().map(DownReason::MethodRefused)
    }

    /// A server that offered a retry of the password (pppd sends R=1 too) and
    /// then hung up refused the password.
    fn password_refusal(&self) -> Option<DownReason> {
        self.auth.password_refusal().map(DownReason::AuthFailed)
    }

    pub(super) fn lcp_failure_reason(&self, was_up: bool) -> DownReason {
        if let Some(r) = self.password_refusal() {
            return r;
        }
        // After Up, a Terminate-Request is the server ending a session that
        // worked (a connect-time limit says "MPPE disabled" when pppd closes CCP
        // first): not a negotiation that failed.
        if self.phase == Phase::Up && self.lcp.peer_terminated() {
            let text = self.lcp.peer_terminate_reason().unwrap_or_default();
            return DownReason::SessionEnded(text.to_string());
        }
        if let (false, Some(r)) = (was_up, self.refusal()) {
            return r;
        }
        let peer_text = self.lcp.peer_terminate_reason().map(str::to_string);
        if let Some(f) = self.lcp.failure() {
            return match f {
                Failure::MppeRefused(s) => DownReason::MppeRefused(s.clone()),
                Failure::MppeTooWeak(s) => DownReason::MppeTooWeak(s.clone()),
                f => DownReason::NegotiationFailed(f.to_string()),
            };
        }
        if let Some(t) = peer_text {
            // pppd: "MPPE required but peer negotiation failed" and friends.
            if let Some(offered) = self.ccp.weaker_offer().filter(|_| t.contains("MPPE")) {
                return DownReason::MppeTooWeak(offered.to_string());
            }
            if t.contains("MPPE") {
                return DownReason::MppeRefused(format!("the server terminated the link: {t}"));
            }
            return DownReason::PeerClosed(format!("the server terminated the PPP link: {t}"));
        }
        if was_up {
            return DownReason::PeerClosed("the server terminated the PPP link".into());
        }
        if !self.gre_received {
            return DownReason::GreBlocked;
        }
        DownReason::NegotiationFailed("LCP negotiation did not complete".into())
    }
}
