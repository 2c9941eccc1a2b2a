//! NetworkManager's `vpn.data` and `vpn.secrets` for PPTP: the one table of keys,
//! with the meaning NetworkManager-pptp gives them, validated strictly. Every error
//! names the key and the value that was wrong.

use std::collections::BTreeMap;
use std::time::Duration;

use pptp_engine::ppp::ccp::MppePolicy;
use pptp_engine::ppp::lcp::AuthPolicy;
use pptp_engine::secret::Password;
use pptp_engine::session::ClientConfig;

use crate::peers::{Mppe, Refuse};

/// The D-Bus service name NetworkManager-pptp uses; connections name it in vpn.service-type.
pub const SERVICE: &str = "org.freedesktop.NetworkManager.pptp";

/// `NMSettingSecretFlags`.
pub mod flags {
    pub const NONE: u32 = 0;
    pub const AGENT_OWNED: u32 = 1;
    pub const NOT_SAVED: u32 = 2;
    pub const NOT_REQUIRED: u32 = 4;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    /// An unsigned number in this inclusive range.
    Number(u64, u64),
    Gateway,
    /// Accepted and ignored (NetworkManager itself may put it there).
    Ignored,
}

/// Every key NetworkManager-pptp accepts, plus `mtu`.
const KEYS: &[(&str, Kind)] = &[
    ("gateway", Kind::Gateway),
    ("user", Kind::Text),
    ("domain", Kind::Text),
    ("password-flags", Kind::Number(0, 7)),
    ("refuse-eap", Kind::Bool),
    ("refuse-pap", Kind::Bool),
    ("refuse-chap", Kind::Bool),
    ("refuse-mschap", Kind::Bool),
    ("refuse-mschapv2", Kind::Bool),
    ("require-mppe", Kind::Bool),
    ("require-mppe-40", Kind::Bool),
    ("require-mppe-128", Kind::Bool),
    ("mppe-stateful", Kind::Bool),
    // Compression is never negotiated, so these only confirm what happens anyway.
    ("nobsdcomp", Kind::Bool),
    ("nodeflate", Kind::Bool),
    ("no-vj-comp", Kind::Bool),
    ("lcp-echo-failure", Kind::Number(0, 1000)),
    ("lcp-echo-interval", Kind::Number(0, 3600)),
    ("unit", Kind::Number(0, 65535)),
    ("mtu", Kind::Number(576, 1500)),
    ("name", Kind::Ignored),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    UnknownKey {
        key: String,
        value: String,
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
    NoGateway,
    NoUser,
    UnknownSecret(String),
}

impl std::error::Error for SettingsError {}

/// In the user's language: the editor shows these, and the service returns them.
impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::i18n::{tr, tr_fill};
        let s = match self {
            SettingsError::UnknownKey { key, value } => tr_fill(
                "property “{key}” invalid or not supported (value “{value}”)",
                &[("key", key), ("value", value)],
            ),
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
                "invalid gateway “{gateway}”: only letters, digits, dots and hyphens are allowed",
                &[("gateway", g)],
            ),
            SettingsError::NoGateway => tr("missing required option “gateway”"),
            SettingsError::NoUser => tr("missing user name: set “user” or vpn.user-name"),
            SettingsError::UnknownSecret(k) => tr_fill("unknown secret “{key}”", &[("key", k)]),
        };
        f.write_str(&s)
    }
}

/// A validated PPTP connection.
#[derive(Debug, Clone)]
pub struct NmSettings {
    pub gateway: String,
    /// The user name as sent: `DOMAIN\user` when a domain is set.
    pub user: String,
    pub password: Option<Password>,
    pub password_flags: u32,
    pub auth: AuthPolicy,
    pub mppe: MppePolicy,
    pub lcp_echo: Option<(Duration, u32)>,
    pub mtu: Option<u16>,
    pub unit: Option<u32>,
}

fn validate_gateway(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn parse_number(key: &str, value: &str, min: u64, max: u64) -> Result<u64, SettingsError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n) && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| SettingsError::BadNumber {
            key: key.to_string(),
            value: value.to_string(),
            min,
            max,
        })
}

/// `password-flags` alone, for callers (the auth dialog) that must not reject a
/// connection over keys that are not theirs to judge. Absent means NONE.
pub fn password_flags(data: &BTreeMap<String, String>) -> Result<u32, SettingsError> {
    match data.get("password-flags") {
        None => Ok(flags::NONE),
        Some(v) => parse_number("password-flags", v, 0, 7).map(|n| n as u32),
    }
}

impl NmSettings {
    /// Validate `vpn.data` and `vpn.secrets`. `user_name` is `vpn.user-name`.
    pub fn parse(
        data: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, String>,
        user_name: Option<&str>,
    ) -> Result<Self, SettingsError> {
        let mut bools: BTreeMap<&str, bool> = BTreeMap::new();
        let mut numbers: BTreeMap<&str, u64> = BTreeMap::new();
        for (key, value) in data {
            let Some((name, kind)) = KEYS.iter().find(|(k, _)| k == key) else {
                return Err(SettingsError::UnknownKey {
                    key: key.clone(),
                    value: value.clone(),
                });
            };
            match kind {
                Kind::Bool => match value.as_str() {
                    "yes" => drop(bools.insert(name, true)),
                    "no" => drop(bools.insert(name, false)),
                    _ => {
                        return Err(SettingsError::NotBool {
                            key: key.clone(),
                            value: value.clone(),
                        })
                    }
                },
                Kind::Number(min, max) => {
                    numbers.insert(name, parse_number(key, value, *min, *max)?);
                }
                Kind::Gateway if !validate_gateway(value) => {
                    return Err(SettingsError::BadGateway(value.clone()))
                }
                Kind::Gateway | Kind::Text | Kind::Ignored => {}
            }
        }
        for key in secrets.keys() {
            if key != "password" {
                return Err(SettingsError::UnknownSecret(key.clone()));
            }
        }
        let gateway = data
            .get("gateway")
            .cloned()
            .ok_or(SettingsError::NoGateway)?;
        let user = data
            .get("user")
            .filter(|u| !u.is_empty())
            .map(String::as_str)
            .or(user_name.filter(|u| !u.is_empty()))
            .ok_or(SettingsError::NoUser)?;
        let user = match data.get("domain").filter(|d| !d.is_empty()) {
            Some(d) => format!("{d}\\{user}"),
            None => user.to_string(),
        };
        let b = |k: &str| bools.get(k).copied().unwrap_or(false);
        let mppe = Mppe {
            require: b("require-mppe"),
            require_40: b("require-mppe-40"),
            require_128: b("require-mppe-128"),
            stateful: b("mppe-stateful"),
            ..Mppe::default()
        }
        .policy();
        let auth = Refuse {
            pap: b("refuse-pap"),
            chap: b("refuse-chap"),
            mschap: b("refuse-mschap"),
            mschapv2: b("refuse-mschapv2"),
            eap: b("refuse-eap"),
        }
        .policy(mppe.required);
        // As NetworkManager-pptp: echo is off unless both are set and non-zero.
        let lcp_echo = match (
            numbers.get("lcp-echo-interval"),
            numbers.get("lcp-echo-failure"),
        ) {
            (Some(&i), Some(&f)) if i > 0 && f > 0 => Some((Duration::from_secs(i), f as u32)),
            _ => None,
        };
        Ok(NmSettings {
            gateway,
            user,
            password: secrets
                .get("password")
                .filter(|p| !p.is_empty())
                .map(|p| Password::new(p.clone())),
            password_flags: numbers.get("password-flags").copied().unwrap_or(0) as u32,
            auth,
            mppe,
            lcp_echo,
            mtu: numbers.get("mtu").map(|m| *m as u16),
            unit: numbers.get("unit").map(|u| *u as u32),
        })
    }

    /// What NeedSecrets answers: whether a password must come from an agent.
    pub fn needs_password(&self) -> bool {
        self.password_flags & flags::NOT_REQUIRED == 0 && self.password.is_none()
    }

    /// The engine configuration. Without a password (NOT_REQUIRED), an empty one is sent.
    pub fn client_config(&self, seed: [u8; 32]) -> ClientConfig {
        let pw = self.password.clone().unwrap_or_else(|| Password::new(""));
        let mut c = ClientConfig::new(self.user.clone(), pw, seed);
        c.auth = self.auth;
        c.mppe = self.mppe;
        c.ppp.lcp_echo = self.lcp_echo;
        c.ppp.mtu = self.mtu;
        c
    }

    /// The tunnel device name: `unit N` made pppd use pppN; we keep that promise.
    pub fn ifname(&self) -> Option<String> {
        self.unit.map(|u| format!("ppp{u}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn typical_connection() {
        let d = map(&[
            ("gateway", "vpn.example.org"),
            ("user", "alice"),
            ("domain", "CORP"),
            ("require-mppe-128", "yes"),
            ("refuse-eap", "yes"),
            ("lcp-echo-interval", "30"),
            ("lcp-echo-failure", "5"),
            ("password-flags", "1"),
            ("name", "x"),
        ]);
        let s = NmSettings::parse(&d, &map(&[("password", "pw")]), None).unwrap();
        assert_eq!(s.user, "CORP\\alice");
        assert!(s.mppe.required && s.mppe.allow_128 && !s.mppe.allow_40);
        assert!(!s.auth.pap && !s.auth.chap && s.auth.mschap && s.auth.mschapv2);
        assert_eq!(s.lcp_echo, Some((Duration::from_secs(30), 5)));
        assert!(!s.needs_password());
        assert_eq!(s.client_config([0; 32]).user, "CORP\\alice");
    }

    #[test]
    fn user_falls_back_and_defaults_match_the_c_plugin() {
        let s = NmSettings::parse(
            &map(&[("gateway", "198.18.0.2")]),
            &BTreeMap::new(),
            Some("bob"),
        )
        .unwrap();
        assert_eq!(s.user, "bob");
        // No MPPE key: allowed, not required, as pppd does without options.
        assert!(!s.mppe.required && s.mppe.allow_40 && s.mppe.allow_128);
        assert_eq!(s.lcp_echo, None);
        assert!(s.needs_password());
        let s = NmSettings::parse(
            &map(&[("gateway", "g"), ("user", "u"), ("password-flags", "4")]),
            &BTreeMap::new(),
            None,
        )
        .unwrap();
        assert!(!s.needs_password());
        assert_eq!(s.ifname(), None);
    }

    #[test]
    fn every_bad_input_names_key_and_value() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("gateway", "g"), ("frobnicate", "1")],
                "property “frobnicate” invalid or not supported (value “1”)",
            ),
            (
                &[("gateway", "g"), ("require-mppe", "true")],
                "invalid boolean property “require-mppe”: “true” is not yes or no",
            ),
            (
                &[("gateway", "g"), ("refuse-pap", "")],
                "invalid boolean property “refuse-pap”: “” is not yes or no",
            ),
            (
                &[("gateway", "g"), ("lcp-echo-interval", "abc")],
                "invalid number for “lcp-echo-interval”: “abc” (expected 0 to 3600)",
            ),
            (
                &[("gateway", "g"), ("lcp-echo-failure", "-1")],
                "invalid number for “lcp-echo-failure”: “-1” (expected 0 to 1000)",
            ),
            (
                &[("gateway", "g"), ("unit", "70000")],
                "invalid number for “unit”: “70000” (expected 0 to 65535)",
            ),
            (
                &[("gateway", "g"), ("mtu", "100")],
                "invalid number for “mtu”: “100” (expected 576 to 1500)",
            ),
            (
                &[("gateway", "g"), ("mtu", "+1400")],
                "invalid number for “mtu”: “+1400” (expected 576 to 1500)",
            ),
            (
                &[("gateway", "g"), ("password-flags", "9")],
                "invalid number for “password-flags”: “9” (expected 0 to 7)",
            ),
            (
                &[("gateway", "bad_host;rm")],
                "invalid gateway “bad_host;rm”: only letters, digits, dots and hyphens are allowed",
            ),
            (
                &[("gateway", "")],
                "invalid gateway “”: only letters, digits, dots and hyphens are allowed",
            ),
            (&[("user", "u")], "missing required option “gateway”"),
            (
                &[("gateway", "g")],
                "missing user name: set “user” or vpn.user-name",
            ),
        ];
        for (data, msg) in cases {
            let e = NmSettings::parse(&map(data), &BTreeMap::new(), None).unwrap_err();
            assert_eq!(&e.to_string(), msg);
        }
        let e = NmSettings::parse(
            &map(&[("gateway", "g"), ("user", "u")]),
            &map(&[("pin", "1")]),
            None,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "unknown secret “pin”");
    }

    #[test]
    fn errors_never_contain_the_password() {
        let e = NmSettings::parse(
            &map(&[("gateway", "g"), ("user", "u"), ("x", "y")]),
            &map(&[("password", "hunter2")]),
            None,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        let s = NmSettings::parse(
            &map(&[("gateway", "g"), ("user", "u")]),
            &map(&[("password", "hunter2")]),
            None,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn password_flags_alone() {
        assert_eq!(password_flags(&map(&[("gateway", "!bad!")])), Ok(0));
        assert_eq!(password_flags(&map(&[("password-flags", "2")])), Ok(2));
        assert_eq!(
            password_flags(&map(&[("password-flags", "+2")]))
                .unwrap_err()
                .to_string(),
            "invalid number for “password-flags”: “+2” (expected 0 to 7)"
        );
    }
}
