//! The editor's fields as plain values, read from and written to the VPN
//! setting through the one connection model. No GTK here, so it is tested alone.

use nm_pptp_libnm::connection::{ConnectionRef, VpnSetting};
use nm_pptp_settings::connection::{Connection, MppeStrength, Password};
use nm_pptp_settings::keys;
use nm_pptp_settings::nm::{flags, SettingsError, SERVICE};
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Security {
    /// 128 bits: CCP is not authenticated, so allowing 40 lets an active
    /// attacker force it; 40 is only ever an explicit choice.
    #[default]
    B128,
    /// 40 or 128 bits, as the server offers.
    Any,
    B40,
}

impl Security {
    /// The strength menu, in order.
    pub const ALL: [Security; 3] = [Security::B128, Security::Any, Security::B40];

    /// The menu's words for this choice.
    pub fn label(self) -> String {
        use nm_pptp_settings::i18n::tr;
        match self {
            Security::B128 => tr("128-bit (default)"),
            Security::Any => tr("40-bit or 128-bit (weaker: an attacker can force 40-bit)"),
            Security::B40 => tr("40-bit only (weak)"),
        }
    }

    /// The position in the strength menu ([`Security::ALL`]).
    pub fn index(self) -> u32 {
        match self {
            Security::B128 => 0,
            Security::Any => 1,
            Security::B40 => 2,
        }
    }

    pub fn from_index(i: u32) -> Self {
        match i {
            1 => Security::Any,
            2 => Security::B40,
            _ => Security::B128,
        }
    }

    fn strength(self) -> MppeStrength {
        match self {
            Security::Any => MppeStrength::Any,
            Security::B128 => MppeStrength::Only128,
            Security::B40 => MppeStrength::Only40,
        }
    }
}

/// What "Send PPP echo packets" turns on, as the C editor did: every 30 s,
/// down after 5 unanswered.
pub const ECHO_FAILURE: u32 = 5;
pub const ECHO_INTERVAL: u32 = 30;

/// What the MTU field shows for a value: 0 is no cap at all, shown as a word
/// rather than a number that reads like a zero-byte MTU. `None`: the number.
pub fn mtu_text(mtu: u32) -> Option<String> {
    (mtu == 0).then(|| nm_pptp_settings::i18n::tr("Automatic"))
}

/// The value typed into the MTU field, when it is the word (or nothing):
/// `None` leaves the number to the toolkit.
pub fn mtu_from_text(text: &str) -> Option<u32> {
    let t = text.trim();
    (t.is_empty()
        || t.eq_ignore_ascii_case(&nm_pptp_settings::i18n::tr("Automatic"))
        || t.eq_ignore_ascii_case("automatic"))
    .then_some(0)
}

/// A check box of the page and the form field it shows, by its id in
/// `editor/page/page.ui`. The page loads, reads back and watches every check
/// box through [`TOGGLES`], so a new one is a field here, a line there and
/// its `<object>` in the `.ui`.
pub struct Toggle {
    pub id: &'static str,
    pub get: fn(&Form) -> bool,
    pub set: fn(&mut Form, bool),
}

/// Every boolean field of [`Form`], as a check box.
pub const TOGGLES: &[Toggle] = &[
    Toggle {
        id: "persistent_check",
        get: |f| f.persistent,
        set: |f, v| f.persistent = v,
    },
    Toggle {
        id: "pap_check",
        get: |f| f.pap,
        set: |f, v| f.pap = v,
    },
    Toggle {
        id: "chap_check",
        get: |f| f.chap,
        set: |f, v| f.chap = v,
    },
    Toggle {
        id: "mschap_check",
        get: |f| f.mschap,
        set: |f, v| f.mschap = v,
    },
    Toggle {
        id: "mschapv2_check",
        get: |f| f.mschapv2,
        set: |f, v| f.mschapv2 = v,
    },
    Toggle {
        id: "eap_check",
        get: |f| f.eap,
        set: |f, v| f.eap = v,
    },
    Toggle {
        id: "mppe_check",
        get: |f| f.mppe,
        set: |f, v| f.mppe = v,
    },
    Toggle {
        id: "stateful_check",
        get: |f| f.stateful,
        set: |f, v| f.stateful = v,
    },
    Toggle {
        id: "echo_check",
        get: |f| f.echo,
        set: |f, v| f.echo = v,
    },
    Toggle {
        id: "dhcp_inform_check",
        get: |f| f.dhcp_inform,
        set: |f, v| f.dhcp_inform = v,
    },
    Toggle {
        id: "class_route_check",
        get: |f| f.class_route,
        set: |f, v| f.class_route = v,
    },
    Toggle {
        id: "mss_clamp_check",
        get: |f| f.mss_clamp,
        set: |f, v| f.mss_clamp = v,
    },
];

#[derive(Clone, PartialEq, Eq)]
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
    /// 0: automatic.
    pub mtu: u32,
    /// Ask the server for routes and the DNS domain (DHCPINFORM).
    pub dhcp_inform: bool,
    /// The classful network through the tunnel when it is not the default route.
    pub class_route: bool,
    /// Lower the MSS of TCP SYNs to what the tunnel carries.
    pub mss_clamp: bool,
    /// Dial again after a lost call (`vpn.persistent`, not a `vpn.data` key).
    pub persistent: bool,
    /// The connection as opened: keys without a field (and custom echo values)
    /// are kept from it.
    pub base: Connection,
}

/// Every field but the password's text.
impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("gateway", &self.gateway)
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("password", &"<redacted>")
            .field("password_flags", &self.password_flags)
            .field(
                "methods",
                &(self.pap, self.chap, self.mschap, self.mschapv2, self.eap),
            )
            .field("mppe", &(self.mppe, self.security, self.stateful))
            .field("echo", &self.echo)
            .field("mtu", &self.mtu)
            .field(
                "routing",
                &(self.dhcp_inform, self.class_route, self.mss_clamp),
            )
            .field("persistent", &self.persistent)
            .field("base", &self.base)
            .finish()
    }
}

/// The fields that can be marked invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Gateway,
    User,
    Mtu,
}

impl Field {
    /// The key the field edits, to name it in messages.
    pub fn key(self) -> &'static str {
        match self {
            Field::Gateway => keys::GATEWAY,
            Field::User => keys::USER,
            Field::Mtu => keys::MTU,
        }
    }

    fn of(e: &SettingsError) -> Option<Field> {
        [Field::Gateway, Field::User, Field::Mtu]
            .into_iter()
            .find(|f| e.key() == Some(f.key()))
    }
}

/// What a view lets the user change; both toolkits' pages follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    /// The MPPE check box.
    pub mppe: bool,
    /// PAP, CHAP and EAP.
    pub keyless_methods: bool,
    /// The strength and stateful choices.
    pub mppe_options: bool,
}

/// A field that stops the connection from being saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The widget to mark, if one is at fault.
    pub field: Option<Field>,
    pub message: String,
}

/// The message hosts show (nm-connection-editor prefixes the page's name): it
/// names the key, once.
impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field {
            Some(field) if !self.message.contains(field.key()) => {
                write!(f, "{}: {}", field.key(), self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

impl Default for Form {
    /// A new connection: the connection model's defaults (MS-CHAPv2 only, MPPE
    /// required), password asked every time.
    fn default() -> Self {
        Form::from_connection(Connection {
            password_flags: flags::NOT_SAVED,
            ..Connection::default()
        })
    }
}

impl Form {
    fn from_connection(c: Connection) -> Form {
        let strength = c.mppe_requirement();
        Form {
            gateway: c.gateway.clone(),
            user: c.user.clone(),
            domain: c.domain.clone(),
            password: Zeroizing::new(
                c.password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .unwrap_or_default(),
            ),
            password_flags: c.password_flags,
            pap: !c.refuse.pap,
            chap: !c.refuse.chap,
            mschap: !c.refuse.mschap,
            mschapv2: !c.refuse.mschapv2,
            eap: !c.refuse.eap,
            mppe: strength.is_some(),
            security: match strength {
                Some(MppeStrength::Any) => Security::Any,
                Some(MppeStrength::Only40) => Security::B40,
                _ => Security::B128,
            },
            stateful: c.mppe.stateful,
            echo: c.lcp_echo().is_some(),
            mtu: c.mtu.map_or(0, u32::from),
            dhcp_inform: c.dhcp_inform,
            class_route: c.class_route,
            mss_clamp: c.mss_clamp,
            persistent: false,
            base: c,
        }
    }

    /// The fields for an existing connection; a connection without data is
    /// new. Values the connection got wrong are left at their defaults.
    pub fn from_setting(v: Option<&VpnSetting>) -> Form {
        let Some(v) = v.filter(|v| !v.data.is_empty()) else {
            return Form::default();
        };
        let (c, _problems) =
            Connection::from_vpn_lenient(&v.data, &v.secrets, v.user_name.as_deref());
        Form {
            persistent: v.persistent,
            ..Form::from_connection(c)
        }
    }

    /// The form for the connection an editor opens; a new connection (no data
    /// yet) starts from the form's default (ask every time).
    pub fn opened(connection: ConnectionRef) -> Form {
        Form::from_setting(connection.vpn().as_ref())
    }

    /// Writes these fields into `connection` (keeping its `vpn.user-name`), or
    /// says which field stops it, leaving the connection as it was.
    pub fn save(&self, connection: ConnectionRef) -> Result<(), FieldError> {
        let mut s = self.to_setting()?;
        s.user_name = connection.vpn().and_then(|v| v.user_name);
        connection.set_vpn(&s);
        Ok(())
    }

    /// MPPE needs MS-CHAP keys: without an MS-CHAP method, no MPPE.
    pub fn mppe_possible(&self) -> bool {
        self.mschap || self.mschapv2
    }

    /// The connection these fields describe, before any check.
    fn connection(&self) -> Connection {
        let mut c = self.base.clone();
        c.gateway = self.gateway.trim().to_string();
        c.user = self.user.trim().to_string();
        c.domain = self.domain.trim().to_string();
        c.password_flags = self.password_flags;
        let keep = self.password_flags & (flags::NOT_SAVED | flags::NOT_REQUIRED) == 0;
        c.password =
            (keep && !self.password.is_empty()).then(|| Password::new(self.password.as_str()));
        c.refuse.pap = !self.pap;
        c.refuse.chap = !self.chap;
        c.refuse.mschap = !self.mschap;
        c.refuse.mschapv2 = !self.mschapv2;
        c.refuse.eap = !self.eap;
        let mppe = self.mppe && self.mppe_possible();
        c.set_mppe_requirement(mppe.then(|| self.security.strength()));
        c.apply_mppe_rule();
        // Stateful is offered only with MPPE on, as in the C editor.
        c.mppe.stateful = mppe && self.stateful;
        match (self.echo, c.lcp_echo().is_some()) {
            (true, false) => {
                c.lcp_echo_interval = ECHO_INTERVAL;
                c.lcp_echo_failure = ECHO_FAILURE;
            }
            (false, _) => {
                c.lcp_echo_interval = 0;
                c.lcp_echo_failure = 0;
            }
            (true, true) => {}
        }
        // Beyond u16 stays out of range rather than wrapping into it.
        c.mtu = (self.mtu != 0).then_some(self.mtu.min(u16::MAX.into()) as u16);
        c.dhcp_inform = self.dhcp_inform;
        c.class_route = self.class_route;
        c.mss_clamp = self.mss_clamp;
        c
    }

    /// Applies the connection's rules after a change, so the widgets show them.
    pub fn normalise(&mut self) {
        let mut f = Form::from_connection(self.connection());
        // What the rules leave alone stays as typed.
        f.password = self.password.clone();
        f.gateway = self.gateway.clone();
        f.user = self.user.clone();
        f.domain = self.domain.clone();
        f.mtu = self.mtu;
        f.security = self.security;
        f.persistent = self.persistent;
        *self = f;
    }

    /// Which fields can be edited, given the others (after [`Form::normalise`]).
    pub fn available(&self) -> Available {
        Available {
            mppe: self.mppe_possible(),
            // With MPPE on, only the MS-CHAPs (which make its keys) are offered.
            keyless_methods: !self.mppe,
            mppe_options: self.mppe,
        }
    }

    /// The VPN setting these fields describe; only non-default values are written.
    pub fn to_setting(&self) -> Result<VpnSetting, FieldError> {
        let c = self.connection();
        // The service's own validation: what it would refuse, the editor refuses.
        let v = c.to_vpn();
        if let Err(e) = Connection::from_vpn(&v.data, &v.secrets, None) {
            return Err(FieldError {
                field: Field::of(&e),
                message: e.to_string(),
            });
        }
        Ok(VpnSetting {
            service_type: SERVICE.into(),
            user_name: None,
            persistent: self.persistent,
            data: v.data,
            secrets: v.secrets,
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

    /// Each check box moves its own field and no other, and is in the page.
    #[test]
    fn toggles_each_own_one_field_of_the_page() {
        let page = include_str!("../../page/page.ui");
        let mut ids = std::collections::HashSet::new();
        for t in TOGGLES {
            assert!(ids.insert(t.id), "{} twice", t.id);
            assert!(
                page.contains(&format!(r#"<object class="GtkCheckButton" id="{}">"#, t.id)),
                "{} is not a check box of page.ui",
                t.id
            );
            let mut off = Form::default();
            for u in TOGGLES {
                (u.set)(&mut off, false);
            }
            let mut on = off.clone();
            (t.set)(&mut on, true);
            for u in TOGGLES {
                assert_eq!((u.get)(&on), u.id == t.id, "{} set, {} read", t.id, u.id);
            }
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
            dhcp_inform: false,
            class_route: true,
            mss_clamp: false,
            persistent: true,
            ..Form::default()
        };
        f.base.unit = Some(3);
        let s = f.to_setting().unwrap();
        for (k, v) in [
            ("dhcp-inform", "no"),
            ("class-route", "yes"),
            ("mss-clamp", "no"),
        ] {
            assert_eq!(s.data[k], v, "{k}");
        }
        assert_eq!(s.data["require-mppe-128"], "yes");
        // Our default, written out: the C plugin reads its absence as "allowed".
        assert_eq!(s.data["refuse-pap"], "yes");
        assert_eq!(s.data["lcp-echo-interval"], "30");
        assert_eq!(s.data["lcp-echo-failure"], "5");
        assert_eq!(s.data["unit"], "3");
        assert_eq!(s.data["password-flags"], "1");
        assert_eq!(s.secrets["password"].as_str(), "pass word");
        let back = Form::from_setting(Some(&s));
        assert_eq!(back.to_setting().unwrap(), s);
        assert_eq!(
            (back.security, back.stateful, back.echo, back.mtu),
            (Security::B128, true, true, 1400)
        );
        assert_eq!(
            (back.dhcp_inform, back.class_route, back.mss_clamp),
            (false, true, false)
        );
        assert!(s.persistent && back.persistent);
        // A new connection shows the key table's defaults, and does not redial.
        let d = Form::default();
        assert_eq!(
            (d.dhcp_inform, d.class_route, d.mss_clamp, d.persistent),
            (true, false, true, false)
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let f = Form {
            password: Zeroizing::new("hunter2".into()),
            password_flags: flags::NONE,
            ..Form::default()
        };
        let f = Form::from_setting(Some(
            &Form {
                gateway: "g".into(),
                ..f
            }
            .to_setting()
            .unwrap(),
        ));
        let d = format!("{f:?}");
        assert!(!d.contains("hunter2"), "{d}");
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
        let can = f.available();
        assert!(can.mppe && can.mppe_options && !can.keyless_methods);
        f.mschap = false;
        f.mschapv2 = false;
        f.stateful = true;
        f.normalise();
        assert!(!f.mppe && !f.stateful, "no MS-CHAP, no MPPE");
        let can = f.available();
        assert!(!can.mppe && !can.mppe_options && can.keyless_methods);
        f.pap = true;
        let s = f.to_setting_with_gateway();
        // The opt-ins are written out.
        assert_eq!(s.data["require-mppe"], "no");
        assert_eq!(s.data["refuse-pap"], "no");
        assert_eq!(s.data["refuse-mschapv2"], "yes");
    }

    #[test]
    fn a_new_connection_is_ms_chap_v2_with_mppe() {
        let f = Form::default();
        assert!(f.mppe && f.mschapv2 && !f.mschap && !f.pap && !f.chap);
        let s = f.to_setting_with_gateway();
        // The secure choices are spelled out, so that NetworkManager-pptp and
        // plasma-nm (which read absent refuse-* keys as "allowed" and
        // `require-mppe` alone as "either strength") read the same connection.
        assert_eq!(
            s.data.keys().collect::<Vec<_>>(),
            [
                "gateway",
                "password-flags",
                "refuse-chap",
                "refuse-eap",
                "refuse-mschap",
                "refuse-pap",
                "require-mppe",
                "require-mppe-128"
            ]
        );
        assert!(s.data.values().skip(2).all(|v| v == "yes"));
    }

    impl Form {
        fn to_setting_with_gateway(&self) -> VpnSetting {
            let mut f = self.clone();
            f.gateway = "g".into();
            f.to_setting().unwrap()
        }
    }

    #[test]
    fn a_field_error_names_its_key_once() {
        let missing = Form::default().to_setting().unwrap_err();
        assert_eq!(missing.field, Some(Field::Gateway));
        assert_eq!(
            missing.to_string().matches("gateway").count(),
            1,
            "{missing}"
        );
        let mtu = FieldError {
            field: Some(Field::Mtu),
            message: "must be 576 to 1500".into(),
        };
        assert_eq!(mtu.to_string(), "mtu: must be 576 to 1500");
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
            let written = s
                .data
                .get("password-flags")
                .map_or(0, |f| f.parse().unwrap());
            assert_eq!(written, flags);
        }
    }

    #[test]
    fn invalid_fields_are_named() {
        let e = Form::default().to_setting().unwrap_err();
        assert_eq!(e.field, Some(Field::Gateway));
        let f = Form {
            gateway: "bad gateway!".into(),
            ..Form::default()
        };
        assert_eq!(f.to_setting().unwrap_err().field, Some(Field::Gateway));
        for mtu in [100, 70_000] {
            let f = Form {
                gateway: "g".into(),
                mtu,
                ..Form::default()
            };
            let e = f.to_setting().unwrap_err();
            assert_eq!(e.field, Some(Field::Mtu));
            assert!(e.message.contains("mtu"), "{}", e.message);
        }
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
        // Without `refuse-mschap=no`, MS-CHAPv1 is refused (a departure from the
        // C plugin, whose connections allowed it by saying nothing).
        assert!(f.mppe && f.echo && !f.mschap && f.mschapv2 && !f.pap);
        // `require-mppe` alone: the C plugin allowed either strength, we 128-bit.
        assert_eq!(f.security, Security::B128);
        assert_eq!(f.password_flags, 2);
        assert_eq!(f.to_setting().unwrap().data["nodeflate"], "yes");
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
        // Both strength keys mean either strength, not 128 only.
        let both = setting(&[
            ("gateway", "g"),
            ("require-mppe-40", "yes"),
            ("require-mppe-128", "yes"),
        ]);
        assert_eq!(Form::from_setting(Some(&both)).security, Security::Any);
        // A connection with no data at all is a new one.
        assert_eq!(Form::from_setting(Some(&setting(&[]))), Form::default());
    }

    #[test]
    fn an_unset_mtu_reads_as_automatic() {
        assert!(mtu_text(0).is_some_and(|t| !t.is_empty() && !t.contains('0')));
        assert_eq!(mtu_text(1400), None);
        assert_eq!(mtu_from_text(&mtu_text(0).unwrap()), Some(0));
        assert_eq!(mtu_from_text(" automatic "), Some(0));
        assert_eq!(mtu_from_text(""), Some(0));
        assert_eq!(mtu_from_text("1400"), None);
    }
}
