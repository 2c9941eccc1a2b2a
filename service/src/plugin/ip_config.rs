//! The dictionaries NetworkManager takes for a tunnel that is up: Config
//! (the interface and what it carries), Ip4Config and Ip6Config, from what the
//! link came up with and what the server added later.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use zbus::zvariant::Value;

use pptp_engine::dhcp::Pushed;
use pptp_engine::session::{RouterInfo, UpInfo};

/// The Config signal's dictionary. `link6`: the IPv6 link-local address to
/// report, if IPv6 is reported at all.
pub fn config(
    ifname: &str,
    server: Ipv4Addr,
    info: &UpInfo,
    link6: Option<Ipv6Addr>,
    persistent: bool,
) -> HashMap<&'static str, Value<'static>> {
    let mut config: HashMap<&str, Value<'_>> = HashMap::new();
    config.insert("tundev", Value::from(ifname.to_string()));
    config.insert("gateway", Value::from(nm_addr(server)));
    config.insert("mtu", Value::from(u32::from(info.mtu)));
    config.insert("has-ip4", Value::from(true));
    config.insert("has-ip6", Value::from(link6.is_some()));
    if persistent {
        // NetworkManager then leaves the VPN up when the physical link drops,
        // and takes a new Config and Ip4Config from the next call.
        config.insert("can-persist", Value::from(true));
    }
    config
}

/// IPv4 addresses go over D-Bus as a u32 holding the address in network byte order.
pub fn nm_addr(a: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(a.octets())
}

/// NetworkManager's Ip4Config for the link, and for what the server's DHCPINFORM
/// answer added: its routes, its domain, and its DNS and WINS servers after
/// IPCP's (IPCP's come first: they belong to this link; duplicates dropped).
pub fn ip4_config(
    info: &UpInfo,
    pushed: Option<&Pushed>,
    class_route: Option<(Ipv4Addr, u8)>,
) -> HashMap<&'static str, Value<'static>> {
    let merged = |ipcp: &[Ipv4Addr], dhcp: Option<&Vec<Ipv4Addr>>| {
        let mut all: Vec<u32> = Vec::new();
        for a in ipcp.iter().chain(dhcp.into_iter().flatten()) {
            if !all.contains(&nm_addr(*a)) {
                all.push(nm_addr(*a));
            }
        }
        all
    };
    let mut ip4: HashMap<&str, Value<'_>> = HashMap::new();
    ip4.insert("address", Value::from(nm_addr(info.local)));
    ip4.insert("ptp", Value::from(nm_addr(info.peer)));
    ip4.insert("prefix", Value::from(32u32));
    ip4.insert(
        "dns",
        Value::from(merged(&info.dns, pushed.map(|p| &p.dns))),
    );
    ip4.insert(
        "nbns",
        Value::from(merged(&info.nbns, pushed.map(|p| &p.wins))),
    );
    // (destination, prefix, next hop, metric); the next hop is the tunnel.
    let mut routes: Vec<Vec<u32>> = pushed
        .iter()
        .flat_map(|p| &p.routes)
        .map(|r| vec![nm_addr(r.dest), u32::from(r.prefix), 0, 0])
        .collect();
    if let Some((net, prefix)) = class_route {
        routes.push(vec![nm_addr(net), u32::from(prefix), 0, 0]);
    }
    if !routes.is_empty() {
        ip4.insert("routes", Value::from(routes));
    }
    if let Some(p) = pushed {
        if let Some(d) = &p.domain {
            ip4.insert("domains", Value::from(vec![d.clone()]));
        }
    }
    ip4
}

/// NetworkManager's Ip6Config: the link-local address until a router
/// advertisement gives a global one, then that address (NetworkManager takes one
/// per VPN; further SLAAC addresses are left out), its name servers and routes.
/// The default route goes through the tunnel always for a full-tunnel VPN that
/// blocks IPv6 leaks, and when the server offers itself as default router to a
/// VPN that may take the default route; a split tunnel (`never_default`) keeps
/// the user's own, whatever the server offers.
pub fn ip6_config(
    link_local: Ipv6Addr,
    router: Option<&RouterInfo>,
    full_tunnel: bool,
    never_default: bool,
) -> HashMap<&'static str, Value<'static>> {
    let mut ip6: HashMap<&str, Value<'_>> = HashMap::new();
    let address = router
        .and_then(|r| r.addresses.first().copied())
        .unwrap_or(link_local);
    ip6.insert("address", Value::from(address.octets().to_vec()));
    ip6.insert("prefix", Value::from(64u32));
    let offered = router.is_some_and(|r| r.default_route && !r.addresses.is_empty());
    let takes_default = full_tunnel || (offered && !never_default);
    ip6.insert("never-default", Value::from(!takes_default));
    let Some(r) = router else { return ip6 };
    if !r.dns.is_empty() {
        let dns: Vec<Vec<u8>> = r.dns.iter().map(|a| a.octets().to_vec()).collect();
        ip6.insert("dns", Value::from(dns));
    }
    // (destination, prefix, next hop, metric); the next hop is the tunnel.
    let routes: Vec<(Vec<u8>, u32, Vec<u8>, u32)> = r
        .routes
        .iter()
        .map(|(d, p)| (d.octets().to_vec(), u32::from(*p), vec![0u8; 16], 0))
        .collect();
    if !routes.is_empty() {
        ip6.insert("routes", Value::from(routes));
    }
    ip6
}

/// A link-local address for a tunnel without IPv6 from the server, to carry
/// the IPv6 routes that keep IPv6 from leaking around the VPN (NetworkManager
/// wants an address in every Ip6Config). Random, as link-local identifiers
/// may be (RFC 8981); it never leaves this host.
pub fn made_up_link_local() -> Ipv6Addr {
    use pptp_engine::ppp::ipv6cp::{link_local, random_id};
    link_local(random_id(&mut rand::rng(), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pptp_engine::dhcp::Route;

    fn up() -> UpInfo {
        UpInfo {
            ipv6: None,
            local: Ipv4Addr::new(10, 0, 0, 2),
            peer: Ipv4Addr::new(10, 0, 0, 1),
            dns: vec![Ipv4Addr::new(10, 0, 0, 53)],
            nbns: vec![],
            mtu: 1396,
            mppe: None,
            mppe_receive: None,
            auth: None,
        }
    }

    fn u32_of(v: &Value<'_>) -> u32 {
        u32::try_from(v).unwrap()
    }

    #[test]
    fn addresses_go_in_network_byte_order() {
        assert_eq!(
            nm_addr(Ipv4Addr::new(10, 0, 0, 2)).to_ne_bytes(),
            [10, 0, 0, 2]
        );
    }

    #[test]
    fn config_names_the_interface_and_what_it_carries() {
        let c = config("ppp3", Ipv4Addr::new(192, 0, 2, 1), &up(), None, true);
        assert_eq!(<&str>::try_from(&c["tundev"]).unwrap(), "ppp3");
        assert_eq!(u32_of(&c["mtu"]), 1396);
        assert!(!bool::try_from(&c["has-ip6"]).unwrap());
        assert!(bool::try_from(&c["can-persist"]).unwrap());
        let ll: Ipv6Addr = "fe80::1".parse().unwrap();
        let c = config("ppp0", Ipv4Addr::new(192, 0, 2, 1), &up(), Some(ll), false);
        assert!(bool::try_from(&c["has-ip6"]).unwrap());
        assert!(!c.contains_key("can-persist"));
    }

    #[test]
    fn ip4_merges_pushed_servers_after_ipcps_and_adds_routes() {
        let plain = ip4_config(&up(), None, None);
        assert!(!plain.contains_key("routes") && !plain.contains_key("domains"));
        let pushed = Pushed {
            routes: vec![Route {
                dest: Ipv4Addr::new(172, 16, 0, 0),
                prefix: 12,
            }],
            dns: vec![Ipv4Addr::new(10, 0, 0, 53), Ipv4Addr::new(10, 0, 0, 54)],
            wins: vec![],
            domain: Some("corp.example".into()),
        };
        let c = ip4_config(&up(), Some(&pushed), Some((Ipv4Addr::new(10, 0, 0, 0), 8)));
        let dns = <Vec<u32>>::try_from(c["dns"].try_clone().unwrap()).unwrap();
        assert_eq!(
            dns,
            vec![
                nm_addr(Ipv4Addr::new(10, 0, 0, 53)),
                nm_addr(Ipv4Addr::new(10, 0, 0, 54))
            ],
            "IPCP's first, duplicates dropped"
        );
        let routes = <Vec<Vec<u32>>>::try_from(c["routes"].try_clone().unwrap()).unwrap();
        assert_eq!(routes.len(), 2, "the pushed route and the class route");
        assert_eq!(routes[0][1], 12);
    }

    #[test]
    fn ip6_default_route_only_where_it_belongs() {
        let ll: Ipv6Addr = "fe80::2".parse().unwrap();
        let never = |c: &HashMap<&str, Value<'_>>| bool::try_from(&c["never-default"]).unwrap();
        assert!(!never(&ip6_config(ll, None, true, false)), "full tunnel");
        assert!(never(&ip6_config(ll, None, false, false)));
        let router = RouterInfo {
            router: "fe80::1".parse().unwrap(),
            default_route: true,
            addresses: vec!["2001:db8::5".parse().unwrap()],
            prefixes: vec![],
            routes: vec![],
            dns: vec![],
            mtu: None,
        };
        let c = ip6_config(ll, Some(&router), false, false);
        assert!(!never(&c), "offered, and the VPN may take it");
        assert_eq!(
            <Vec<u8>>::try_from(c["address"].try_clone().unwrap()).unwrap(),
            "2001:db8::5".parse::<Ipv6Addr>().unwrap().octets().to_vec()
        );
        assert!(
            never(&ip6_config(ll, Some(&router), false, true)),
            "split tunnel"
        );
    }
}
