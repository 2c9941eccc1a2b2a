//! A PPTP connection as a pppd peers file: what `pon NAME` (pppd with
//! pptp-linux) and `pptp-client up --peer` both accept. Never the password.

use nm_pptp_libnm::connection::VpnSetting;
use nm_pptp_settings::peers;
use nm_pptp_settings::Connection;

pub fn export(id: &str, v: &VpnSetting) -> Result<String, String> {
    // Refuse what the service itself would refuse, with its message.
    let c = Connection::from_vpn(&v.data, &v.secrets, v.user_name.as_deref())
        .map_err(|e| e.to_string())?;
    peers::write(&c, id).map_err(|e| e.to_string())
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
        let text = export("x", &v).unwrap();
        assert!(text.contains("\nname \"bob\"\n"), "{text}");
    }
}
