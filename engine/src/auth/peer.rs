//! The authenticated side (our client): answers the server's challenge, or sends
//! PAP credentials, and verifies the server's MS-CHAPv2 authenticator response.

use std::time::{Duration, Instant};

use rand::{rngs::StdRng, RngCore};
use zeroize::Zeroizing;

use super::message::{check_v2_success, ServerFailure};
use super::wire::{Chap, Pap, V1Response, V2Response};
use super::{chap_md5_response, AuthError, AuthProtocol, MppeKeys};
use crate::crypto::mschap::{authenticator_response, generate_nt_response, mschapv1_nt_response};
use crate::mppe::keys::{mschapv1_start_key, mschapv2_start_keys};
use crate::ppp::frame;
use crate::secret::Password;

const PAP_RETRY: Duration = Duration::from_secs(3);
const PAP_MAX_REQUESTS: u32 = 10;
/// A CHAP Response that gets neither Success nor Failure is sent again after
/// this long: the server's answer may have been lost, and pppd (like Windows)
/// repeats its Success or Failure when the same Response comes again.
const RESPONSE_RETRY: Duration = Duration::from_secs(3);
/// Responses per challenge, the first included (all within [`AUTH_TIMEOUT`]).
const MAX_RESPONSES: u32 = 10;
/// A network-phase packet from the server says it has moved on (its Success was
/// lost): answer that at once, but no more often than this.
const EARLY_RESEND_GAP: Duration = Duration::from_secs(1);
/// How long to wait for the server to challenge us, or to answer our response.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an MS-CHAPv2 response may wait for its verdict: a server that asks
/// for a second factor (NPS with an MFA extension) answers only once the user
/// approved the push on their phone, which takes up to a minute.
pub const MSCHAPV2_VERDICT_WAIT: Duration = Duration::from_secs(60);
/// How long an MS-CHAPv2 retry (a Failure with `R=1`) waits for the user to type
/// a new password: the server holds the link for it (RFC 2759 §6 has it disable
/// its short timeouts).
pub const PASSWORD_PROMPT_WAIT: Duration = Duration::from_secs(120);
/// In-link retries after `R=1` failures, per authentication.
const MAX_PASSWORD_RETRIES: u32 = 2;

#[derive(Debug)]
pub enum Outcome {
    Success {
        keys: Option<MppeKeys>,
        message: Option<String>,
    },
    Failure(AuthError),
    /// The server refused the password but allows a retry on this link (MS-CHAPv2
    /// `R=1`): answer with [`AuthPeer::retry_with`] a new password.
    PasswordWanted(ServerFailure),
}

/// A retry the server offered: the identifier and challenge of the Response it
/// expects, and its refusal (what the wait ends in if no password comes).
struct Offered {
    id: u8,
    challenge: [u8; 16],
    refusal: ServerFailure,
}

/// What we remember about the last response, so a retransmitted challenge gets the
/// identical answer and the Success can be checked.
struct Sent {
    id: u8,
    /// Kept for retransmission; a PAP request holds the password in clear.
    packet: Zeroizing<Vec<u8>>,
    expected_s: Option<[u8; 20]>,
    keys: Option<MppeKeys>,
}

pub struct AuthPeer {
    method: AuthProtocol,
    user: String,
    password: Password,
    rng: StdRng,
    sent: Option<Sent>,
    pap_requests: u32,
    /// Sends of the current CHAP Response.
    responses: u32,
    last_early_resend: Option<Instant>,
    deadline: Option<Instant>,
    retry_at: Option<Instant>,
    done: bool,
    out: Vec<Vec<u8>>,
    /// In-link retries left (0: an `R=1` Failure ends authentication like any).
    password_retries: u32,
    offered: Option<Offered>,
}

impl AuthPeer {
    pub fn new(method: AuthProtocol, user: &str, password: Password, rng: StdRng) -> Self {
        AuthPeer {
            method,
            user: user.to_string(),
            password,
            rng,
            sent: None,
            pap_requests: 0,
            responses: 0,
            last_early_resend: None,
            deadline: None,
            retry_at: None,
            done: false,
            out: Vec::new(),
            password_retries: 0,
            offered: None,
        }
    }

    /// Someone can type a new password: an MS-CHAPv2 Failure with `R=1` asks for
    /// one ([`Outcome::PasswordWanted`]) instead of ending authentication.
    pub fn allow_password_retry(&mut self) {
        self.password_retries = MAX_PASSWORD_RETRIES;
    }

    /// The refusal of a retry offer still waiting for its password.
    pub fn offered_refusal(&self) -> Option<&ServerFailure> {
        self.offered.as_ref().map(|o| &o.refusal)
    }

    /// Answer the retry the server offered with `password`. False when none is
    /// pending (the wait ended, or the server never offered one).
    pub fn retry_with(&mut self, now: Instant, password: Password) -> bool {
        let Some(o) = self.offered.take() else {
            return false;
        };
        self.password = password;
        self.respond(now, o.id, &o.challenge);
        true
    }

    pub fn method(&self) -> AuthProtocol {
        self.method
    }

    pub fn protocol(&self) -> u16 {
        if self.method == AuthProtocol::Pap {
            frame::PAP
        } else {
            frame::CHAP
        }
    }

    pub fn start(&mut self, now: Instant) {
        self.deadline = Some(now + AUTH_TIMEOUT);
        if self.method == AuthProtocol::Pap {
            self.send_pap(now);
        }
    }

    fn send_pap(&mut self, now: Instant) {
        let id = self.pap_requests as u8;
        self.pap_requests += 1;
        let pw = self.password.expose().as_bytes();
        let pkt = Pap::Request {
            id,
            peer_id: self.user.as_bytes(),
            password: pw,
        }
        .encode();
        self.sent = Some(Sent {
            id,
            packet: Zeroizing::new(pkt.clone()),
            expected_s: None,
            keys: None,
        });
        self.out.push(pkt);
        self.retry_at = Some(now + PAP_RETRY);
    }

    /// Packets to send (PAP or CHAP, per [`Self::protocol`]).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        [self.deadline, self.retry_at].into_iter().flatten().min()
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<Outcome> {
        if self.done {
            return None;
        }
        if self.deadline.is_some_and(|d| d <= now) {
            self.finish();
            // Nobody typed a new password: the refusal stands.
            if let Some(o) = self.offered.take() {
                return Some(Outcome::Failure(AuthError::Rejected(o.refusal)));
            }
            return Some(Outcome::Failure(AuthError::Timeout));
        }
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            if self.method == AuthProtocol::Pap {
                if self.pap_requests < PAP_MAX_REQUESTS {
                    self.send_pap(now);
                }
            } else {
                self.resend_response(now);
            }
        }
        None
    }

    /// A packet of the network phase (IPCP, CCP) came while we wait for the
    /// server's verdict: it has sent its Success, and that was lost. Sending the
    /// Response again makes it repeat the Success (which is still checked).
    pub fn server_moved_on(&mut self, now: Instant) {
        if self.method == AuthProtocol::Pap || self.done {
            return;
        }
        if self
            .last_early_resend
            .is_none_or(|t| now.saturating_duration_since(t) >= EARLY_RESEND_GAP)
        {
            self.last_early_resend = Some(now);
            self.resend_response(now);
        }
    }

    fn resend_response(&mut self, now: Instant) {
        let Some(s) = self.sent.as_ref().filter(|_| !self.done) else {
            return;
        };
        if self.responses >= MAX_RESPONSES {
            return;
        }
        self.out.push(s.packet.to_vec());
        self.response_sent(now);
    }

    fn response_sent(&mut self, now: Instant) {
        self.responses += 1;
        self.retry_at = (self.responses < MAX_RESPONSES).then_some(now + RESPONSE_RETRY);
    }

    /// A PAP or CHAP packet from the server.
    pub fn input(&mut self, now: Instant, data: &[u8]) -> Option<Outcome> {
        if self.method == AuthProtocol::Pap {
            let Ok(p) = Pap::decode(data) else {
                return None;
            };
            let sent_id = self.sent.as_ref().map(|s| s.id);
            return match p {
                Pap::Ack { id, message } if Some(id) == sent_id && !self.done => {
                    self.finish();
                    let m = crate::ppp::fsm::sanitize(message);
                    Some(Outcome::Success {
                        keys: None,
                        message: (!m.is_empty()).then_some(m),
                    })
                }
                Pap::Nak { id, message } if Some(id) == sent_id && !self.done => {
                    self.finish();
                    Some(Outcome::Failure(AuthError::Rejected(ServerFailure::plain(
                        message,
                    ))))
                }
                _ => None,
            };
        }
        let Ok(c) = Chap::decode(data) else {
            return None;
        };
        match c {
            Chap::Challenge { id, value, .. } => {
                // A server that retries with a fresh Challenge instead of the
                // Failure's: answer it once the new password is there.
                if let Some(o) = self.offered.as_mut() {
                    if let Ok(c) = <[u8; 16]>::try_from(value) {
                        (o.id, o.challenge) = (id, c);
                    }
                    return None;
                }
                self.respond(now, id, value);
                None
            }
            Chap::Success { id, message } => {
                let sent = self.sent.as_ref().filter(|s| s.id == id)?;
                if self.done && sent.expected_s.is_none() {
                    return None;
                }
                let message = match &sent.expected_s {
                    Some(exp) => match check_v2_success(message, exp) {
                        Ok(m) => m,
                        Err(e) => {
                            self.finish();
                            return Some(Outcome::Failure(AuthError::ServerNotAuthenticated(e)));
                        }
                    },
                    None => Some(crate::ppp::fsm::sanitize(message)).filter(|m| !m.is_empty()),
                };
                let first = !self.done;
                self.finish();
                // RFC 3079 §3: keys come from the first authentication only.
                let keys = self.sent.as_mut().and_then(|s| s.keys.take());
                first.then_some(Outcome::Success { keys, message })
            }
            Chap::Failure { id, message } => {
                if self.sent.as_ref().is_none_or(|s| s.id != id) {
                    return None;
                }
                let f = match self.method {
                    AuthProtocol::ChapMd5 => ServerFailure::plain(message),
                    _ => ServerFailure::mschap(message),
                };
                // RFC 2759 §6: with R=1 the server takes a new Response, to the
                // challenge in C=, with the identifier one past the Failure's.
                // Not for a re-challenge once up: that failure ends the link.
                let retry = (self.method == AuthProtocol::MsChapV2
                    && self.password_retries > 0
                    && !self.done)
                    .then_some(f.challenge.filter(|_| f.retry))
                    .flatten();
                if let Some(challenge) = retry {
                    self.password_retries -= 1;
                    // The old Response is spent: nothing re-sends it now.
                    self.sent = None;
                    self.retry_at = None;
                    self.deadline = Some(now + PASSWORD_PROMPT_WAIT);
                    self.offered = Some(Offered {
                        id: id.wrapping_add(1),
                        challenge,
                        refusal: f.clone(),
                    });
                    return Some(Outcome::PasswordWanted(f));
                }
                self.finish();
                Some(Outcome::Failure(AuthError::Rejected(f)))
            }
            Chap::Response { .. } => None,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        self.deadline = None;
        self.retry_at = None;
    }

    fn respond(&mut self, now: Instant, id: u8, challenge: &[u8]) {
        if let Some(s) = self.sent.as_ref().filter(|s| s.id == id) {
            // A retransmitted challenge: same answer (and the same peer challenge).
            self.out.push(s.packet.to_vec());
            if !self.done {
                self.response_sent(now);
            }
            return;
        }
        let name = self.user.as_bytes();
        let (value, expected_s, keys): (Zeroizing<Vec<u8>>, _, _) = match self.method {
            AuthProtocol::ChapMd5 => {
                let r = chap_md5_response(id, self.password.expose().as_bytes(), challenge);
                (Zeroizing::new(r.to_vec()), None, None)
            }
            AuthProtocol::MsChapV1 => {
                let Ok(c) = <[u8; 8]>::try_from(challenge) else {
                    return;
                };
                let nt = mschapv1_nt_response(&c, &self.password);
                let v = V1Response {
                    lm_response: [0; 24],
                    nt_response: nt,
                    use_nt: true,
                };
                let k = mschapv1_start_key(&self.password, &c);
                (
                    Zeroizing::new(v.encode().to_vec()),
                    None,
                    Some(MppeKeys {
                        send: k.clone(),
                        recv: k,
                    }),
                )
            }
            AuthProtocol::MsChapV2 => {
                let Ok(auth) = <[u8; 16]>::try_from(challenge) else {
                    return;
                };
                let mut peer = [0u8; 16];
                self.rng.fill_bytes(&mut peer);
                let nt = generate_nt_response(&auth, &peer, &self.user, &self.password);
                let s = authenticator_response(&self.password, &nt, &peer, &auth, &self.user);
                let (send, recv) = mschapv2_start_keys(&self.password, &nt, false);
                let v = V2Response {
                    peer_challenge: peer,
                    nt_response: nt,
                    flags: 0,
                };
                (
                    Zeroizing::new(v.encode().to_vec()),
                    Some(s),
                    Some(MppeKeys { send, recv }),
                )
            }
            AuthProtocol::Pap => return,
        };
        let packet = Chap::Response {
            id,
            value: &value,
            name,
        }
        .encode();
        self.out.push(packet.clone());
        let packet = Zeroizing::new(packet);
        // A later re-challenge must not change the keys the first one produced.
        let keys = if self.done { None } else { keys };
        self.sent = Some(Sent {
            id,
            packet,
            expected_s,
            keys,
        });
        if !self.done {
            self.responses = 0;
            self.response_sent(now);
            if self.method == AuthProtocol::MsChapV2 {
                self.deadline = Some(now + MSCHAPV2_VERDICT_WAIT);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::authenticator::{Authenticator, Misbehaviour, Verdict};
    use crate::auth::{test_pair, test_peer};

    /// Drives the client's timers to `until`, returning the first outcome and when.
    fn wait(c: &mut AuthPeer, until: Instant) -> Option<(Outcome, Instant)> {
        while let Some(t) = c.poll_timeout().filter(|&t| t <= until) {
            if let Some(o) = c.handle_timeout(t) {
                return Some((o, t));
            }
            while c.poll_transmit().is_some() {}
        }
        None
    }

    /// A client with the wrong password against a server that allows one retry
    /// (R=1), after the first exchange: both ends and the server's Failure.
    fn refused_once(allow_retry: bool, t0: Instant) -> (AuthPeer, Authenticator, Vec<u8>) {
        let mis = Misbehaviour {
            retries: 1,
            ..Default::default()
        };
        let (mut c, mut s) = test_pair(AuthProtocol::MsChapV2, "wrong", "pw", mis);
        if allow_retry {
            c.allow_password_retry();
        }
        c.start(t0);
        s.start(t0);
        let challenge = s.poll_transmit().unwrap();
        assert!(c.input(t0, &challenge).is_none());
        let response = c.poll_transmit().unwrap();
        assert!(s.input(&response).is_none(), "no verdict yet");
        let failure = s.poll_transmit().unwrap();
        (c, s, failure)
    }

    /// RFC 2759 §6 retry: a Failure with R=1 asks for a password instead of
    /// ending; the new Response answers the Failure's C= challenge with the next
    /// identifier, and its keys are the new password's (the server's match).
    #[test]
    fn r1_failure_asks_for_a_password_and_the_retry_succeeds() {
        let t0 = Instant::now();
        let (mut c, mut s, failure) = refused_once(true, t0);
        let Some(Outcome::PasswordWanted(f)) = c.input(t0, &failure) else {
            panic!("no PasswordWanted");
        };
        assert!(f.retry && f.challenge.is_some());
        assert!(
            c.poll_transmit().is_none(),
            "nothing is sent before the password"
        );
        assert_eq!(c.poll_timeout(), Some(t0 + PASSWORD_PROMPT_WAIT));
        // The Failure again (our Response was repeated): still waiting, quietly.
        assert!(c.input(t0, &failure).is_none());

        let t1 = t0 + Duration::from_secs(40);
        assert!(c.retry_with(t1, Password::new("pw")));
        let retry = c.poll_transmit().unwrap();
        assert_eq!(retry[1], failure[1].wrapping_add(1), "identifier");
        let Some(Verdict::Accepted { keys: Some(sk), .. }) = s.input(&retry) else {
            panic!("the server refused the retry");
        };
        let success = s.poll_transmit().unwrap();
        let Some(Outcome::Success { keys: Some(ck), .. }) = c.input(t1, &success) else {
            panic!("no Success");
        };
        assert_eq!(ck.send.expose(), sk.recv.expose());
        assert!(!c.retry_with(t1, Password::new("pw")), "nothing pending");
    }

    /// A wrong password again gets the final R=0 refusal; without
    /// allow_password_retry an R=1 Failure ends at once; an unanswered offer
    /// ends in the refusal when the prompt wait is over.
    #[test]
    fn r1_retry_limits() {
        let t0 = Instant::now();
        let (mut c, mut s, failure) = refused_once(true, t0);
        assert!(matches!(
            c.input(t0, &failure),
            Some(Outcome::PasswordWanted(_))
        ));
        assert!(c.retry_with(t0, Password::new("still wrong")));
        let retry = c.poll_transmit().unwrap();
        assert!(matches!(s.input(&retry), Some(Verdict::Refused { .. })));
        let last = s.poll_transmit().unwrap();
        let Some(Outcome::Failure(AuthError::Rejected(f))) = c.input(t0, &last) else {
            panic!("no final failure");
        };
        assert!(!f.retry);

        let (mut c, _, failure) = refused_once(false, t0);
        assert!(matches!(
            c.input(t0, &failure),
            Some(Outcome::Failure(AuthError::Rejected(f))) if f.retry
        ));

        let (mut c, _, failure) = refused_once(true, t0);
        assert!(matches!(
            c.input(t0, &failure),
            Some(Outcome::PasswordWanted(_))
        ));
        let far = t0 + Duration::from_secs(600);
        let Some((Outcome::Failure(AuthError::Rejected(f)), at)) = wait(&mut c, far) else {
            panic!("no refusal");
        };
        assert!(f.retry && at == t0 + PASSWORD_PROMPT_WAIT);
    }

    /// An MS-CHAPv2 verdict that takes 45 s (a second factor approved on a
    /// phone) still counts; one that never comes ends the wait at 60 s.
    #[test]
    fn an_mschapv2_verdict_may_take_a_minute() {
        for verdict_after in [Some(45), None] {
            let t0 = Instant::now();
            let (mut c, mut s) =
                test_pair(AuthProtocol::MsChapV2, "pw", "pw", Misbehaviour::default());
            c.start(t0);
            s.start(t0);
            let challenge = s.poll_transmit().unwrap();
            assert!(c.input(t0, &challenge).is_none());
            let response = c.poll_transmit().unwrap();
            assert!(s.input(&response).is_some());
            let success = s.poll_transmit().unwrap();
            match verdict_after {
                Some(secs) => {
                    let at = t0 + Duration::from_secs(secs);
                    assert!(wait(&mut c, at).is_none(), "gave up before {secs} s");
                    assert!(matches!(
                        c.input(at, &success),
                        Some(Outcome::Success { .. })
                    ));
                }
                None => {
                    let far = t0 + Duration::from_secs(120);
                    let Some((Outcome::Failure(AuthError::Timeout), at)) = wait(&mut c, far) else {
                        panic!("no timeout");
                    };
                    assert_eq!(at, t0 + MSCHAPV2_VERDICT_WAIT);
                }
            }
        }
        // The 60 s are the MS-CHAPv2 verdict's only: the 30 s wait for a challenge stays.
        let t0 = Instant::now();
        let mut c = test_peer(AuthProtocol::MsChapV2, "alice", "pw");
        c.start(t0);
        assert_eq!(c.poll_timeout(), Some(t0 + AUTH_TIMEOUT));
    }
}
