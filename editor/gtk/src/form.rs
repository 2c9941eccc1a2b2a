//! The editor's fields as plain values, read from and written to the VPN
//! setting, with NetworkManager-pptp's rules. No GTK here, so it is tested alone.

use std::collections::BTreeMap;

use nm_pptp_libnm::connection::VpnSetting;
use nm_pptp_settings::nm::{flags, NmSettings, SettingsError, SERVICE};
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Security {
    /// `require-mppe`: 40 or 128 bits.
    #[default]
    All,
    B128,
    B40,
}

impl Security {
    pub fn index(self) -> u32 {
        match self {
            Security::All => 0,
            Security::B128 => 1,
            Security::B40 => 2,
        }
    }

    pub fn from_index(i: u32) -> Self {
        match i {
            1 => Security::B128,
            2 => Security::B40,
            _ => Security::All,
        }
    }
}

/// Keys the editor has no field for but must not lose.
const CARRIED: &[&str] = &["unit", "nobsdcomp", "nodeflate", "no-vj-comp"];
/// What "Send PPP echo packets" writes, as the C editor did.
pub const ECHO_FAILURE: &str = "5";
pub const ECHO_INTERVAL: &str = "30";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub gateway: String,
    pub user: String,
    pub domain: String,
    pub password: Zeroizing<String>,
    pub password_flags: u32,
    pub pap: bool,
    pub chap: bool,
    pub mschap: bool,
    pub mschapv2: bool,
    pub eap: bool,
    pub mppe: bool,
    pub security: Security,
    pub stateful: bool,
    pub echo: bool,
    /// The echo values an existing connection had, kept while echo stays on.
    pub echo_failure: String,
    pub echo_interval: String,
    /// 0: automatic.
    pub mtu: u32,
    pub carried: BTreeMap<String, String>,
}

/// A field that stops the connection from being saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The widget to mark: "gateway", "user", "mtu" or "" for none.
    pub field: &'static str,
    pub message: String,
}

impl Default for Form {
    /// A new connection: encrypted, MS-CHAP only, password asked every time.
    fn default() -> Self {
        Form {
            gateway: String::new(),
            user: String::new(),
            domain: String::new(),
            password: Zeroizing::new(String::new()),
            password_flags: flags::NOT_SAVED,
            pap: false,
            chap: false,
            mschap: true,
            mschapv2: true,
            eap: false,
            mppe: true,
            security: Security::All,
            stateful: false,
            echo: false,
            echo_failure: ECHO_FAILURE.into(),
            echo_interval: ECHO_INTERVAL.into(),
            mtu: 0,
            carried: BTreeMap::new(),
        }
    }
}

impl Form {
    /// The fields for an existing connection; a connection without data is new.
    pub fn from_setting(v: Option<&VpnSetting>) -> Form {
        let Some(v) = v.filter(|v| !v.data.is_empty()) else {
            return Form::default();
        };
        let d = |k: &str| v.data.get(k).map(String::as_str);
        let yes = |k: &str| d(k) == Some("yes");
        let mppe = yes("require-mppe") || yes("require-mppe-40") || yes("require-mppe-128");
        Form {
            gateway: d("gateway").unwrap_or("").into(),
            user: d("user").or(v.user_name.as_deref()).unwrap_or("").into(),
            domain: d("domain").unwrap_or("").into(),
            password: v.secrets.get("password").cloned().unwrap_or_default(),
            password_flags: d("password-flags")
                .and_then(|f| f.parse().ok())
                .unwrap_or(flags::NONE),
            pap: !yes("refuse-pap"),
            chap: !yes("refuse-chap"),
            mschap: !yes("refuse-mschap"),
            mschapv2: !yes("refuse-mschapv2"),
            eap: !yes("refuse-eap"),
            mppe,
            security: if yes("require-mppe-128") {
                Security::B128
            } else if yes("require-mppe-40") {
                Security::B40
            } else {
                Security::All
            },
            stateful: yes("mppe-stateful"),
            echo: d("lcp-echo-interval")
                .and_then(|i| i.parse::<u32>().ok())
                .is_some_and(|i| i > 0),
            echo_failure: d("lcp-echo-failure").unwrap_or(ECHO_FAILURE).into(),
            echo_interval: d("lcp-echo-interval")
                .filter(|i| i.parse::<u32>().is_ok_and(|i| i > 0))
                .unwrap_or(ECHO_INTERVAL)
                .into(),
            mtu: d("mtu").and_then(|m| m.parse().ok()).unwrap_or(0),
            carried: CARRIED
                .iter()
                .filter_map(|k| v.data.get(*k).map(|val| (k.to_string(), val.clone())))
                .collect(),
        }
    }

    /// MPPE needs MS-CHAP keys: with MPPE on, PAP, CHAP and EAP are off.
    pub fn mppe_possible(&self) -> bool {
        self.mschap || self.mschapv2
    }

    /// Applies the C editor's rules after a change.
    pub fn normalise(&mut self) {
        if !self.mppe_possible() {
            self.mppe = false;
        }
        if self.mppe {
            self.pap = false;
            self.chap = false;
            self.eap = false;
        }
        if !self.mppe {
            self.stateful = false;
        }
    }

    /// The VPN setting these fields describe; only non-default values are written.
    pub fn to_setting(&self) -> Result<VpnSetting, FieldError> {
        let mut f = self.clone();
        f.normalise();
        let mut data = f.carried.clone();
        let gateway = f.gateway.trim();
        if gateway.is_empty() {
            return Err(FieldError {
                field: "gateway",
                message: nm_pptp_settings::i18n::tr("the gateway is missing"),
            });
        }
        data.insert("gateway".into(), gateway.into());
        for (key, value) in [("user", f.user.trim()), ("domain", f.domain.trim())] {
            if !value.is_empty() {
                data.insert(key.into(), value.into());
            }
        }
        for (key, allowed) in [
            ("refuse-pap", f.pap),
            ("refuse-chap", f.chap),
            ("refuse-mschap", f.mschap),
            ("refuse-mschapv2", f.mschapv2),
            ("refuse-eap", f.eap),
        ] {
            if !allowed {
                data.insert(key.into(), "yes".into());
            }
        }
        if f.mppe {
            let key = match f.security {
                Security::All => "require-mppe",
                Security::B128 => "require-mppe-128",
                Security::B40 => "require-mppe-40",
            };
            data.insert(key.into(), "yes".into());
            if f.stateful {
                data.insert("mppe-stateful".into(), "yes".into());
            }
        }
        if f.echo {
            data.insert("lcp-echo-failure".into(), f.echo_failure.clone());
            data.insert("lcp-echo-interval".into(), f.echo_interval.clone());
        }
        if f.mtu != 0 {
            data.insert("mtu".into(), f.mtu.to_string());
        }
        data.insert("password-flags".into(), f.password_flags.to_string());
        let mut secrets = BTreeMap::new();
        let keep = f.password_flags & (flags::NOT_SAVED | flags::NOT_REQUIRED) == 0;
        if keep && !f.password.is_empty() {
            secrets.insert("password".to_string(), f.password.clone());
        }
        // The service's own validation: what it would refuse, the editor refuses.
        if let Err(e) = NmSettings::parse(&data, &BTreeMap::new(), Some("-")) {
            let field = match &e {
                SettingsError::BadGateway(_) | SettingsError::NoGateway => "gateway",
                SettingsError::BadNumber { key, .. } if key == "mtu" => "mtu",
                _ => "",
            };
            return Err(FieldError {
                field,
                message: e.to_string(),
            });
        }
        Ok(VpnSetting {
            service_type: SERVICE.into(),
            user_name: None,
            data,
            secrets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(kv: &[(&str, &str)]) -> VpnSetting {
        VpnSetting {
            service_type: SERVICE.into(),
            data: kv
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_of_every_field() {
        let mut f = Form {
            gateway: "vpn.example.com".into(),
            user: "alice".into(),
            domain: "CORP".into(),
            password: Zeroizing::new("pass word".into()),
            password_flags: flags::AGENT_OWNED,
            security: Security::B128,
            stateful: true,
            echo: true,
            mtu: 1400,
            ..Form::default()
        };
        f.carried.insert("unit".into(), "3".into());
        let s = f.to_setting().unwrap();
        assert_eq!(s.data["require-mppe-128"], "yes");
        assert_eq!(s.data["refuse-pap"], "yes");
        assert_eq!(s.data["lcp-echo-interval"], "30");
        assert_eq!(s.data["unit"], "3");
        assert_eq!(s.secrets["password"].as_str(), "pass word");
        assert_eq!(Form::from_setting(Some(&s)), f);
    }

    #[test]
    fn mppe_rules() {
        let mut f = Form {
            pap: true,
            chap: true,
            eap: true,
            ..Form::default()
        };
        f.normalise();
        assert!(!f.pap && !f.chap && !f.eap, "MPPE turns off PAP, CHAP, EAP");
        f.mschap = false;
        f.mschapv2 = false;
        f.stateful = true;
        f.normalise();
        assert!(!f.mppe && !f.stateful, "no MS-CHAP, no MPPE");
        f.pap = true;
        let s = f.to_setting_with_gateway();
        assert!(!s.data.contains_key("require-mppe"));
        assert_eq!(s.data.get("refuse-pap"), None);
    }

    impl Form {
        fn to_setting_with_gateway(&self) -> VpnSetting {
            let mut f = self.clone();
            f.gateway = "g".into();
            f.to_setting().unwrap()
        }
    }

    #[test]
    fn password_is_kept_only_when_saved() {
        for (flags, kept) in [(0, true), (1, true), (2, false), (4, false)] {
            let f = Form {
                password: Zeroizing::new("pw".into()),
                password_flags: flags,
                ..Form::default()
            };
            let s = f.to_setting_with_gateway();
            assert_eq!(s.secrets.contains_key("password"), kept, "flags {flags}");
            assert_eq!(s.data["password-flags"], flags.to_string());
        }
    }

    #[test]
    fn invalid_fields_are_named() {
        let e = Form::default().to_setting().unwrap_err();
        assert_eq!(e.field, "gateway");
        let f = Form {
            gateway: "bad gateway!".into(),
            ..Form::default()
        };
        assert_eq!(f.to_setting().unwrap_err().field, "gateway");
        let f = Form {
            gateway: "g".into(),
            mtu: 100,
            ..Form::default()
        };
        let e = f.to_setting().unwrap_err();
        assert_eq!(e.field, "mtu");
        assert!(e.message.contains("mtu"), "{}", e.message);
    }

    #[test]
    fn existing_connections_load_as_written_by_the_c_editor() {
        let f = Form::from_setting(Some(&setting(&[
            ("gateway", "198.18.0.2"),
            ("user", "alice"),
            ("password-flags", "2"),
            ("require-mppe", "yes"),
            ("refuse-eap", "yes"),
            ("refuse-pap", "yes"),
            ("refuse-chap", "yes"),
            ("lcp-echo-interval", "30"),
            ("lcp-echo-failure", "5"),
            ("nodeflate", "yes"),
        ])));
        assert!(f.mppe && f.echo && f.mschap && f.mschapv2 && !f.pap);
        assert_eq!(f.security, Security::All);
        assert_eq!(f.password_flags, 2);
        assert_eq!(f.carried["nodeflate"], "yes");
        // Custom echo values survive an edit elsewhere.
        let custom = setting(&[
            ("gateway", "g"),
            ("lcp-echo-interval", "2"),
            ("lcp-echo-failure", "3"),
        ]);
        let s = Form::from_setting(Some(&custom)).to_setting().unwrap();
        assert_eq!(
            (
                s.data["lcp-echo-interval"].as_str(),
                s.data["lcp-echo-failure"].as_str()
            ),
            ("2", "3")
        );
        // A connection with no data at all is a new one.
        assert_eq!(Form::from_setting(Some(&setting(&[]))), Form::default());
    }
}
