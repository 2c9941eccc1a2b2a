//! What NetworkManager hands Connect, NeedSecrets and NewSecrets: the
//! connection as D-Bus dictionaries, taken apart into the typed connection
//! (`vpn.data`, `vpn.secrets`, `vpn.user-name`, through the key table) and the
//! other properties a call depends on, which `nm_pptp_settings::profile`
//! interprets.

use std::collections::{BTreeMap, HashMap};

use zbus::zvariant::OwnedValue;
use zeroize::Zeroize;

use nm_pptp_settings::i18n::{tr, tr_fill};
use nm_pptp_settings::keys;
use nm_pptp_settings::profile::{Profile, Properties};
use nm_pptp_settings::Connection as PptpConnection;
use pptp_engine::secret::Password;

use super::VpnError;

/// A connection as NetworkManager sends it: setting name → property → value.
pub type Settings = HashMap<String, HashMap<String, OwnedValue>>;

/// A string dictionary taken from D-Bus whose values are wiped when dropped:
/// `vpn.secrets` holds the password. (The copy inside zbus's received message is
/// beyond our reach.)
struct WipedDict(BTreeMap<String, String>);

impl Drop for WipedDict {
    fn drop(&mut self) {
        for v in self.0.values_mut() {
            v.zeroize();
        }
    }
}

/// `vpn.<key>` as a string dictionary (empty when absent).
fn string_dict(vpn: &HashMap<String, OwnedValue>, key: &str) -> Result<WipedDict, VpnError> {
    let Some(v) = vpn.get(key) else {
        return Ok(WipedDict(BTreeMap::new()));
    };
    let v = v
        .try_clone()
        .map_err(|e| VpnError::BadArguments(e.to_string()))?;
    HashMap::<String, String>::try_from(v)
        .map(|m| WipedDict(m.into_iter().collect()))
        .map_err(|_| {
            VpnError::BadArguments(tr_fill(
                "vpn.{key} is not a string dictionary",
                &[("key", &key)],
            ))
        })
}

/// The typed connection from `vpn.data`, `vpn.secrets` and `vpn.user-name`;
/// every error names what was wrong.
pub fn connection(conn: &Settings) -> Result<PptpConnection, VpnError> {
    let vpn = conn
        .get("vpn")
        .ok_or_else(|| VpnError::BadArguments(tr("the connection has no “vpn” setting")))?;
    let data = string_dict(vpn, "data")?;
    if data.0.is_empty() {
        return Err(VpnError::BadArguments(tr("No VPN configuration options.")));
    }
    let secrets = string_dict(vpn, "secrets")?;
    let user_name = vpn
        .get("user-name")
        .and_then(|v| String::try_from(v.try_clone().ok()?).ok());
    let c = PptpConnection::from_vpn(&data.0, &secrets.0, user_name.as_deref())
        .map_err(|e| VpnError::BadArguments(e.to_string()))?;
    c.login_name()
        .map_err(|e| VpnError::BadArguments(e.to_string()))?;
    Ok(c)
}

fn get<'a>(conn: &'a Settings, setting: &str, key: &str) -> Option<&'a OwnedValue> {
    conn.get(setting)?.get(key)
}

fn text<'a>(conn: &'a Settings, setting: &str, key: &str) -> Option<&'a str> {
    <&str>::try_from(get(conn, setting, key)?).ok()
}

fn boolean(conn: &Settings, setting: &str, key: &str) -> Option<bool> {
    bool::try_from(get(conn, setting, key)?).ok()
}

/// The `address` of the first entry of `ipv4.address-data`.
fn first_address(conn: &Settings) -> Option<String> {
    let list = get(conn, "ipv4", "address-data")?.try_clone().ok()?;
    let list = <Vec<HashMap<String, OwnedValue>>>::try_from(list).ok()?;
    let address = list.first()?.get("address")?;
    <&str>::try_from(address).ok().map(str::to_string)
}

/// The connection's other properties, as the call needs them.
pub fn profile(conn: &Settings) -> Profile {
    let address = first_address(conn);
    Profile::from_properties(&Properties {
        vpn_timeout: get(conn, "vpn", "timeout").and_then(|v| i32::try_from(v).ok()),
        vpn_persistent: boolean(conn, "vpn", "persistent"),
        ipv4_never_default: boolean(conn, "ipv4", "never-default"),
        ipv4_method: text(conn, "ipv4", "method"),
        ipv4_first_address: address.as_deref(),
        ipv6_method: text(conn, "ipv6", "method"),
    })
}

/// The password NewSecrets brings, if it brings one.
pub fn secret_password(conn: &Settings) -> Option<Password> {
    let mut secrets = string_dict(conn.get("vpn")?, "secrets").ok()?;
    secrets
        .0
        .remove(keys::PASSWORD)
        .filter(|p| !p.is_empty())
        .map(Password::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;
    use zbus::zvariant::Value;

    fn owned(v: Value<'_>) -> OwnedValue {
        v.try_to_owned().unwrap()
    }

    fn dict(pairs: &[(&str, &str)]) -> OwnedValue {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        owned(Value::from(m))
    }

    fn settings(entries: Vec<(&str, &str, OwnedValue)>) -> Settings {
        let mut s = Settings::new();
        for (setting, key, v) in entries {
            s.entry(setting.into()).or_default().insert(key.into(), v);
        }
        s
    }

    fn pptp(data: &[(&str, &str)], secrets: &[(&str, &str)]) -> Settings {
        settings(vec![
            ("vpn", "data", dict(data)),
            ("vpn", "secrets", dict(secrets)),
        ])
    }

    #[test]
    fn a_connection_from_its_dictionaries() {
        let s = pptp(
            &[("gateway", "vpn.example.com"), ("user", "alice")],
            &[("password", "pw")],
        );
        let c = connection(&s).unwrap();
        assert_eq!(c.gateway, "vpn.example.com");
        assert!(!c.needs_password());
        assert_eq!(
            secret_password(&s).map(|p| p.expose().to_string()),
            Some("pw".into())
        );
    }

    #[test]
    fn what_is_wrong_is_named() {
        let none = Settings::new();
        assert!(matches!(connection(&none), Err(VpnError::BadArguments(m)) if m.contains("vpn")));
        let empty = pptp(&[], &[]);
        assert!(matches!(connection(&empty), Err(VpnError::BadArguments(_))));
        let unknown = pptp(&[("gateway", "h"), ("user", "a"), ("bogus", "1")], &[]);
        assert!(
            matches!(connection(&unknown), Err(VpnError::BadArguments(m)) if m.contains("bogus"))
        );
        let not_dict = settings(vec![("vpn", "data", owned(Value::from("gateway=h")))]);
        assert!(
            matches!(connection(&not_dict), Err(VpnError::BadArguments(m)) if m.contains("vpn.data"))
        );
        assert!(secret_password(&pptp(&[("gateway", "h")], &[("password", "")])).is_none());
    }

    #[test]
    fn the_other_properties() {
        let address: HashMap<String, OwnedValue> =
            HashMap::from([("address".to_string(), owned(Value::from("10.1.2.3")))]);
        let s = settings(vec![
            ("vpn", "timeout", owned(Value::from(90i32))),
            ("vpn", "persistent", owned(Value::from(true))),
            ("ipv4", "never-default", owned(Value::from(true))),
            ("ipv4", "method", owned(Value::from("manual"))),
            ("ipv4", "address-data", owned(Value::from(vec![address]))),
            ("ipv6", "method", owned(Value::from("disabled"))),
        ]);
        let p = profile(&s);
        assert_eq!(p.timeout, Some(Duration::from_secs(90)));
        assert!(p.persistent && p.never_default && p.ipv6_ignored);
        assert_eq!(p.manual_address, Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(profile(&Settings::new()), Profile::default());
        // A property of the wrong type counts as absent.
        let odd = settings(vec![("vpn", "persistent", owned(Value::from("yes")))]);
        assert!(!profile(&odd).persistent);
    }
}
