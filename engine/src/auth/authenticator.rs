//! The authenticator (server role): challenges the peer and checks its answer.
//! Used by the engine's server session for tests and benchmarks.

use std::time::{Duration, Instant};

use rand::{rngs::StdRng, RngCore};

use super::wire::{Chap, Pap, V1Response, V2Response};
use super::{chap_md5_response, AuthProtocol, MppeKeys};
use crate::crypto::mschap::{
    authenticator_response, generate_nt_response, mschapv1_nt_response, strip_domain,
};
use crate::mppe::keys::{mschapv1_start_key, mschapv2_start_keys};
use crate::ppp::frame;
use crate::secret::Password;
use crate::wire::hex_upper;

const RETRY: Duration = Duration::from_secs(3);
const MAX_CHALLENGES: u32 = 10;

/// Test knobs for misbehaving servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Send an MS-CHAPv2 Success whose `S=` does not match (an impostor server).
    pub forge_success: bool,
    /// Wrong MS-CHAPv2 passwords allowed another try on the link (`R=1` with a
    /// new challenge, as Windows RRAS does), before the final `R=0`.
    pub retries: u8,
    /// Say `R=1` in the final Failure and end the link anyway, as pppd does.
    pub retry_then_hang_up: bool,
}

pub enum Verdict {
    Accepted {
        user: String,
        keys: Option<MppeKeys>,
    },
    Refused {
        user: String,
    },
}

pub struct Authenticator {
    method: AuthProtocol,
    users: Vec<(String, Password)>,
    misbehaviour: Misbehaviour,
    rng: StdRng,
    id: u8,
    challenge: Vec<u8>,
    challenges_sent: u32,
    retry_at: Option<Instant>,
    out: Vec<Vec<u8>>,
    done: bool,
    /// The verdict sent (Success/Failure, PAP Ack/Nak), repeated when the same
    /// request comes again (its answer was lost), as pppd does.
    status: Option<(u8, Vec<u8>)>,
}

impl Authenticator {
    pub fn new(
        method: AuthProtocol,
        users: Vec<(String, Password)>,
        misbehaviour: Misbehaviour,
        rng: StdRng,
    ) -> Self {
        Authenticator {
            method,
            users,
            misbehaviour,
            rng,
            id: 0,
            challenge: Vec::new(),
            challenges_sent: 0,
            retry_at: None,
            out: Vec::new(),
            done: false,
            status: None,
        }
    }

    pub fn protocol(&self) -> u16 {
        if self.method == AuthProtocol::Pap {
            frame::PAP
        } else {
            frame::CHAP
        }
    }

    fn password_of(&self, name: &str) -> Option<Password> {
        self.users
            .iter()
            .find(|(u, _)| u == name || u == strip_domain(name))
            .map(|(_, p)| p.clone())
    }

    pub fn start(&mut self, now: Instant) {
        if self.method == AuthProtocol::Pap {
            return;
        }
        let len = match self.method {
            AuthProtocol::MsChapV1 => 8,
            _ => 16,
        };
        self.challenge = vec![0u8; len];
        self.rng.fill_bytes(&mut self.challenge);
        self.id = self.id.wrapping_add(1);
        self.send_challenge(now);
    }

    fn send_challenge(&mut self, now: Instant) {
        self.challenges_sent += 1;
        self.out.push(
            Chap::Challenge {
                id: self.id,
                value: &self.challenge,
                name: b"pptp-testpeer",
            }
            .encode(),
        );
        self.retry_at = Some(now + RETRY);
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Returns true when the peer stopped answering entirely.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.retry_at.is_some_and(|t| t <= now) {
            if self.challenges_sent >= MAX_CHALLENGES {
                self.retry_at = None;
                return true;
            }
            self.send_challenge(now);
        }
        false
    }

    pub fn input(&mut self, data: &[u8]) -> Option<Verdict> {
        if self.done || self.repeats_retry_offer(data) {
            self.repeat_status(data);
            return None;
        }
        let verdict = self.judge(data);
        if verdict.is_some() {
            self.status = self.out.last().map(|p| (p[1], p.clone()));
        }
        verdict
    }

    /// While a retry is offered: the refused Response again (the Failure was lost).
    fn repeats_retry_offer(&self, data: &[u8]) -> bool {
        matches!(Chap::decode(data), Ok(Chap::Response { id, .. })
            if id != self.id && self.status.as_ref().is_some_and(|s| s.0 == id))
    }

    /// A repeated request after the verdict: send the verdict again.
    fn repeat_status(&mut self, data: &[u8]) {
        let status_id = self.status.as_ref().map(|s| s.0);
        let repeated = match self.method {
            AuthProtocol::Pap => {
                matches!(Pap::decode(data), Ok(Pap::Request { id, .. }) if Some(id) == status_id)
            }
            _ => {
                matches!(Chap::decode(data), Ok(Chap::Response { id, .. }) if Some(id) == status_id)
            }
        };
        if let Some((_, p)) = self.status.as_ref().filter(|_| repeated) {
            self.out.push(p.clone());
        }
    }

    fn judge(&mut self, data: &[u8]) -> Option<Verdict> {
        if self.method == AuthProtocol::Pap {
            let Ok(Pap::Request {
                id,
                peer_id,
                password,
            }) = Pap::decode(data)
            else {
                return None;
            };
            let user = String::from_utf8_lossy(peer_id).into_owned();
            let ok = self
                .password_of(&user)
                .is_some_and(|p| p.expose().as_bytes() == password);
            self.done = true;
            return Some(if ok {
                self.out.push(
                    Pap::Ack {
                        id,
                        message: b"Login ok",
                    }
                    .encode(),
                );
                Verdict::Accepted { user, keys: None }
            } else {
                self.out.push(
                    Pap::Nak {
                        id,
                        message: b"Login incorrect",
                    }
                    .encode(),
                );
                Verdict::Refused { user }
            });
        }
        let Ok(Chap::Response { id, value, name }) = Chap::decode(data) else {
            return None;
        };
        if id != self.id {
            return None;
        }
        self.retry_at = None;
        self.done = true;
        let user = String::from_utf8_lossy(name).into_owned();
        let pw = self.password_of(&user);
        let accepted: Option<(Vec<u8>, Option<MppeKeys>)> = pw.and_then(|pw| match self.method {
            AuthProtocol::ChapMd5 => {
                (chap_md5_response(id, pw.expose().as_bytes(), &self.challenge)[..] == *value)
                    .then(|| (b"Welcome".to_vec(), None))
            }
            AuthProtocol::MsChapV1 => {
                let c: [u8; 8] = self.challenge.clone().try_into().ok()?;
                let r = V1Response::decode(value).ok()?;
                (r.use_nt && r.nt_response == mschapv1_nt_response(&c, &pw)).then(|| {
                    let k = mschapv1_start_key(&pw, &c);
                    (
                        b"Welcome".to_vec(),
                        Some(MppeKeys {
                            send: k.clone(),
                            recv: k,
                        }),
                    )
                })
            }
            AuthProtocol::MsChapV2 => {
                let c: [u8; 16] = self.challenge.clone().try_into().ok()?;
                let r = V2Response::decode(value).ok()?;
                if r.nt_response != generate_nt_response(&c, &r.peer_challenge, &user, &pw) {
                    return None;
                }
                let mut s =
                    authenticator_response(&pw, &r.nt_response, &r.peer_challenge, &c, &user);
                if self.misbehaviour.forge_success {
                    s[0] ^= 0xFF;
                }
                let (send, recv) = mschapv2_start_keys(&pw, &r.nt_response, true);
                Some((
                    format!("S={} M=Access granted", hex_upper(&s)).into_bytes(),
                    Some(MppeKeys { send, recv }),
                ))
            }
            AuthProtocol::Pap => None,
        });
        Some(match accepted {
            Some((msg, keys)) => {
                self.out.push(Chap::Success { id, message: &msg }.encode());
                Verdict::Accepted { user, keys }
            }
            None => {
                // RFC 2759 §6: a retry gets a new challenge in C= and waits, on
                // the link, for a Response with the next identifier.
                let retry = self.method == AuthProtocol::MsChapV2 && self.misbehaviour.retries > 0;
                let msg = match self.method {
                    AuthProtocol::ChapMd5 => "Access denied".to_string(),
                    _ if retry => {
                        self.rng.fill_bytes(&mut self.challenge);
                        format!(
                            "E=691 R=1 C={} V=3 M=Wrong password, try again",
                            hex_upper(&self.challenge)
                        )
                    }
                    _ => format!(
                        "E=691 R={} C={} V=3 M=Authentication failed",
                        u8::from(self.misbehaviour.retry_then_hang_up),
                        hex_upper(&[0x5A; 16])
                    ),
                };
                let failure = Chap::Failure {
                    id,
                    message: msg.as_bytes(),
                }
                .encode();
                if retry {
                    self.misbehaviour.retries -= 1;
                    self.done = false;
                    self.status = Some((id, failure.clone()));
                    self.out.push(failure);
                    self.id = id.wrapping_add(1);
                    return None;
                }
                self.out.push(failure);
                Verdict::Refused { user }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::peer::Outcome;
    use super::*;
    use crate::auth::AuthError;
    use crate::auth::FailureKind;
    use crate::auth::{test_pair, test_peer};

    fn run(
        method: AuthProtocol,
        user: &str,
        pw: &str,
        server_pw: &str,
        mis: Misbehaviour,
    ) -> (Option<Outcome>, Option<Verdict>) {
        let now = Instant::now();
        let (_, mut s) = test_pair(method, pw, server_pw, mis);
        let mut c = test_peer(method, user, pw);
        c.start(now);
        s.start(now);
        let (mut outcome, mut verdict) = (None, None);
        for _ in 0..10 {
            while let Some(p) = c.poll_transmit() {
                verdict = verdict.or(s.input(&p));
            }
            while let Some(p) = s.poll_transmit() {
                outcome = outcome.or(c.input(now, &p));
            }
        }
        (outcome, verdict)
    }

    #[test]
    fn every_method_accepts_the_right_password() {
        for m in [
            AuthProtocol::Pap,
            AuthProtocol::ChapMd5,
            AuthProtocol::MsChapV1,
            AuthProtocol::MsChapV2,
        ] {
            let (o, v) = run(
                m,
                "alice",
                "pw with spaces",
                "pw with spaces",
                Misbehaviour::default(),
            );
            assert!(matches!(v, Some(Verdict::Accepted { .. })), "{m:?}");
            let Some(Outcome::Success { keys, .. }) = o else {
                panic!("{m:?}: {o:?}")
            };
            assert_eq!(
                keys.is_some(),
                matches!(m, AuthProtocol::MsChapV1 | AuthProtocol::MsChapV2)
            );
        }
    }

    #[test]
    fn domain_user_matches() {
        let (o, _) = run(
            AuthProtocol::MsChapV2,
            "CORP\\alice",
            "pw",
            "pw",
            Misbehaviour::default(),
        );
        assert!(matches!(o, Some(Outcome::Success { .. })), "{o:?}");
    }

    #[test]
    fn wrong_password_is_typed() {
        let (o, _) = run(
            AuthProtocol::MsChapV2,
            "alice",
            "bad",
            "good",
            Misbehaviour::default(),
        );
        let Some(Outcome::Failure(AuthError::Rejected(f))) = o else {
            panic!("{o:?}")
        };
        assert_eq!(f.kind, FailureKind::BadCredentials);
        assert_eq!(f.message.as_deref(), Some("Authentication failed"));
        let (o, _) = run(
            AuthProtocol::Pap,
            "alice",
            "bad",
            "good",
            Misbehaviour::default(),
        );
        let Some(Outcome::Failure(AuthError::Rejected(f))) = o else {
            panic!("{o:?}")
        };
        assert_eq!(f.message.as_deref(), Some("Login incorrect"));
    }

    #[test]
    fn forged_success_is_rejected() {
        let (o, v) = run(
            AuthProtocol::MsChapV2,
            "alice",
            "pw",
            "pw",
            Misbehaviour {
                forge_success: true,
                ..Default::default()
            },
        );
        assert!(matches!(v, Some(Verdict::Accepted { .. })));
        assert!(
            matches!(
                o,
                Some(Outcome::Failure(AuthError::ServerNotAuthenticated(
                    crate::auth::SuccessError::Mismatch
                )))
            ),
            "{o:?}"
        );
    }

    /// The Success is lost: the peer sends its Response again (on its timer, or at
    /// once when the server's CCP shows it moved on) and the server repeats the
    /// Success, which is still checked.
    #[test]
    fn a_lost_success_is_recovered_by_resending_the_response() {
        for early in [false, true] {
            let now = Instant::now();
            let (mut c, mut s) =
                test_pair(AuthProtocol::MsChapV2, "pw", "pw", Misbehaviour::default());
            c.start(now);
            s.start(now);
            c.input(now, &s.poll_transmit().unwrap());
            let response = c.poll_transmit().unwrap();
            assert!(matches!(s.input(&response), Some(Verdict::Accepted { .. })));
            let _lost_success = s.poll_transmit().unwrap();
            let t = if early {
                let t = now + Duration::from_millis(200);
                c.server_moved_on(t);
                t
            } else {
                let t = c.poll_timeout().unwrap();
                assert!(c.handle_timeout(t).is_none());
                t
            };
            assert!(t - now <= Duration::from_secs(3), "{:?}", t - now);
            let again = c.poll_transmit().expect("the Response again");
            assert_eq!(again, response);
            assert!(s.input(&again).is_none(), "one verdict only");
            let success = s.poll_transmit().expect("the Success again");
            match c.input(t, &success) {
                Some(Outcome::Success { keys, .. }) => assert!(keys.is_some()),
                o => panic!("{o:?}"),
            }
            assert_eq!(c.poll_timeout(), None);
        }
    }

    #[test]
    fn missing_s_is_rejected() {
        let now = Instant::now();
        let mut c = test_peer(AuthProtocol::MsChapV2, "alice", "pw");
        c.start(now);
        c.input(
            now,
            &Chap::Challenge {
                id: 3,
                value: &[1; 16],
                name: b"srv",
            }
            .encode(),
        );
        c.poll_transmit().unwrap();
        let o = c.input(
            now,
            &Chap::Success {
                id: 3,
                message: b"M=Welcome",
            }
            .encode(),
        );
        assert!(
            matches!(
                o,
                Some(Outcome::Failure(AuthError::ServerNotAuthenticated(_)))
            ),
            "{o:?}"
        );
    }

    #[test]
    fn retransmitted_challenge_gets_same_response_and_timeout_fires() {
        let now = Instant::now();
        let mut c = test_peer(AuthProtocol::MsChapV2, "alice", "pw");
        c.start(now);
        let ch = Chap::Challenge {
            id: 3,
            value: &[1; 16],
            name: b"srv",
        }
        .encode();
        c.input(now, &ch);
        let a = c.poll_transmit().unwrap();
        c.input(now, &ch);
        assert_eq!(c.poll_transmit().unwrap(), a);
        assert!(c.handle_timeout(now + Duration::from_secs(1)).is_none());
        // No verdict: the same Response goes out again every few seconds (for the
        // first 30 s), then the attempt times out when the MS-CHAPv2 wait ends.
        let mut resent = 0;
        let outcome = loop {
            let t = c.poll_timeout().unwrap();
            if let Some(o) = c.handle_timeout(t) {
                break (o, t);
            }
            while let Some(p) = c.poll_transmit() {
                assert_eq!(p, a);
                resent += 1;
            }
        };
        assert!(matches!(outcome.0, Outcome::Failure(AuthError::Timeout)));
        assert_eq!(outcome.1, now + super::super::peer::MSCHAPV2_VERDICT_WAIT);
        assert!((5..=9).contains(&resent), "{resent}");
    }
}
