//! The authentication phase of one link, for either role: which side we are,
//! the method LCP agreed, and the MPPE keys it yields.

use std::time::Instant;

use rand::rngs::StdRng;
use tracing::{debug, info, warn};

use super::Role;
use crate::auth::authenticator::{Authenticator, Verdict};
use crate::auth::peer::{AuthPeer, Outcome};
use crate::auth::{AuthError, AuthProtocol, MppeKeys, ServerFailure};
use crate::secret::Password;

enum Side {
    Pending,
    Peer(AuthPeer),
    Authenticator(Authenticator),
    Done,
}

pub(super) struct Authentication {
    side: Side,
    method: Option<AuthProtocol>,
}

/// What authentication decided.
pub(super) enum Decision {
    /// Authenticated (either way round), with MS-CHAP's keys if any.
    Passed(Option<MppeKeys>),
    Failed(AuthError),
    /// The server allows another password on this link.
    PasswordWanted(ServerFailure),
}

impl Authentication {
    pub fn new() -> Self {
        Authentication {
            side: Side::Pending,
            method: None,
        }
    }

    /// The method LCP agreed on, if authentication started.
    pub fn method(&self) -> Option<AuthProtocol> {
        self.method
    }

    /// LCP agreed on no authentication at all.
    pub fn skip(&mut self) {
        self.side = Side::Done;
        self.method = None;
    }

    pub fn start(&mut self, role: &Role, method: AuthProtocol, rng: StdRng, now: Instant) {
        self.method = Some(method);
        match role {
            Role::Client {
                user,
                password,
                password_retry,
            } => {
                let mut p = AuthPeer::new(method, user, password.clone(), rng);
                if *password_retry {
                    p.allow_password_retry();
                }
                p.start(now);
                self.side = Side::Peer(p);
            }
            Role::Server {
                users,
                misbehaviour,
                ..
            } => {
                let mut a = Authenticator::new(method, users.clone(), *misbehaviour, rng);
                a.start(now);
                self.side = Side::Authenticator(a);
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.side {
            Side::Peer(p) => p.poll_timeout(),
            Side::Authenticator(a) => a.poll_timeout(),
            _ => None,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<Decision> {
        match &mut self.side {
            Side::Peer(p) => p.handle_timeout(now).map(decision),
            Side::Authenticator(a) => a
                .handle_timeout(now)
                .then_some(Decision::Failed(AuthError::Timeout)),
            _ => None,
        }
    }

    /// A PAP or CHAP packet.
    pub fn input(&mut self, now: Instant, proto: u16, info: &[u8]) -> Option<Decision> {
        match &mut self.side {
            Side::Peer(p) if p.protocol() == proto => p.input(now, info).map(decision),
            Side::Authenticator(a) if a.protocol() == proto => match a.input(info)? {
                Verdict::Accepted { user, keys } => {
                    info!(user = %user, "peer authenticated");
                    // The authenticator stays: its Success is still queued.
                    Some(Decision::Passed(keys))
                }
                Verdict::Refused { user } => {
                    warn!(user = %user, "peer failed authentication");
                    let f = ServerFailure::plain(b"peer authentication failed");
                    Some(Decision::Failed(AuthError::Rejected(f)))
                }
            },
            _ => {
                debug!(
                    proto,
                    "authentication packet outside authentication ignored"
                );
                None
            }
        }
    }

    /// The server has started the network phase while we still wait for its
    /// verdict: its Success was lost or overtaken.
    pub fn server_moved_on(&mut self, now: Instant) {
        if let Side::Peer(p) = &mut self.side {
            p.server_moved_on(now);
        }
    }

    /// Packets to send, with their protocol.
    pub fn poll_transmit(&mut self) -> Option<(u16, Vec<u8>)> {
        match &mut self.side {
            Side::Peer(a) => a.poll_transmit().map(|p| (a.protocol(), p)),
            Side::Authenticator(a) => a.poll_transmit().map(|p| (a.protocol(), p)),
            _ => None,
        }
    }

    /// A server that offered a retry of the password (pppd sends R=1 too) and
    /// then hung up refused the password.
    pub fn password_refusal(&self) -> Option<AuthError> {
        match &self.side {
            Side::Peer(p) => p.offered_refusal().map(|f| AuthError::Rejected(f.clone())),
            _ => None,
        }
    }

    /// Hands the new password to the pending retry; given back if there is none.
    pub fn retry_with(&mut self, now: Instant, password: Password) -> Result<(), Password> {
        let Side::Peer(p) = &mut self.side else {
            return Err(password);
        };
        if p.retry_with(now, password.clone()) {
            Ok(())
        } else {
            Err(password)
        }
    }
}

fn decision(o: Outcome) -> Decision {
    match o {
        Outcome::Success { keys, message } => {
            info!(
                server_message = message.as_deref().unwrap_or(""),
                "authenticated"
            );
            Decision::Passed(keys)
        }
        Outcome::Failure(e) => Decision::Failed(e),
        Outcome::PasswordWanted(f) => Decision::PasswordWanted(f),
    }
}
