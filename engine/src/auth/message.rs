//! Parsing of the text the server puts in CHAP/MS-CHAP Success and Failure
//! packets, into typed reasons.

use thiserror::Error;

use crate::ppp::fsm::sanitize;
use crate::wire::parse_hex;

/// Why the server refused us, from the `E=` code of an MS-CHAP failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    BadCredentials,
    RestrictedHours,
    AccountDisabled,
    PasswordExpired,
    NoDialinPermission,
    PasswordChangeFailed,
    Other(u32),
    /// PAP Nak or CHAP-MD5 Failure: no code, only text.
    Unspecified,
}

impl FailureKind {
    pub fn from_code(code: u32) -> Self {
        match code {
            691 => FailureKind::BadCredentials,
            646 => FailureKind::RestrictedHours,
            647 => FailureKind::AccountDisabled,
            648 => FailureKind::PasswordExpired,
            649 => FailureKind::NoDialinPermission,
            709 => FailureKind::PasswordChangeFailed,
            c => FailureKind::Other(c),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::BadCredentials => "the server rejected the user name or password",
            FailureKind::RestrictedHours => "the account may not log in at this time of day",
            FailureKind::AccountDisabled => "the account is disabled",
            FailureKind::PasswordExpired => {
                "the password has expired: it must be changed (for example from a Windows machine of the organisation, or its password page) before this account can connect"
            }
            FailureKind::NoDialinPermission => "the account has no dial-in permission",
            FailureKind::PasswordChangeFailed => "the password change failed",
            FailureKind::Other(_) | FailureKind::Unspecified => "the server refused authentication",
        }
    }
}

/// A parsed Failure (or PAP Nak).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFailure {
    pub kind: FailureKind,
    pub code: Option<u32>,
    pub retry: bool,
    pub challenge: Option<[u8; 16]>,
    pub version: Option<u32>,
    /// The server's human-readable text (`M=` or the whole message), made printable.
    pub message: Option<String>,
}

impl std::fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(c) = self.code {
            write!(f, " (E={c})")?;
        }
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl ServerFailure {
    /// A failure from a protocol without codes (PAP, CHAP-MD5).
    pub fn plain(text: &[u8]) -> Self {
        let m = sanitize(text);
        ServerFailure {
            kind: FailureKind::Unspecified,
            code: None,
            retry: false,
            challenge: None,
            version: None,
            message: (!m.is_empty()).then_some(m),
        }
    }

    /// An MS-CHAP failure: `E=691 R=0 C=<32 hex> V=3 M=<text>`. Servers vary (accel-ppp
    /// omits C=), so every field is optional; unknown text becomes the message.
    pub fn mschap(text: &[u8]) -> Self {
        let s = sanitize(text);
        let mut f = ServerFailure::plain(&[]);
        let mut rest = s.as_str();
        loop {
            rest = rest.trim_start();
            if let Some(m) = rest.strip_prefix("M=") {
                let m = m.trim();
                f.message = (!m.is_empty()).then(|| m.to_string());
                break;
            }
            let (tok, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if tok.is_empty() {
                break;
            }
            match tok.split_once('=') {
                Some(("E", v)) => f.code = v.parse().ok(),
                Some(("R", v)) => f.retry = v == "1",
                Some(("V", v)) => f.version = v.parse().ok(),
                Some(("C", v)) => {
                    let mut c = [0u8; 16];
                    f.challenge = parse_hex(v, &mut c).map(|_| c);
                }
                _ => {
                    // Not the RFC format at all: keep the whole text as the message.
                    f.message = Some(s.trim().to_string()).filter(|m| !m.is_empty());
                    break;
                }
            }
            rest = tail;
        }
        f.kind = f
            .code
            .map_or(FailureKind::Unspecified, FailureKind::from_code);
        f
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SuccessError {
    #[error("the MS-CHAPv2 Success message has no authenticator response (S=)")]
    Missing,
    #[error("the MS-CHAPv2 Success message is badly formed")]
    Malformed,
    #[error(
        "the server's authenticator response does not match: the server does not know the password"
    )]
    Mismatch,
}

/// Check an MS-CHAPv2 Success message (RFC 2759 §5) against the expected 20-byte
/// authenticator response. Accepts `S=<40 hex> M=...`, `S=<40 hex>M=...` (Windows
/// Server 2019) and a bare `S=<40 hex>`. Returns the `M=` text, if any.
pub fn check_v2_success(text: &[u8], expected: &[u8; 20]) -> Result<Option<String>, SuccessError> {
    let rest = text.strip_prefix(b"S=").ok_or(SuccessError::Missing)?;
    if rest.len() < 40 {
        return Err(SuccessError::Malformed);
    }
    let hex = std::str::from_utf8(&rest[..40]).map_err(|_| SuccessError::Malformed)?;
    let mut got = [0u8; 20];
    parse_hex(hex, &mut got).ok_or(SuccessError::Malformed)?;
    // Constant-time-ish comparison: the value is public once sent, but be tidy.
    if got.iter().zip(expected).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
        return Err(SuccessError::Mismatch);
    }
    let tail = &rest[40..];
    let tail = tail.strip_prefix(b" ").unwrap_or(tail);
    if tail.is_empty() {
        return Ok(None);
    }
    let m = tail.strip_prefix(b"M=").ok_or(SuccessError::Malformed)?;
    Ok(Some(sanitize(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_failure() {
        let f = ServerFailure::mschap(
            b"E=691 R=1 C=0123456789ABCDEF0123456789ABCDEF V=3 M=Authentication failure",
        );
        assert_eq!(f.kind, FailureKind::BadCredentials);
        assert_eq!(f.code, Some(691));
        assert!(f.retry);
        assert_eq!(f.challenge.unwrap()[0], 0x01);
        assert_eq!(f.version, Some(3));
        assert_eq!(f.message.as_deref(), Some("Authentication failure"));
        assert_eq!(
            f.to_string(),
            "the server rejected the user name or password (E=691): Authentication failure"
        );
    }

    #[test]
    fn parses_every_code_and_tolerates_missing_fields() {
        for (code, kind) in [
            (646, FailureKind::RestrictedHours),
            (647, FailureKind::AccountDisabled),
            (648, FailureKind::PasswordExpired),
            (649, FailureKind::NoDialinPermission),
            (709, FailureKind::PasswordChangeFailed),
            (999, FailureKind::Other(999)),
        ] {
            let f = ServerFailure::mschap(format!("E={code} R=0 V=3").as_bytes());
            assert_eq!((f.kind, f.code, f.message), (kind, Some(code), None));
        }
        // accel-ppp: no C=.
        let f = ServerFailure::mschap(b"E=691 R=0 V=3");
        assert_eq!(f.challenge, None);
        // Garbage and control characters.
        let f = ServerFailure::mschap(b"go away\x07");
        assert_eq!(
            (f.kind, f.message.as_deref()),
            (FailureKind::Unspecified, Some("go away?"))
        );
        assert_eq!(ServerFailure::mschap(b"").message, None);
        assert_eq!(ServerFailure::mschap(b"E=x C=zz").code, None);
    }

    #[test]
    fn v2_success_forms() {
        let exp = [0x40u8; 20];
        let hex = "4040404040404040404040404040404040404040";
        assert_eq!(
            check_v2_success(format!("S={hex} M=ok").as_bytes(), &exp),
            Ok(Some("ok".into()))
        );
        assert_eq!(
            check_v2_success(format!("S={hex}M=ok").as_bytes(), &exp),
            Ok(Some("ok".into()))
        );
        assert_eq!(
            check_v2_success(format!("S={hex}").as_bytes(), &exp),
            Ok(None)
        );
        assert_eq!(
            check_v2_success(format!("S={}", hex.to_lowercase()).as_bytes(), &exp),
            Ok(None)
        );
        assert_eq!(
            check_v2_success(b"M=welcome", &exp),
            Err(SuccessError::Missing)
        );
        assert_eq!(
            check_v2_success(b"S=4040", &exp),
            Err(SuccessError::Malformed)
        );
        assert_eq!(
            check_v2_success(format!("S={hex} junk").as_bytes(), &exp),
            Err(SuccessError::Malformed)
        );
        let wrong = format!("S=41{}", &hex[2..]);
        assert_eq!(
            check_v2_success(wrong.as_bytes(), &exp),
            Err(SuccessError::Mismatch)
        );
    }
}
