//! What a key is made of, below the table that binds each key to its field
//! of a connection (`keys`): the keys' names, the kinds of value they hold
//! and how a value is read from text. `keys` re-exports all of it.

use std::net::Ipv4Addr;

use pptp_engine::ppp::ipcp::usable_unicast;
use pptp_engine::secret::Password;

pub const GATEWAY: &str = "gateway";
pub const USER: &str = "user";
pub const DOMAIN: &str = "domain";
pub const PASSWORD: &str = "password";
pub const PASSWORD_FLAGS: &str = "password-flags";
pub const REFUSE_EAP: &str = "refuse-eap";
pub const REFUSE_PAP: &str = "refuse-pap";
pub const REFUSE_CHAP: &str = "refuse-chap";
pub const REFUSE_MSCHAP: &str = "refuse-mschap";
pub const REFUSE_MSCHAPV2: &str = "refuse-mschapv2";
pub const REQUIRE_MPPE: &str = "require-mppe";
pub const REQUIRE_MPPE_40: &str = "require-mppe-40";
pub const REQUIRE_MPPE_128: &str = "require-mppe-128";
pub const MPPE_STATEFUL: &str = "mppe-stateful";
pub const NOBSDCOMP: &str = "nobsdcomp";
pub const NODEFLATE: &str = "nodeflate";
pub const NO_VJ_COMP: &str = "no-vj-comp";
pub const LCP_ECHO_FAILURE: &str = "lcp-echo-failure";
pub const LCP_ECHO_INTERVAL: &str = "lcp-echo-interval";
pub const UNIT: &str = "unit";
pub const MTU: &str = "mtu";
pub const MRU: &str = "mru";
pub const MSS_CLAMP: &str = "mss-clamp";
pub const DHCP_INFORM: &str = "dhcp-inform";
pub const IPV6: &str = "ipv6";
pub const BLOCK_IPV6_LEAK: &str = "block-ipv6-leak";
pub const CLASS_ROUTE: &str = "class-route";
pub const LOCAL_ADDRESS: &str = "local-address";
pub const IPCP_ACCEPT_LOCAL: &str = "ipcp-accept-local";
/// NetworkManager may store the connection's name here; it means nothing to us.
pub const NAME: &str = "name";

/// Other front ends' names for our keys, read in `vpn.data` and never written:
/// COSMIC (through nmrs) stores the user name as `username`. When a connection
/// has both, the key's own name wins.
pub const ALIASES: &[(&str, &str)] = &[("username", USER)];

/// The key an alias stands for.
pub fn alias_of(name: &str) -> Option<&'static str> {
    ALIASES.iter().find(|(a, _)| *a == name).map(|(_, k)| *k)
}

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A host name or IPv4 address: letters, digits, dots and hyphens.
    Gateway,
    Text,
    /// A unicast IPv4 address, dotted quad.
    Address,
    /// `yes` or `no`.
    Bool,
    /// An unsigned decimal number in this inclusive range.
    Number {
        min: u64,
        max: u64,
    },
    /// Lives in `vpn.secrets`, never in `vpn.data`.
    Secret,
    /// Accepted and ignored.
    Ignored,
}

/// A key's value, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    /// `None`: absent.
    Number(Option<u64>),
    Text(String),
    Secret(Option<Password>),
    Nothing,
}

/// Why a value does not fit its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    NotBool,
    BadNumber { min: u64, max: u64 },
    BadGateway,
    BadAddress,
}

fn valid_gateway(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

impl Kind {
    /// A value as written in `vpn.data` or a peers file.
    pub fn parse(self, s: &str) -> Result<Value, Invalid> {
        match self {
            Kind::Bool => match s {
                "yes" => Ok(Value::Bool(true)),
                "no" => Ok(Value::Bool(false)),
                _ => Err(Invalid::NotBool),
            },
            Kind::Number { min, max } => s
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n) && s.bytes().all(|b| b.is_ascii_digit()))
                .map(|n| Value::Number(Some(n)))
                .ok_or(Invalid::BadNumber { min, max }),
            Kind::Gateway if !valid_gateway(s) => Err(Invalid::BadGateway),
            Kind::Gateway | Kind::Text => Ok(Value::Text(s.to_string())),
            Kind::Address => s
                .parse::<Ipv4Addr>()
                .ok()
                .filter(|a| usable_unicast(*a))
                .map(|a| Value::Text(a.to_string()))
                .ok_or(Invalid::BadAddress),
            Kind::Secret => Ok(Value::Secret(
                (!s.is_empty()).then(|| Password::new(s.to_string())),
            )),
            Kind::Ignored => Ok(Value::Nothing),
        }
    }
}
