//! A PPTP connection as a pppd peers file: what `pon NAME` (pppd with
//! pptp-linux) and `pptp-client up --peer` both accept. Never the password.

use nm_pptp_libnm::connection::{Ip4Routing, VpnSetting};
use nm_pptp_settings::peers;
use nm_pptp_settings::Connection;

pub fn export(id: &str, v: &VpnSetting, ip4: Ip4Routing) -> Result<String, String> {
    // Refuse what the service itself would refuse, with its message.
    let c = Connection::from_vpn(&v.data, &v.secrets, v.user_name.as_deref())
        .map_err(|e| e.to_string())?;
    let routing = peers::Routing {
        never_default: ip4.never_default,
        ignore_auto_dns: ip4.ignore_auto_dns,
        persist: v.persistent,
    };
    peers::write(&c, id, routing).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_user_falls_back_to_the_user_name() {
        let v = VpnSetting {
            data: [("gateway", "g"), ("user", "")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            user_name: Some("bob".into()),
            ..Default::default()
        };
        let text = export("x", &v, Ip4Routing::default()).unwrap();
        assert!(text.contains("\nname \"bob\"\n"), "{text}");
    }
}
