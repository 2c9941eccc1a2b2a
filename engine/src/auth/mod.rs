//! PPP authentication: PAP, CHAP-MD5, MS-CHAPv1, MS-CHAPv2, both as the peer
//! being authenticated (client) and as the authenticator (server role).

pub mod authenticator;
pub mod message;
pub mod peer;
pub mod wire;

use thiserror::Error;

use crate::mppe::StartKey;
pub use crate::ppp::lcp::AuthProtocol;
pub use message::{FailureKind, ServerFailure, SuccessError};

/// MPPE start keys produced by MS-CHAP, from this side's point of view.
#[derive(Debug, Clone)]
pub struct MppeKeys {
    pub send: StartKey,
    pub recv: StartKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("{0}")]
    Rejected(ServerFailure),
    #[error("the server could not prove it knows the password ({0}); possible impostor")]
    ServerNotAuthenticated(SuccessError),
    #[error("no authentication exchange completed in time")]
    Timeout,
}

/// CHAP-MD5 response value (RFC 1994 §4.1): MD5(Identifier ‖ secret ‖ Challenge).
pub fn chap_md5_response(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// Both ends of an authentication for tests: alice's client with `pw` and a
/// server that knows alice by `server_pw`.
#[cfg(test)]
pub(crate) fn test_pair(
    method: AuthProtocol,
    pw: &str,
    server_pw: &str,
    mis: authenticator::Misbehaviour,
) -> (peer::AuthPeer, authenticator::Authenticator) {
    use rand::SeedableRng;
    (
        test_peer(method, "alice", pw),
        authenticator::Authenticator::new(
            method,
            vec![("alice".into(), crate::secret::Password::new(server_pw))],
            mis,
            rand::rngs::StdRng::seed_from_u64(2),
        ),
    )
}

/// A client alone, for tests that play the server by hand.
#[cfg(test)]
pub(crate) fn test_peer(method: AuthProtocol, user: &str, pw: &str) -> peer::AuthPeer {
    use rand::SeedableRng;
    peer::AuthPeer::new(
        method,
        user,
        crate::secret::Password::new(pw),
        rand::rngs::StdRng::seed_from_u64(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{hex, vector};

    #[test]
    fn chap_md5_vectors() {
        for name in ["rfc1994_chap_md5_computed", "rfc1994_chap_md5_computed_2"] {
            let v = vector(name);
            let id = hex(&v["inputs"]["Identifier"])[0];
            let secret = v["inputs"]["Secret_ascii"].as_str().unwrap();
            let chal = hex(&v["inputs"]["Challenge"]);
            assert_eq!(
                chap_md5_response(id, secret.as_bytes(), &chal).to_vec(),
                hex(&v["outputs"]["Response"])
            );
        }
    }
}
