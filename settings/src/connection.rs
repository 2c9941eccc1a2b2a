//! A PPTP connection as one typed value, and what its keys mean together: the
//! authentication and MPPE rules, the login name, LCP echo, and the engine
//! configuration they become. Every front end reads and writes a [`Connection`]
//! (through the key table for names and spellings) and asks it these questions.

use std::net::Ipv4Addr;
use std::time::Duration;

use pptp_engine::ppp::ccp::MppePolicy;
use pptp_engine::ppp::lcp::AuthPolicy;
use pptp_engine::ppp::lcp::AuthProtocol;
pub use pptp_engine::secret::Password;
use pptp_engine::session::{ClientConfig, DownReason};

use crate::error::{flags, SettingsError};
use crate::key_values::{self as keys, Kind};
use crate::profile::Profile;

/// The `refuse-*` keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refuse {
    pub pap: bool,
    pub chap: bool,
    pub mschap: bool,
    pub mschapv2: bool,
    pub eap: bool,
}

/// The `require-mppe*` and `mppe-stateful` keys, as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mppe {
    pub require: bool,
    pub require_40: bool,
    pub require_128: bool,
    /// Stateful mode is acceptable when the server asks for it.
    pub stateful: bool,
}

/// The compression keys: accepted, written back, and always true in effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompressionOff {
    pub bsd: bool,
    pub deflate: bool,
    pub vj: bool,
}

/// Which MPPE strengths a connection that requires MPPE accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MppeStrength {
    /// 40 or 128 bits (`require-mppe`, or both strength keys).
    Any,
    Only128,
    Only40,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub gateway: String,
    /// Without the domain; empty: none.
    pub user: String,
    /// The NT domain, sent as `DOMAIN\user`; empty: none.
    pub domain: String,
    pub password: Option<Password>,
    /// `NMSettingSecretFlags` of the password.
    pub password_flags: u32,
    pub refuse: Refuse,
    pub mppe: Mppe,
    pub compression_off: CompressionOff,
    pub lcp_echo_failure: u32,
    /// Seconds; 0: no echoes.
    pub lcp_echo_interval: u32,
    pub unit: Option<u32>,
    pub mtu: Option<u16>,
    pub mru: Option<u16>,
    /// Clamp the MSS of TCP SYNs crossing the tunnel.
    pub mss_clamp: bool,
    /// Send a DHCPINFORM once up and apply the routes and domain it brings.
    pub dhcp_inform: bool,
    /// Negotiate IPV6CP and carry IPv6.
    pub ipv6: bool,
    /// As the IPv4 default route, take IPv6 into the tunnel even without IPv6
    /// from the server (refused there), so it cannot leak around it.
    pub block_ipv6_leak: bool,
    /// Route the assigned address's classful network through the tunnel when it
    /// is not the default route and the server pushed no routes.
    pub class_route: bool,
    /// A fixed tunnel address to ask the server for.
    pub local_address: Option<std::net::Ipv4Addr>,
    /// Take the server's address when it refuses `local_address`.
    pub accept_local: bool,
}

impl Mppe {
    /// `require-mppe` without a strength key means 128-bit here: say so in
    /// the strength key, for plugins that read it alone as "either strength"
    /// (and so that what is read and what is written back are one value).
    pub fn spell_out(&mut self) {
        if self.require && !self.require_40 {
            self.require_128 = true;
        }
    }
}

impl Connection {
    /// The name the server sees: `DOMAIN\user` when a domain is set.
    pub fn login_name(&self) -> Result<String, SettingsError> {
        if self.user.is_empty() {
            return Err(SettingsError::NoUser);
        }
        Ok(match self.domain.is_empty() {
            true => self.user.clone(),
            false => format!("{}\\{}", self.domain, self.user),
        })
    }

    /// The reverse of [`login_name`](Self::login_name): `DOMAIN\user` sets both.
    pub fn set_login_name(&mut self, name: &str) {
        match name.split_once('\\') {
            Some((domain, user)) => {
                self.domain = domain.to_string();
                self.user = user.to_string();
            }
            None => {
                self.domain.clear();
                self.user = name.to_string();
            }
        }
    }

    /// `None` when MPPE is not required.
    pub fn mppe_requirement(&self) -> Option<MppeStrength> {
        let m = self.mppe;
        match (m.require, m.require_40, m.require_128) {
            (_, true, false) => Some(MppeStrength::Only40),
            // CCP is not authenticated: were 40-bit allowed whenever the server
            // offers it, an active attacker could strip the 128-bit bit. So
            // `require-mppe` alone (and a connection that says nothing) means
            // 128-bit; 40-bit is only ever an explicit choice.
            (_, false, true) | (true, false, false) => Some(MppeStrength::Only128),
            (_, true, true) => Some(MppeStrength::Any),
            (false, false, false) => None,
        }
    }

    /// Written with the strength keys spelled out, so that the connection
    /// means the same to plugins that read `require-mppe` alone as "any strength".
    pub fn set_mppe_requirement(&mut self, r: Option<MppeStrength>) {
        self.mppe.require = r.is_some();
        self.mppe.require_40 = matches!(r, Some(MppeStrength::Only40 | MppeStrength::Any));
        self.mppe.require_128 = matches!(r, Some(MppeStrength::Only128 | MppeStrength::Any));
    }

    /// MPPE keys come from MS-CHAP: when MPPE is required, PAP, CHAP-MD5 and EAP
    /// cannot be used. Front ends that show the methods apply this after an edit.
    pub fn apply_mppe_rule(&mut self) {
        if self.mppe_requirement().is_some() {
            self.refuse.pap = true;
            self.refuse.chap = true;
            self.refuse.eap = true;
        }
    }

    /// Whether the methods allowed can give MPPE its keys.
    pub fn ms_chap_allowed(&self) -> bool {
        !self.refuse.mschap || !self.refuse.mschapv2
    }

    /// What makes the connection unusable whatever the password: a missing or
    /// bad gateway, MPPE required with no MS-CHAP method left.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.gateway.is_empty() {
            return Err(SettingsError::NoGateway);
        }
        if Kind::Gateway.parse(&self.gateway).is_err() {
            return Err(SettingsError::BadGateway(self.gateway.clone()));
        }
        if self.mppe_requirement().is_some() && !self.ms_chap_allowed() {
            return Err(SettingsError::MppeNeedsMsChap);
        }
        // PAP carries the name and the password behind one length byte each; no
        // control character belongs in either (nor in a peers file's line).
        let fits = |s: &str| s.len() <= 255 && !s.chars().any(char::is_control);
        for (key, value) in [(keys::USER, &self.user), (keys::DOMAIN, &self.domain)] {
            if !fits(value) {
                return Err(SettingsError::BadName { key: key.into() });
            }
        }
        if let Ok(name) = self.login_name() {
            if !fits(&name) {
                return Err(SettingsError::BadName {
                    key: keys::USER.into(),
                });
            }
        }
        if self
            .password
            .as_ref()
            .is_some_and(|p| p.expose().len() > 255)
        {
            return Err(SettingsError::BadName {
                key: keys::PASSWORD.into(),
            });
        }
        Ok(())
    }

    pub fn auth_policy(&self) -> AuthPolicy {
        let mppe = self.mppe_requirement().is_some();
        AuthPolicy {
            pap: !self.refuse.pap && !mppe,
            chap: !self.refuse.chap && !mppe,
            mschap: !self.refuse.mschap,
            mschapv2: !self.refuse.mschapv2,
        }
    }

    /// As pppd 2.4.9 reads its options: without a requirement (`require-mppe=no`)
    /// MPPE is allowed, not required, in either strength.
    pub fn mppe_policy(&self) -> MppePolicy {
        let r = self.mppe_requirement();
        MppePolicy {
            allow_40: r != Some(MppeStrength::Only128),
            allow_56: false,
            allow_128: r != Some(MppeStrength::Only40),
            stateful: self.mppe.stateful,
            request_stateful: false,
            required: r.is_some(),
        }
    }

    /// Echo interval and the unanswered count that ends the link (0: never).
    pub fn lcp_echo(&self) -> Option<(Duration, u32)> {
        (self.lcp_echo_interval > 0).then(|| {
            (
                Duration::from_secs(self.lcp_echo_interval.into()),
                self.lcp_echo_failure,
            )
        })
    }

    /// Whether a password must come from a secret agent before connecting.
    pub fn needs_password(&self) -> bool {
        self.password_flags & flags::NOT_REQUIRED == 0 && self.password.is_none()
    }

    /// The route Windows adds when a VPN does not take the default route: the
    /// classful network (A /8, B /16, C /24) of the address the server assigned.
    /// None when the key is off, the tunnel is the default route, the server
    /// pushed routes of its own, or the address has no class (D, E).
    pub fn class_route(
        &self,
        assigned: Ipv4Addr,
        default_route: bool,
        pushed_routes: bool,
    ) -> Option<(Ipv4Addr, u8)> {
        if !self.class_route || default_route || pushed_routes {
            return None;
        }
        let prefix = match assigned.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            192..=223 => 24,
            _ => return None,
        };
        let mask = u32::MAX << (32 - prefix);
        Some((Ipv4Addr::from(u32::from(assigned) & mask), prefix))
    }

    /// The tunnel device name: `unit N` made pppd use pppN; we keep that promise.
    pub fn ifname(&self) -> Option<String> {
        self.unit.map(|u| format!("ppp{u}"))
    }

    /// The engine's configuration. Without a password (NOT_REQUIRED), an empty
    /// one is sent.
    pub fn client_config(&self, seed: [u8; 32]) -> Result<ClientConfig, SettingsError> {
        self.validate()?;
        let pw = self.password.clone().unwrap_or_else(|| Password::new(""));
        let mut c = ClientConfig::new(self.login_name()?, pw, seed);
        c.auth = self.auth_policy();
        c.mppe = self.mppe_policy();
        c.ppp.lcp_echo = self.lcp_echo();
        c.ppp.mtu = self.mtu;
        if let Some(m) = self.mru {
            c.ppp.mru = m;
        }
        c.ppp.mss_clamp = self.mss_clamp;
        c.ppp.dhcp_inform = self.dhcp_inform;
        c.ppp.ipv6 = self.ipv6;
        c.local_address = self.local_address;
        c.accept_local = self.accept_local;
        Ok(c)
    }

    /// The engine's configuration for a call NetworkManager asked for: what
    /// the connection's other properties add (`profile`), and whether a new
    /// password can be typed when the server allows a retry on the link.
    pub fn client_config_for(
        &self,
        seed: [u8; 32],
        profile: &Profile,
        password_retry: bool,
    ) -> Result<ClientConfig, SettingsError> {
        let mut c = self.client_config(seed)?;
        // The `local-address` key, when set, wins.
        c.local_address = self.local_address.or(profile.manual_address);
        if profile.ipv6_ignored {
            c.ppp.ipv6 = false;
        }
        c.password_retry = password_retry;
        Ok(c)
    }
}

/// What would let a refused server through. Each one weakens the link, so none
/// is ever the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptIn {
    /// Answer with this method (PAP and CHAP-MD5 also need MPPE not required).
    Method(AuthProtocol),
    /// Accept a link without MPPE.
    Unencrypted,
    /// Accept 40-bit MPPE.
    Mppe40,
}

impl OptIn {
    /// The opt-in a connection lacked, when that is why it went down.
    pub fn for_refusal(reason: &DownReason) -> Option<OptIn> {
        match reason {
            DownReason::MethodRefused(m) => Some(OptIn::Method(*m)),
            DownReason::NoAuthentication | DownReason::MppeRefused(_) => Some(OptIn::Unencrypted),
            DownReason::MppeTooWeak(_) => Some(OptIn::Mppe40),
            _ => None,
        }
    }

    /// In `vpn.data` terms: the keys and values that allow it.
    pub fn keys(self) -> String {
        use crate::key_values::*;
        let method = |k: &str| format!("{k}=no");
        match self {
            OptIn::Method(AuthProtocol::Pap) => {
                format!("{} {}", method(REFUSE_PAP), method(REQUIRE_MPPE))
            }
            OptIn::Method(AuthProtocol::ChapMd5) => {
                format!("{} {}", method(REFUSE_CHAP), method(REQUIRE_MPPE))
            }
            OptIn::Method(AuthProtocol::MsChapV1) => method(REFUSE_MSCHAP),
            OptIn::Method(AuthProtocol::MsChapV2) => method(REFUSE_MSCHAPV2),
            OptIn::Unencrypted => method(REQUIRE_MPPE),
            OptIn::Mppe40 => format!("{REQUIRE_MPPE_40}=yes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_name_joins_and_splits_the_domain() {
        let mut c = Connection::default();
        assert_eq!(c.login_name(), Err(SettingsError::NoUser));
        c.set_login_name("CORP\\alice");
        assert_eq!((c.domain.as_str(), c.user.as_str()), ("CORP", "alice"));
        assert_eq!(c.login_name().unwrap(), "CORP\\alice");
        c.set_login_name("bob");
        assert_eq!(c.login_name().unwrap(), "bob");
        assert!(c.domain.is_empty());
    }

    #[test]
    fn mppe_strength_reads_every_spelling() {
        let mut c = Connection::default();
        assert_eq!(c.mppe_requirement(), Some(MppeStrength::Only128));
        c.set_mppe_requirement(None);
        assert_eq!(c.mppe_requirement(), None);
        for (req, r40, r128, want) in [
            (true, false, false, MppeStrength::Only128),
            (false, true, true, MppeStrength::Any),
            (true, true, true, MppeStrength::Any),
            (true, true, false, MppeStrength::Only40),
            (false, false, true, MppeStrength::Only128),
        ] {
            c.mppe = Mppe {
                require: req,
                require_40: r40,
                require_128: r128,
                stateful: false,
            };
            assert_eq!(c.mppe_requirement(), Some(want));
            let p = c.mppe_policy();
            assert!(p.required);
            assert_eq!(p.allow_40, want != MppeStrength::Only128);
            assert_eq!(p.allow_128, want != MppeStrength::Only40);
            let mut d = Connection::default();
            d.set_mppe_requirement(Some(want));
            assert_eq!(d.mppe_requirement(), Some(want));
            // Spelled out, so that plugins reading `require-mppe` alone as
            // "either strength" read the same choice.
            assert_eq!(d.mppe.require_128, want != MppeStrength::Only40);
            assert_eq!(d.mppe.require_40, want != MppeStrength::Only128);
        }
    }

    #[test]
    fn defaults_are_ms_chap_v2_and_mppe_required() {
        let c = Connection::default();
        assert_eq!(c.auth_policy(), AuthPolicy::default());
        let m = c.mppe_policy();
        assert!(m.required && !m.allow_40 && m.allow_128 && !m.stateful);
        // Opt-ins are written out; of the defaults, only the security choices
        // other plugins read differently (refuse-*, require-mppe, 128-bit).
        let mut c = Connection {
            gateway: "g".into(),
            user: "u".into(),
            ..Connection::default()
        };
        assert_eq!(c.to_vpn().data.len(), 2 + 6, "{:?}", c.to_vpn());
        c.refuse.pap = false;
        c.set_mppe_requirement(None);
        let v = c.to_vpn();
        assert_eq!(v.data["refuse-pap"], "no");
        assert_eq!(v.data["require-mppe"], "no");
        assert!(c.auth_policy().pap && !c.mppe_policy().required);
    }

    /// What NetworkManager's other properties add to the engine's config is
    /// decided in one place.
    #[test]
    fn a_calls_config_takes_the_profile() {
        let c = Connection {
            gateway: "g".into(),
            user: "u".into(),
            ..Connection::default()
        };
        let plain = c.client_config([0; 32]).unwrap();
        assert!(plain.ppp.ipv6 && !plain.password_retry && plain.local_address.is_none());
        let profile = Profile {
            ipv6_ignored: true,
            manual_address: Some(Ipv4Addr::new(10, 5, 5, 5)),
            ..Profile::default()
        };
        let cfg = c.client_config_for([0; 32], &profile, true).unwrap();
        assert!(!cfg.ppp.ipv6 && cfg.password_retry);
        assert_eq!(cfg.local_address, Some(Ipv4Addr::new(10, 5, 5, 5)));
        let pinned = Connection {
            local_address: Some(Ipv4Addr::new(10, 7, 7, 7)),
            ..c
        };
        let cfg = pinned.client_config_for([0; 32], &profile, false).unwrap();
        assert_eq!(
            cfg.local_address,
            Some(Ipv4Addr::new(10, 7, 7, 7)),
            "the key wins"
        );
    }

    #[test]
    fn required_mppe_refuses_methods_without_keys() {
        let mut c = Connection {
            gateway: "g".into(),
            user: "u".into(),
            refuse: Refuse::default(),
            ..Connection::default()
        };
        c.set_mppe_requirement(None);
        let a = c.auth_policy();
        assert!(a.pap && a.chap && a.mschap && a.mschapv2);
        c.set_mppe_requirement(Some(MppeStrength::Any));
        let a = c.auth_policy();
        assert!(!a.pap && !a.chap && a.mschap && a.mschapv2);
        c.refuse.mschap = true;
        c.refuse.mschapv2 = true;
        assert_eq!(c.validate(), Err(SettingsError::MppeNeedsMsChap));
        assert!(c.client_config([0; 32]).is_err());
        c.apply_mppe_rule();
        assert!(c.refuse.pap && c.refuse.chap && c.refuse.eap);
    }

    #[test]
    fn refusals_name_the_key_that_would_allow_them() {
        let hint = |r: DownReason| OptIn::for_refusal(&r).map(OptIn::keys);
        assert_eq!(
            hint(DownReason::MethodRefused(AuthProtocol::Pap)).as_deref(),
            Some("refuse-pap=no require-mppe=no")
        );
        assert_eq!(
            hint(DownReason::MethodRefused(AuthProtocol::MsChapV1)).as_deref(),
            Some("refuse-mschap=no")
        );
        assert_eq!(
            hint(DownReason::MppeRefused("x".into())).as_deref(),
            Some("require-mppe=no")
        );
        assert_eq!(
            hint(DownReason::NoAuthentication).as_deref(),
            Some("require-mppe=no")
        );
        assert_eq!(
            hint(DownReason::MppeTooWeak("40-bit stateless".into())).as_deref(),
            Some("require-mppe-40=yes")
        );
        assert_eq!(hint(DownReason::EchoTimeout), None);
    }

    #[test]
    fn names_are_bounded_and_printable() {
        let ok = Connection {
            gateway: "g".into(),
            user: "u".repeat(200),
            domain: "D".into(),
            ..Connection::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        for c in [
            Connection {
                user: "a\nb".into(),
                ..ok.clone()
            },
            Connection {
                domain: "x".repeat(60),
                ..ok.clone()
            },
            Connection {
                password: Some(Password::new("p".repeat(256))),
                ..ok.clone()
            },
        ] {
            let e = c.validate().unwrap_err();
            assert!(matches!(e, SettingsError::BadName { .. }), "{e}");
            assert!(!e.to_string().contains("ppppp"), "{e}");
        }
    }

    #[test]
    fn echo_follows_pppd() {
        let mut c = Connection::default();
        assert_eq!(c.lcp_echo(), None);
        c.lcp_echo_interval = 30;
        // No failure count: echoes go out, and never end the link.
        assert_eq!(c.lcp_echo(), Some((Duration::from_secs(30), 0)));
        c.lcp_echo_failure = 5;
        assert_eq!(c.lcp_echo(), Some((Duration::from_secs(30), 5)));
        c.lcp_echo_interval = 0;
        assert_eq!(c.lcp_echo(), None);
    }

    #[test]
    fn the_class_route_is_the_classful_network_and_only_when_asked() {
        let on = Connection {
            class_route: true,
            ..Connection::default()
        };
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        for (addr, net, prefix) in [
            ("10.1.2.3", "10.0.0.0", 8),
            ("172.16.9.9", "172.16.0.0", 16),
            ("198.19.0.10", "198.19.0.0", 24),
        ] {
            assert_eq!(
                on.class_route(a(addr), false, false),
                Some((a(net), prefix))
            );
        }
        assert_eq!(
            on.class_route(a("224.0.0.1"), false, false),
            None,
            "class D"
        );
        assert_eq!(
            on.class_route(a("10.1.2.3"), true, false),
            None,
            "default route"
        );
        assert_eq!(
            on.class_route(a("10.1.2.3"), false, true),
            None,
            "pushed routes"
        );
        let off = Connection::default();
        assert_eq!(off.class_route(a("10.1.2.3"), false, false), None, "opt-in");
    }
}
