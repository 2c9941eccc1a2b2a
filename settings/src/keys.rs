//! The one table of a PPTP connection's keys. Each key is described here once:
//! its `vpn.data` (or `vpn.secrets`) name, its type and range, its default, how
//! pppd spells it in a peers file, and which field of [`Connection`] holds it.
//! NetworkManager's validation, peers-file import and export, the editor and
//! `pptp-client` all read and write connections through this table; no other
//! file spells a key's name.

use crate::connection::Connection;
pub use crate::key_values::*;

/// How a peers file says it. Several spellings are read (pppd's and the older
/// SourceForge MPPE patch's); the first is the one written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pppd {
    /// No option of its own (the gateway is in `pty`, the domain in `name`, the
    /// password in chap-secrets).
    None,
    /// A flag option: an `on` spelling sets it, an `off` spelling clears it.
    Flag {
        on: &'static [&'static str],
        off: &'static [&'static str],
    },
    /// An option followed by its value.
    Value(&'static [&'static str]),
    /// pppd's `LOCAL:REMOTE` word (either half may be empty): the local half.
    LocalRemote,
    /// No pppd option (pppd has nothing like it): peers files carry it as a
    /// `# nm-pptp: KEY=VALUE` comment.
    Directive,
}

pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
    pub pppd: Pppd,
    /// What a connection that does not mention the key gets.
    pub default: Value,
    /// Written even when it holds our default: NetworkManager-pptp and
    /// plasma-nm read the key's absence as the weaker choice (PAP allowed, no
    /// MPPE), so a connection saved here must say it to mean the same there.
    pub portable: bool,
    get: fn(&Connection) -> Value,
    set: fn(&mut Connection, Value),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Key {
    pub fn get(&self, c: &Connection) -> Value {
        (self.get)(c)
    }

    /// Only values of the key's own kind, checked by [`Kind::parse`], reach here.
    pub fn set(&self, c: &mut Connection, v: Value) {
        (self.set)(c, v)
    }

    pub fn is_secret(&self) -> bool {
        self.kind == Kind::Secret
    }

    /// The value as `vpn.data` spells it; `None` when it is absent or the default.
    pub fn format(&self, c: &Connection) -> Option<String> {
        let v = self.get(c);
        if v == self.default && !self.portable {
            return None;
        }
        match v {
            Value::Bool(b) => Some(if b { "yes" } else { "no" }.to_string()),
            Value::Number(n) => n.map(|n| n.to_string()),
            Value::Text(t) => (!t.is_empty()).then_some(t),
            Value::Secret(_) | Value::Nothing => None,
        }
    }
}

impl Default for Connection {
    /// What a connection that says nothing means: the key table's defaults.
    fn default() -> Self {
        use crate::connection::{CompressionOff, Mppe, Refuse};
        let mut c = Connection {
            gateway: String::new(),
            user: String::new(),
            domain: String::new(),
            password: None,
            password_flags: 0,
            refuse: Refuse::default(),
            mppe: Mppe::default(),
            compression_off: CompressionOff::default(),
            lcp_echo_failure: 0,
            lcp_echo_interval: 0,
            unit: None,
            mtu: None,
            mru: None,
            mss_clamp: true,
            dhcp_inform: true,
            ipv6: true,
            block_ipv6_leak: true,
            class_route: false,
            local_address: None,
            accept_local: false,
        };
        for k in KEYS {
            k.set(&mut c, k.default.clone());
        }
        c
    }
}

/// The table. Numbers are stored in fields at least as wide as their range.
///
/// The defaults are Windows' client's, not pppd's or NetworkManager-pptp's: a
/// connection that says nothing allows MS-CHAPv2 only (EAP is never done) and requires MPPE (either
/// strength; servers pick 128 when they have it). PAP, CHAP-MD5, MS-CHAPv1 and an
/// unencrypted link are opt-ins, written explicitly (`refuse-pap=no`,
/// `require-mppe=no`) in vpn.data, and as `# nm-pptp: KEY=VALUE` lines in peers
/// files, where pppd has no spelling for them.
pub static KEYS: &[Key] = &[
    Key {
        name: GATEWAY,
        kind: Kind::Gateway,
        pppd: Pppd::None,
        default: Value::Text(String::new()),
        portable: false,
        get: |c| Value::Text(c.gateway.clone()),
        set: |c, v| c.gateway = text(v),
    },
    Key {
        name: USER,
        kind: Kind::Text,
        pppd: Pppd::None,
        default: Value::Text(String::new()),
        portable: false,
        get: |c| Value::Text(c.user.clone()),
        set: |c, v| c.user = text(v),
    },
    Key {
        name: DOMAIN,
        kind: Kind::Text,
        pppd: Pppd::None,
        default: Value::Text(String::new()),
        portable: false,
        get: |c| Value::Text(c.domain.clone()),
        set: |c, v| c.domain = text(v),
    },
    Key {
        name: PASSWORD,
        kind: Kind::Secret,
        pppd: Pppd::None,
        default: Value::Secret(None),
        portable: false,
        get: |c| Value::Secret(c.password.clone()),
        set: |c, v| {
            if let Value::Secret(p) = v {
                c.password = p
            }
        },
    },
    Key {
        name: PASSWORD_FLAGS,
        kind: Kind::Number { min: 0, max: 7 },
        pppd: Pppd::None,
        default: Value::Number(Some(0)),
        portable: false,
        get: |c| Value::Number(Some(c.password_flags.into())),
        set: |c, v| c.password_flags = number(v).unwrap_or(0) as u32,
    },
    Key {
        name: REFUSE_EAP,
        kind: Kind::Bool,
        pppd: flag(&["refuse-eap"]),
        default: Value::Bool(true),
        portable: true,
        get: |c| Value::Bool(c.refuse.eap),
        set: |c, v| c.refuse.eap = boolean(v),
    },
    Key {
        name: REFUSE_PAP,
        kind: Kind::Bool,
        pppd: flag(&["refuse-pap"]),
        default: Value::Bool(true),
        portable: true,
        get: |c| Value::Bool(c.refuse.pap),
        set: |c, v| c.refuse.pap = boolean(v),
    },
    Key {
        name: REFUSE_CHAP,
        kind: Kind::Bool,
        pppd: flag(&["refuse-chap"]),
        default: Value::Bool(true),
        portable: true,
        get: |c| Value::Bool(c.refuse.chap),
        set: |c, v| c.refuse.chap = boolean(v),
    },
    Key {
        name: REFUSE_MSCHAP,
        kind: Kind::Bool,
        pppd: flag(&["refuse-mschap"]),
        default: Value::Bool(true),
        portable: true,
        get: |c| Value::Bool(c.refuse.mschap),
        set: |c, v| c.refuse.mschap = boolean(v),
    },
    Key {
        name: REFUSE_MSCHAPV2,
        kind: Kind::Bool,
        pppd: flag(&["refuse-mschap-v2"]),
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.refuse.mschapv2),
        set: |c, v| c.refuse.mschapv2 = boolean(v),
    },
    Key {
        name: REQUIRE_MPPE,
        kind: Kind::Bool,
        pppd: flag(&["require-mppe"]),
        default: Value::Bool(true),
        portable: true,
        get: |c| Value::Bool(c.mppe.require),
        set: |c, v| c.mppe.require = boolean(v),
    },
    // The SourceForge patch's `mppe-40`/`mppe-128` turned MPPE on with that
    // strength, which is what the pppd 2.4 spellings mean.
    Key {
        name: REQUIRE_MPPE_40,
        kind: Kind::Bool,
        pppd: flag(&["require-mppe-40", "mppe-40"]),
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.mppe.require_40),
        set: |c, v| c.mppe.require_40 = boolean(v),
    },
    Key {
        name: REQUIRE_MPPE_128,
        kind: Kind::Bool,
        pppd: flag(&["require-mppe-128", "mppe-128"]),
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.mppe.require_128),
        set: |c, v| c.mppe.require_128 = boolean(v),
    },
    Key {
        name: MPPE_STATEFUL,
        kind: Kind::Bool,
        pppd: Pppd::Flag {
            on: &["mppe-stateful"],
            off: &["nomppe-stateful", "mppe-stateless"],
        },
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.mppe.stateful),
        set: |c, v| c.mppe.stateful = boolean(v),
    },
    // Compression is never negotiated, so these only confirm what happens anyway.
    Key {
        name: NOBSDCOMP,
        kind: Kind::Bool,
        pppd: flag(&["nobsdcomp"]),
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.compression_off.bsd),
        set: |c, v| c.compression_off.bsd = boolean(v),
    },
    Key {
        name: NODEFLATE,
        kind: Kind::Bool,
        pppd: flag(&["nodeflate"]),
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.compression_off.deflate),
        set: |c, v| c.compression_off.deflate = boolean(v),
    },
    Key {
        name: NO_VJ_COMP,
        kind: Kind::Bool,
        pppd: flag(&["novj"]),
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.compression_off.vj),
        set: |c, v| c.compression_off.vj = boolean(v),
    },
    // pppd's meaning: an interval sends echoes; a failure count of 0 (the
    // default) never ends the link over unanswered ones.
    Key {
        name: LCP_ECHO_FAILURE,
        kind: Kind::Number { min: 0, max: 1000 },
        pppd: Pppd::Value(&["lcp-echo-failure"]),
        default: Value::Number(Some(0)),
        portable: false,
        get: |c| Value::Number(Some(c.lcp_echo_failure.into())),
        set: |c, v| c.lcp_echo_failure = number(v).unwrap_or(0) as u32,
    },
    Key {
        name: LCP_ECHO_INTERVAL,
        kind: Kind::Number {
            min: 0,
            max: 86_400,
        },
        pppd: Pppd::Value(&["lcp-echo-interval"]),
        default: Value::Number(Some(0)),
        portable: false,
        get: |c| Value::Number(Some(c.lcp_echo_interval.into())),
        set: |c, v| c.lcp_echo_interval = number(v).unwrap_or(0) as u32,
    },
    // `unit N` makes the tunnel pppN; a name of at most 13 characters.
    Key {
        name: UNIT,
        kind: Kind::Number {
            min: 0,
            max: u32::MAX as u64,
        },
        pppd: Pppd::Value(&["unit"]),
        default: Value::Number(None),
        portable: false,
        get: |c| Value::Number(c.unit.map(u64::from)),
        set: |c, v| c.unit = number(v).map(|n| n as u32),
    },
    // IPv4 needs 576.
    Key {
        name: MTU,
        kind: Kind::Number {
            min: 576,
            max: 1500,
        },
        pppd: Pppd::Value(&["mtu"]),
        default: Value::Number(None),
        portable: false,
        get: |c| Value::Number(c.mtu.map(u64::from)),
        set: |c, v| c.mtu = number(v).map(|n| n as u16),
    },
    // pppd's own floor for the MRU is 128.
    Key {
        name: MRU,
        kind: Kind::Number {
            min: 128,
            max: 1500,
        },
        pppd: Pppd::Value(&["mru"]),
        default: Value::Number(None),
        portable: false,
        get: |c| Value::Number(c.mru.map(u64::from)),
        set: |c, v| c.mru = number(v).map(|n| n as u16),
    },
    // TCP SYNs crossing the tunnel get an MSS its MTU carries (on by default:
    // NetworkManager's own `mss` covers the default route only).
    Key {
        name: MSS_CLAMP,
        kind: Kind::Bool,
        pppd: Pppd::Directive,
        default: Value::Bool(true),
        portable: false,
        get: |c| Value::Bool(c.mss_clamp),
        set: |c, v| c.mss_clamp = boolean(v),
    },
    // Ask the server for split routes and the DNS domain (DHCPINFORM, as the
    // Windows client does). pppd has no such option either.
    Key {
        name: DHCP_INFORM,
        kind: Kind::Bool,
        pppd: Pppd::Directive,
        default: Value::Bool(true),
        portable: false,
        get: |c| Value::Bool(c.dhcp_inform),
        set: |c, v| c.dhcp_inform = boolean(v),
    },
    // IPV6CP and IPv6 through the tunnel, with addresses, routes and DNS from
    // the server's router advertisements. On by default, unlike pppd: a server
    // without IPv6 rejects the protocol and costs nothing.
    Key {
        name: IPV6,
        kind: Kind::Bool,
        pppd: Pppd::Flag {
            on: &["+ipv6"],
            off: &["noipv6", "-ipv6"],
        },
        default: Value::Bool(true),
        portable: false,
        get: |c| Value::Bool(c.ipv6),
        set: |c, v| c.ipv6 = boolean(v),
    },
    // When the VPN is the IPv4 default route, IPv6 goes into the tunnel too,
    // even when the server gives no IPv6 (it is then refused there with an
    // ICMPv6 error), instead of around the tunnel through the local network.
    Key {
        name: BLOCK_IPV6_LEAK,
        kind: Kind::Bool,
        pppd: Pppd::Directive,
        default: Value::Bool(true),
        portable: false,
        get: |c| Value::Bool(c.block_ipv6_leak),
        set: |c, v| c.block_ipv6_leak = boolean(v),
    },
    // Windows' "use default gateway on remote network" turned off: the classful
    // network of the assigned address goes through the tunnel when the
    // connection is not the default route and the server pushed no routes.
    Key {
        name: CLASS_ROUTE,
        kind: Kind::Bool,
        pppd: Pppd::Directive,
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.class_route),
        set: |c, v| c.class_route = boolean(v),
    },
    // A fixed tunnel address instead of one from the server's pool (pppd's
    // `10.0.0.5:`); the server must agree unless ipcp-accept-local is set.
    Key {
        name: LOCAL_ADDRESS,
        kind: Kind::Address,
        pppd: Pppd::LocalRemote,
        default: Value::Text(String::new()),
        portable: false,
        get: |c| Value::Text(c.local_address.map(|a| a.to_string()).unwrap_or_default()),
        set: |c, v| c.local_address = text(v).parse().ok(),
    },
    Key {
        name: IPCP_ACCEPT_LOCAL,
        kind: Kind::Bool,
        pppd: flag(&["ipcp-accept-local"]),
        default: Value::Bool(false),
        portable: false,
        get: |c| Value::Bool(c.accept_local),
        set: |c, v| c.accept_local = boolean(v),
    },
    Key {
        name: NAME,
        kind: Kind::Ignored,
        pppd: Pppd::None,
        default: Value::Nothing,
        portable: false,
        get: |_| Value::Nothing,
        set: |_, _| {},
    },
];

const fn flag(on: &'static [&'static str]) -> Pppd {
    Pppd::Flag { on, off: &[] }
}

fn text(v: Value) -> String {
    match v {
        Value::Text(t) => t,
        _ => String::new(),
    }
}

fn boolean(v: Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn number(v: Value) -> Option<u64> {
    match v {
        Value::Number(n) => n,
        _ => None,
    }
}

/// The key named `name` in `vpn.data` or `vpn.secrets`.
pub fn by_name(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The key a peers-file option sets, and the value a flag option means.
pub fn by_pppd_option(option: &str) -> Option<(&'static Key, Option<bool>)> {
    KEYS.iter().find_map(|k| match k.pppd {
        Pppd::Flag { on, .. } if on.contains(&option) => Some((k, Some(true))),
        Pppd::Flag { off, .. } if off.contains(&option) => Some((k, Some(false))),
        Pppd::Value(names) if names.contains(&option) => Some((k, None)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pptp_engine::secret::Password;

    #[test]
    fn every_key_reads_back_what_it_stores() {
        for k in KEYS {
            let mut c = Connection::default();
            let v = match k.kind {
                Kind::Bool => Value::Bool(!matches!(k.default, Value::Bool(true))),
                Kind::Number { max, .. } => Value::Number(Some(max)),
                Kind::Gateway | Kind::Text => Value::Text("x".into()),
                Kind::Address => Value::Text("10.1.2.3".into()),
                Kind::Secret => Value::Secret(Some(Password::new("p"))),
                Kind::Ignored => continue,
            };
            k.set(&mut c, v.clone());
            assert_eq!(k.get(&c), v, "{}", k.name);
            assert_ne!(c, Connection::default(), "{} changed nothing", k.name);
            // The defaults are what a fresh connection holds.
            assert_eq!(k.get(&Connection::default()), k.default, "{}", k.name);
        }
    }

    #[test]
    fn names_and_pppd_spellings_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in KEYS {
            assert!(seen.insert(k.name), "{} twice", k.name);
        }
        let mut options = std::collections::HashSet::new();
        for k in KEYS {
            let names: Vec<&str> = match k.pppd {
                Pppd::Flag { on, off } => on.iter().chain(off).copied().collect(),
                Pppd::Value(v) => v.to_vec(),
                Pppd::None | Pppd::Directive | Pppd::LocalRemote => vec![],
            };
            for n in names {
                assert!(options.insert(n), "pppd option {n} twice");
                assert_eq!(by_pppd_option(n).unwrap().0.name, k.name);
            }
        }
    }

    #[test]
    fn values_are_checked_against_the_kind() {
        assert_eq!(Kind::Bool.parse("true"), Err(Invalid::NotBool));
        let n = Kind::Number { min: 1, max: 9 };
        assert_eq!(n.parse("+5"), Err(Invalid::BadNumber { min: 1, max: 9 }));
        assert_eq!(n.parse("10"), Err(Invalid::BadNumber { min: 1, max: 9 }));
        assert_eq!(n.parse("9"), Ok(Value::Number(Some(9))));
        assert_eq!(Kind::Gateway.parse("a;b"), Err(Invalid::BadGateway));
        assert_eq!(Kind::Gateway.parse(""), Err(Invalid::BadGateway));
        for bad in [
            "10.0.0",
            "10.0.0.256",
            "0.0.0.0",
            "224.0.0.1",
            "vpn",
            " 10.0.0.1",
        ] {
            assert_eq!(Kind::Address.parse(bad), Err(Invalid::BadAddress), "{bad}");
        }
        assert_eq!(
            Kind::Address.parse("10.0.0.5"),
            Ok(Value::Text("10.0.0.5".into()))
        );
        assert_eq!(
            Kind::Gateway.parse("vpn-1.example.org"),
            Ok(Value::Text("vpn-1.example.org".into()))
        );
    }
}
