//! What can be wrong with a connection's settings, named by key, in the
//! user's language (the editor shows these; the service returns them to
//! NetworkManager), and the secret flags NetworkManager stores beside them.

use crate::key_values::{self as keys, Invalid};

/// `NMSettingSecretFlags`.
pub mod flags {
    pub const NONE: u32 = 0;
    pub const AGENT_OWNED: u32 = 1;
    pub const NOT_SAVED: u32 = 2;
    pub const NOT_REQUIRED: u32 = 4;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    /// A key we do not know. Its value is not kept: it may be a password put
    /// in `vpn.data` by mistake, and this error reaches NetworkManager's log.
    UnknownKey {
        key: String,
    },
    NotBool {
        key: String,
        value: String,
    },
    BadNumber {
        key: String,
        value: String,
        min: u64,
        max: u64,
    },
    BadGateway(String),
    BadAddress {
        key: String,
        value: String,
    },
    NoGateway,
    NoUser,
    UnknownSecret(String),
    /// MPPE is required but both MS-CHAP methods are refused.
    MppeNeedsMsChap,
    /// A name too long for the wire (PAP's length byte) or holding control
    /// characters.
    BadName {
        key: String,
    },
}

impl std::error::Error for SettingsError {}

/// In the user's language: the editor shows these, and the service returns them.
impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::i18n::tr_fill;
        let s = match self {
            SettingsError::UnknownKey { key } => {
                tr_fill("property “{key}” invalid or not supported", &[("key", key)])
            }
            SettingsError::NotBool { key, value } => tr_fill(
                "invalid boolean property “{key}”: “{value}” is not yes or no",
                &[("key", key), ("value", value)],
            ),
            SettingsError::BadNumber {
                key,
                value,
                min,
                max,
            } => tr_fill(
                "invalid number for “{key}”: “{value}” (expected {min} to {max})",
                &[("key", key), ("value", value), ("min", min), ("max", max)],
            ),
            SettingsError::BadGateway(g) => tr_fill(
                "invalid gateway “{host}”: only letters, digits, dots and hyphens are allowed",
                &[("host", g)],
            ),
            SettingsError::BadAddress { key, value } => tr_fill(
                "invalid IPv4 address for “{key}”: “{value}”",
                &[("key", key), ("value", value)],
            ),
            SettingsError::NoGateway => tr_fill(
                "missing required option “{key}”",
                &[("key", &keys::GATEWAY)],
            ),
            SettingsError::NoUser => tr_fill(
                "missing user name: set “{key}” or vpn.user-name",
                &[("key", &keys::USER)],
            ),
            SettingsError::UnknownSecret(k) => tr_fill("unknown secret “{key}”", &[("key", k)]),
            SettingsError::BadName { key } => tr_fill(
                "invalid “{key}”: at most 255 bytes, without control characters",
                &[("key", key)],
            ),
            SettingsError::MppeNeedsMsChap => tr_fill(
                "“{mppe}” needs MS-CHAP: set “{mschap}” or “{mschapv2}” to no",
                &[
                    ("mppe", &keys::REQUIRE_MPPE),
                    ("mschap", &keys::REFUSE_MSCHAP),
                    ("mschapv2", &keys::REFUSE_MSCHAPV2),
                ],
            ),
        };
        f.write_str(&s)
    }
}

impl SettingsError {
    pub(crate) fn invalid(key: &str, value: &str, why: Invalid) -> Self {
        let (key, value) = (key.to_string(), value.to_string());
        match why {
            Invalid::NotBool => SettingsError::NotBool { key, value },
            Invalid::BadNumber { min, max } => SettingsError::BadNumber {
                key,
                value,
                min,
                max,
            },
            Invalid::BadGateway => SettingsError::BadGateway(value),
            Invalid::BadAddress => SettingsError::BadAddress { key, value },
        }
    }

    /// The key the error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            SettingsError::UnknownKey { key }
            | SettingsError::NotBool { key, .. }
            | SettingsError::BadNumber { key, .. }
            | SettingsError::BadAddress { key, .. } => Some(key),
            SettingsError::UnknownSecret(key) => Some(key),
            SettingsError::BadGateway(_) | SettingsError::NoGateway => Some(keys::GATEWAY),
            SettingsError::NoUser => Some(keys::USER),
            SettingsError::MppeNeedsMsChap => Some(keys::REQUIRE_MPPE),
            SettingsError::BadName { key } => Some(key),
        }
    }
}
