//! NetworkManager's `vpn.data` and `vpn.secrets` for PPTP, read into a
//! [`Connection`] strictly (every error names the key and the value that was
//! wrong) and written back from one, through the key table.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::connection::Connection;
use crate::keys::{self, Value, KEYS};

/// The D-Bus service name NetworkManager-pptp uses; connections name it in vpn.service-type.
pub const SERVICE: &str = "org.freedesktop.NetworkManager.pptp";

/// A hint the service adds to SecretsRequired when it asks again because the
/// server refused the password (NetworkManager hands hints to the agent and
/// the auth dialog as they are). The `password` hint alone only names what
/// to ask for: a first prompt sends it too, and must not make the dialog
/// forget a saved password.
pub const REFUSED_HINT: &str = "x-pptp-password-refused";

pub use crate::error::{flags, SettingsError};

/// A connection's `vpn.data` and `vpn.secrets`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VpnData {
    pub data: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, Zeroizing<String>>,
}

/// Secrets by name only.
impl std::fmt::Debug for VpnData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VpnData")
            .field("data", &self.data)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `password-flags` alone, for callers (the auth dialog) that must not reject a
/// connection over keys that are not theirs to judge. Absent means NONE.
pub fn password_flags(data: &BTreeMap<String, String>) -> Result<u32, SettingsError> {
    let key = keys::by_name(keys::PASSWORD_FLAGS).expect("in the table");
    match data.get(key.name) {
        None => Ok(flags::NONE),
        Some(v) => match key.kind.parse(v) {
            Ok(Value::Number(Some(n))) => Ok(n as u32),
            Ok(_) => Ok(flags::NONE),
            Err(why) => Err(SettingsError::invalid(key.name, v, why)),
        },
    }
}

/// Reads every key it can; each problem is reported and leaves the default.
fn read(
    data: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, impl AsRef<str>>,
    user_name: Option<&str>,
) -> (Connection, Vec<SettingsError>) {
    let mut problems = Vec::new();
    let mut c = Connection::default();
    for (name, value) in data {
        let name = match keys::alias_of(name) {
            Some(key) if data.contains_key(key) => continue,
            Some(key) => key,
            None => name.as_str(),
        };
        match keys::by_name(name).filter(|k| !k.is_secret()) {
            None => problems.push(SettingsError::UnknownKey {
                key: name.to_string(),
            }),
            Some(k) => match k.kind.parse(value) {
                Ok(v) => k.set(&mut c, v),
                Err(why) => problems.push(SettingsError::invalid(name, value, why)),
            },
        }
    }
    for (name, value) in secrets {
        match keys::by_name(name).filter(|k| k.is_secret()) {
            None => problems.push(SettingsError::UnknownSecret(name.clone())),
            Some(k) => {
                let v = k.kind.parse(value.as_ref()).unwrap_or(Value::Secret(None));
                k.set(&mut c, v)
            }
        }
    }
    if c.user.is_empty() {
        c.user = user_name.unwrap_or("").to_string();
    }
    c.mppe.spell_out();
    (c, problems)
}

impl Connection {
    /// Strictly: the first unknown key, bad value, unknown secret, missing or
    /// bad gateway, or impossible combination is an error. `user_name` is
    /// `vpn.user-name`, used when `user` is empty.
    pub fn from_vpn(
        data: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, impl AsRef<str>>,
        user_name: Option<&str>,
    ) -> Result<Connection, SettingsError> {
        let (c, problems) = read(data, secrets, user_name);
        if let Some(p) = problems.into_iter().next() {
            return Err(p);
        }
        c.validate()?;
        Ok(c)
    }

    /// What an editor opens: everything readable, and what was not.
    pub fn from_vpn_lenient(
        data: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, impl AsRef<str>>,
        user_name: Option<&str>,
    ) -> (Connection, Vec<SettingsError>) {
        read(data, secrets, user_name)
    }

    /// `vpn.data` and `vpn.secrets`: what differs from the defaults, and the
    /// secure choices other plugins read differently (see [`keys::Key::portable`]).
    pub fn to_vpn(&self) -> VpnData {
        let mut out = VpnData::default();
        let mut c = self.clone();
        c.mppe.spell_out();
        for k in KEYS {
            if k.is_secret() {
                if let Value::Secret(Some(p)) = k.get(&c) {
                    out.secrets
                        .insert(k.name.to_string(), Zeroizing::new(p.expose().to_string()));
                }
            } else if let Some(v) = k.format(&c) {
                out.data.insert(k.name.to_string(), v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::MppeStrength;
    use std::time::Duration;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// What every connection that keeps the secure defaults says explicitly.
    const SPELLED_OUT: &[(&str, &str)] = &[
        ("refuse-chap", "yes"),
        ("refuse-eap", "yes"),
        ("refuse-mschap", "yes"),
        ("refuse-pap", "yes"),
        ("require-mppe", "yes"),
        ("require-mppe-128", "yes"),
    ];

    fn parse(data: &[(&str, &str)]) -> Result<Connection, SettingsError> {
        Connection::from_vpn(&map(data), &map(&[]), None)
    }

    /// COSMIC writes the user name as `username`: read as `user`, which wins
    /// when both are there, and written back as `user`.
    #[test]
    fn other_front_ends_names_for_our_keys() {
        let c = parse(&[("gateway", "g"), ("username", "alice")]).unwrap();
        assert_eq!(c.user, "alice");
        let mut want = map(&[("gateway", "g"), ("user", "alice")]);
        want.extend(map(SPELLED_OUT));
        assert_eq!(c.to_vpn().data, want);
        let c = parse(&[("gateway", "g"), ("username", "alice"), ("user", "bob")]).unwrap();
        assert_eq!(c.user, "bob");
        // Only the alias itself: a near miss is still an unknown key.
        let e = parse(&[("gateway", "g"), ("usernames", "x")]).unwrap_err();
        assert!(matches!(e, SettingsError::UnknownKey { .. }), "{e:?}");
    }

    /// What NetworkManager-pptp 1.2 (and plasma-nm, which writes the same keys)
    /// makes of `vpn.data`: each `refuse-*`/`require-mppe*` key becomes the pppd
    /// option of that name only when it is "yes" (absent: allowed, not
    /// required), and pppd allows either strength unless a strength is named
    /// (MPPE itself is allowed when not required).
    /// Returns (PAP, CHAP, MS-CHAP, EAP allowed; MPPE required; 40, 128 allowed).
    fn c_plugin_security(
        data: &BTreeMap<String, String>,
    ) -> (bool, bool, bool, bool, bool, bool, bool) {
        let yes = |k: &str| data.get(k).is_some_and(|v| v == "yes");
        let (r40, r128) = (yes("require-mppe-40"), yes("require-mppe-128"));
        let required = yes("require-mppe") || r40 || r128;
        let either = !r40 && !r128;
        (
            !yes("refuse-pap"),
            !yes("refuse-chap"),
            !yes("refuse-mschap"),
            !yes("refuse-eap"),
            required,
            either || r40,
            either || r128,
        )
    }

    #[test]
    fn saved_connections_mean_the_same_to_the_c_plugin() {
        let mut cases = vec![Connection {
            gateway: "g".into(),
            user: "u".into(),
            ..Connection::default()
        }];
        for strength in [MppeStrength::Any, MppeStrength::Only40] {
            let mut c = cases[0].clone();
            c.set_mppe_requirement(Some(strength));
            cases.push(c);
        }
        let mut open = cases[0].clone();
        open.set_mppe_requirement(None);
        open.refuse.pap = false;
        cases.push(open);
        for c in cases {
            let data = c.to_vpn().data;
            let m = c.mppe_policy();
            let a = c.auth_policy();
            // EAP is never answered here: refused in both readings.
            assert!(!data.contains_key("refuse-eap") || data["refuse-eap"] == "yes");
            assert_eq!(
                c_plugin_security(&data),
                (
                    a.pap,
                    a.chap,
                    a.mschap,
                    false,
                    m.required,
                    m.allow_40,
                    m.allow_128
                ),
                "{data:?}"
            );
        }
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
        let s = Connection::from_vpn(&d, &map(&[("password", "pw")]), None).unwrap();
        assert_eq!(s.login_name().unwrap(), "CORP\\alice");
        let m = s.mppe_policy();
        assert!(m.required && m.allow_128 && !m.allow_40);
        let a = s.auth_policy();
        assert!(!a.pap && !a.chap && !a.mschap && a.mschapv2);
        assert_eq!(s.lcp_echo(), Some((Duration::from_secs(30), 5)));
        assert!(!s.needs_password());
        assert_eq!(s.client_config([0; 32]).unwrap().user, "CORP\\alice");
        // Written back: the same keys, less the one NetworkManager may add and
        // the one that only repeats a default.
        let back = s.to_vpn();
        let mut want = d.clone();
        want.remove("name");
        want.extend(map(SPELLED_OUT));
        assert_eq!(back.data, want);
        assert_eq!(back.secrets["password"].as_str(), "pw");
    }

    #[test]
    fn user_falls_back_and_defaults_match_the_c_plugin() {
        let s = Connection::from_vpn(&map(&[("gateway", "198.18.0.2")]), &map(&[]), Some("bob"))
            .unwrap();
        assert_eq!(s.login_name().unwrap(), "bob");
        // An empty `user` falls back too.
        let s = Connection::from_vpn(
            &map(&[("gateway", "g"), ("user", "")]),
            &map(&[]),
            Some("bob"),
        )
        .unwrap();
        assert_eq!(s.login_name().unwrap(), "bob");
        // No MPPE key: required, 128-bit only; MS-CHAPv2 only. A deliberate
        // departure from NetworkManager-pptp (and pppd), which allowed PAP, an
        // unencrypted link and 40-bit here.
        let m = s.mppe_policy();
        assert!(m.required && !m.allow_40 && m.allow_128);
        let a = s.auth_policy();
        assert!(!a.pap && !a.chap && !a.mschap && a.mschapv2);
        // The opt-ins a C-plugin user may have to add.
        let s = Connection::from_vpn(
            &map(&[
                ("gateway", "g"),
                ("user", "u"),
                ("refuse-pap", "no"),
                ("require-mppe", "no"),
            ]),
            &map(&[]),
            None,
        )
        .unwrap();
        assert!(s.auth_policy().pap && !s.mppe_policy().required);
        assert_eq!(s.lcp_echo(), None);
        assert!(s.needs_password());
        let s = parse(&[("gateway", "g"), ("user", "u"), ("password-flags", "4")]).unwrap();
        assert!(!s.needs_password());
        assert_eq!(s.ifname(), None);
        // Without any user, the engine configuration cannot be made.
        assert_eq!(
            parse(&[("gateway", "g")])
                .unwrap()
                .client_config([0; 32])
                .unwrap_err(),
            SettingsError::NoUser
        );
    }

    #[test]
    fn every_bad_input_names_key_and_value() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("gateway", "g"), ("frobnicate", "1")],
                "property “frobnicate” invalid or not supported",
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
                "invalid number for “lcp-echo-interval”: “abc” (expected 0 to 86400)",
            ),
            (
                &[("gateway", "g"), ("lcp-echo-failure", "-1")],
                "invalid number for “lcp-echo-failure”: “-1” (expected 0 to 1000)",
            ),
            (
                &[("gateway", "g"), ("unit", "4294967296")],
                "invalid number for “unit”: “4294967296” (expected 0 to 4294967295)",
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
                &[("gateway", "g"), ("password", "x")],
                "property “password” invalid or not supported",
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
                &[
                    ("gateway", "g"),
                    ("require-mppe", "yes"),
                    ("refuse-mschap", "yes"),
                    ("refuse-mschapv2", "yes"),
                ],
                "“require-mppe” needs MS-CHAP: set “refuse-mschap” or “refuse-mschapv2” to no",
            ),
        ];
        for (data, msg) in cases {
            let e = parse(data).unwrap_err();
            assert_eq!(&e.to_string(), msg);
        }
        let e = Connection::from_vpn(
            &map(&[("gateway", "g"), ("user", "u")]),
            &map(&[("pin", "1")]),
            None,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "unknown secret “pin”");
        assert_eq!(
            SettingsError::NoUser.to_string(),
            "missing user name: set “user” or vpn.user-name"
        );
    }

    #[test]
    fn pppd_ranges_are_accepted() {
        // An import of `lcp-echo-interval 7200` must be a valid connection.
        let c = parse(&[("gateway", "g"), ("lcp-echo-interval", "7200")]).unwrap();
        assert_eq!(c.lcp_echo(), Some((Duration::from_secs(7200), 0)));
    }

    #[test]
    fn lenient_reading_keeps_what_it_can() {
        let (c, problems) = Connection::from_vpn_lenient(
            &map(&[
                ("gateway", "g"),
                ("mtu", "9"),
                ("x", "y"),
                ("require-mppe-40", "yes"),
            ]),
            &map(&[]),
            None,
        );
        assert_eq!(c.gateway, "g");
        assert_eq!(c.mtu, None);
        assert_eq!(c.mppe_requirement(), Some(MppeStrength::Only40));
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key()).collect();
        assert_eq!(keys, ["mtu", "x"]);
    }

    #[test]
    fn errors_never_contain_the_password() {
        let e = Connection::from_vpn(
            &map(&[("gateway", "g"), ("user", "u"), ("x", "y")]),
            &map(&[("password", "hunter2")]),
            None,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        // A password put in vpn.data under a wrong key by mistake.
        let e = Connection::from_vpn(
            &map(&[("gateway", "g"), ("user", "u"), ("passwd", "hunter2")]),
            &map(&[]),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("passwd"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
        let s = Connection::from_vpn(
            &map(&[("gateway", "g"), ("user", "u")]),
            &map(&[("password", "hunter2")]),
            None,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", s.to_vpn()).contains("hunter2"));
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
