//! A PPTP connection as a pppd peers file: what `pon NAME` (pppd with
//! pptp-linux) and `pptp-client up --peer` both accept. Never the password.

use std::fmt::Write;

use nm_pptp_libnm::connection::VpnSetting;
use nm_pptp_settings::nm::NmSettings;

/// pppd's quoting: a double-quoted word with `\\` and `\"` escaped.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

pub fn export(id: &str, v: &VpnSetting) -> Result<String, String> {
    // Refuse what the service itself would refuse, with its message.
    NmSettings::parse(&v.data, &Default::default(), v.user_name.as_deref())
        .map_err(|e| e.to_string())?;
    let d = |k: &str| v.data.get(k).map(String::as_str);
    let on = |k: &str| d(k) == Some("yes");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# pppd peers file exported by NetworkManager-pptp-rs from “{}”.",
        id.replace('\n', " ")
    );
    let _ = writeln!(
        out,
        "# Use it as /etc/ppp/peers/NAME; the password belongs in /etc/ppp/chap-secrets."
    );
    let gateway = d("gateway").expect("validated");
    let _ = writeln!(
        out,
        "pty {}",
        quote(&format!("pptp {gateway} --nolaunchpppd"))
    );
    let user = d("user").or(v.user_name.as_deref()).expect("validated");
    let name = match d("domain").filter(|s| !s.is_empty()) {
        Some(dom) => format!("{dom}\\{user}"),
        None => user.to_string(),
    };
    let _ = writeln!(out, "name {}", quote(&name));
    let _ = writeln!(out, "remotename PPTP");
    for (key, option) in [
        ("require-mppe", "require-mppe"),
        ("require-mppe-40", "require-mppe-40"),
        ("require-mppe-128", "require-mppe-128"),
        ("mppe-stateful", "mppe-stateful"),
        ("refuse-pap", "refuse-pap"),
        ("refuse-chap", "refuse-chap"),
        ("refuse-mschap", "refuse-mschap"),
        ("refuse-mschapv2", "refuse-mschap-v2"),
        ("refuse-eap", "refuse-eap"),
        ("nobsdcomp", "nobsdcomp"),
        ("nodeflate", "nodeflate"),
        ("no-vj-comp", "novj"),
    ] {
        if on(key) {
            let _ = writeln!(out, "{option}");
        }
    }
    for key in ["lcp-echo-interval", "lcp-echo-failure", "unit", "mtu"] {
        if let Some(n) = d(key) {
            let _ = writeln!(out, "{key} {n}");
        }
    }
    // The server authenticates itself with MS-CHAPv2; pppd must not ask it to.
    let _ = writeln!(out, "noauth");
    Ok(out)
}
