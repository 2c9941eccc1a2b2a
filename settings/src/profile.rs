//! What NetworkManager's connection says about a connect beyond `vpn.data`:
//! its `ipv4`, `ipv6` and `vpn` properties, as found in the connection the
//! service is handed. The service takes the raw values off D-Bus; what they
//! mean for a PPTP call is decided here, beside the rest of the connection.

use std::net::Ipv4Addr;
use std::time::Duration;

/// The properties read, as NetworkManager sent them (absent: None, as
/// NetworkManager leaves defaults out).
#[derive(Debug, Default, Clone, Copy)]
pub struct Properties<'a> {
    /// `vpn.timeout`, seconds.
    pub vpn_timeout: Option<i32>,
    /// `vpn.persistent`.
    pub vpn_persistent: Option<bool>,
    /// `ipv4.never-default`.
    pub ipv4_never_default: Option<bool>,
    /// `ipv4.method`.
    pub ipv4_method: Option<&'a str>,
    /// The `address` of the first of `ipv4.address-data`.
    pub ipv4_first_address: Option<&'a str>,
    /// `ipv6.method`.
    pub ipv6_method: Option<&'a str>,
}

/// What those properties mean for a connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Profile {
    /// NetworkManager's own deadline for this connection (0 or absent: its
    /// default). A user who raised it (a server that waits for a second
    /// factor) gets the same from us.
    pub timeout: Option<Duration>,
    /// The tunnel is not to take the default route.
    pub never_default: bool,
    /// Dial again after a lost call (announced to NetworkManager as
    /// `can-persist`), until Disconnect or a refused login.
    pub persistent: bool,
    /// `ipv6.method` is `disabled` or `ignore`: NetworkManager would not apply
    /// an Ip6Config, so IPv6 is neither negotiated nor reported (NetworkManager's
    /// PPP-based plugins map it to pppd's `noipv6` likewise).
    pub ipv6_ignored: bool,
    /// `ipv4.method=manual`: NetworkManager puts the first of `ipv4.addresses`
    /// on the tunnel in place of the one the server assigned (checked with
    /// NetworkManager 1.42), so IPCP must ask the server for that one.
    pub manual_address: Option<Ipv4Addr>,
}

impl Profile {
    pub fn from_properties(p: &Properties<'_>) -> Self {
        Profile {
            timeout: p
                .vpn_timeout
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(s.unsigned_abs().into())),
            never_default: p.ipv4_never_default.unwrap_or(false),
            persistent: p.vpn_persistent.unwrap_or(false),
            ipv6_ignored: matches!(p.ipv6_method, Some("disabled" | "ignore")),
            manual_address: p
                .ipv4_first_address
                .filter(|_| p.ipv4_method == Some("manual"))
                .and_then(|a| a.parse().ok()),
        }
    }

    /// Whether IPv6 goes into the tunnel whatever the server gives: a full
    /// tunnel that blocks IPv6 leaks, where NetworkManager applies IPv6.
    pub fn full_tunnel_ipv6(&self, block_ipv6_leak: bool) -> bool {
        !self.never_default && block_ipv6_leak && !self.ipv6_ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_nothing_means() {
        assert_eq!(
            Profile::from_properties(&Properties::default()),
            Profile::default()
        );
    }

    #[test]
    fn each_property_read() {
        let p = Profile::from_properties(&Properties {
            vpn_timeout: Some(120),
            vpn_persistent: Some(true),
            ipv4_never_default: Some(true),
            ipv4_method: Some("manual"),
            ipv4_first_address: Some("10.9.8.7"),
            ipv6_method: Some("ignore"),
        });
        assert_eq!(p.timeout, Some(Duration::from_secs(120)));
        assert!(p.persistent && p.never_default && p.ipv6_ignored);
        assert_eq!(p.manual_address, Some(Ipv4Addr::new(10, 9, 8, 7)));
        assert!(
            !p.full_tunnel_ipv6(true),
            "a split tunnel keeps the user's IPv6"
        );
    }

    #[test]
    fn what_is_not_taken() {
        let p = Profile::from_properties(&Properties {
            vpn_timeout: Some(-5),
            ipv4_method: Some("auto"),
            ipv4_first_address: Some("10.9.8.7"),
            ipv6_method: Some("auto"),
            ..Properties::default()
        });
        assert_eq!(p.timeout, None, "0 or less is NetworkManager's default");
        assert_eq!(
            p.manual_address, None,
            "only a manual method pins the address"
        );
        assert!(!p.ipv6_ignored);
        assert!(p.full_tunnel_ipv6(true));
        assert!(!p.full_tunnel_ipv6(false));
        let bad = Profile::from_properties(&Properties {
            ipv4_method: Some("manual"),
            ipv4_first_address: Some("not an address"),
            ..Properties::default()
        });
        assert_eq!(bad.manual_address, None);
    }
}
