//! pppd peers files into a PPTP connection's `vpn.data` and `vpn.secrets`: how
//! users of `/etc/ppp/peers/NAME` move to NetworkManager in one step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nm_pptp_libnm::connection::VpnSetting;
use nm_pptp_settings::nm::{flags, NmSettings, SERVICE};
use nm_pptp_settings::peers;
use zeroize::Zeroizing;

/// An imported connection and what could not be carried over.
#[derive(Debug)]
pub struct Imported {
    pub id: String,
    pub setting: VpnSetting,
    pub warnings: Vec<String>,
}

/// `/etc/ppp/peers/PAL` reads its includes and chap-secrets from `/etc/ppp`; a
/// peers file elsewhere is taken to belong to the system's tree.
fn ppp_dir_for(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if dir.file_name().is_some_and(|n| n == "peers") => {
            dir.parent().unwrap_or(Path::new("/")).to_path_buf()
        }
        _ => PathBuf::from("/etc/ppp"),
    }
}

fn yes(data: &mut BTreeMap<String, String>, key: &str, on: bool) {
    if on {
        data.insert(key.into(), "yes".into());
    }
}

pub fn import(path: &Path) -> Result<Imported, String> {
    let path = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ppp_dir = ppp_dir_for(&path);
    let opts = peers::load(&path.to_string_lossy(), &ppp_dir).map_err(|e| e.to_string())?;
    let mut warnings: Vec<String> = opts
        .unsupported
        .iter()
        .map(|o| format!("option “{o}” is not supported and was left out"))
        .collect();

    let mut data = BTreeMap::new();
    data.insert(
        "gateway".to_string(),
        opts.server.clone().expect("load checks the server"),
    );
    let name = opts.user.clone();
    if let Some(n) = &name {
        match n.split_once('\\') {
            Some((domain, user)) => {
                data.insert("domain".into(), domain.into());
                data.insert("user".into(), user.into());
            }
            None => drop(data.insert("user".into(), n.clone())),
        }
    }
    let r = opts.refuse;
    yes(&mut data, "refuse-pap", r.pap);
    yes(&mut data, "refuse-chap", r.chap);
    yes(&mut data, "refuse-mschap", r.mschap);
    yes(&mut data, "refuse-mschapv2", r.mschapv2);
    yes(&mut data, "refuse-eap", r.eap);
    // One reading of the MPPE options (the one pptp-client uses), expressed in
    // NetworkManager's keys.
    let m = opts.mppe_policy();
    if opts.mppe.nomppe {
        warnings.push(
            "option “nomppe” has no NetworkManager equivalent: MPPE will be allowed, not refused"
                .into(),
        );
    }
    if m.required {
        data.insert("require-mppe".into(), "yes".into());
        match (m.allow_40, m.allow_128) {
            (true, false) => drop(data.insert("require-mppe-40".into(), "yes".into())),
            (false, true) => drop(data.insert("require-mppe-128".into(), "yes".into())),
            _ => {}
        }
    }
    yes(&mut data, "mppe-stateful", m.stateful && m.enabled());
    yes(&mut data, "nobsdcomp", opts.nobsdcomp);
    yes(&mut data, "nodeflate", opts.nodeflate);
    yes(&mut data, "no-vj-comp", opts.novj);
    if let Some(i) = opts.lcp_echo_interval {
        data.insert("lcp-echo-interval".into(), i.to_string());
        data.insert(
            "lcp-echo-failure".into(),
            opts.lcp_echo_failure.unwrap_or(0).to_string(),
        );
    }
    if let Some(u) = opts.unit {
        data.insert("unit".into(), u.to_string());
    }
    if let Some(m) = opts.mtu {
        data.insert("mtu".into(), m.to_string());
    }
    if opts.mru.is_some() {
        warnings.push("option “mru” has no NetworkManager equivalent and was left out".into());
    }
    if let Some(p) = &opts.ipparam {
        warnings.push(format!(
            "option “ipparam {p}” is only for pppd scripts and was left out"
        ));
    }

    let mut secrets = BTreeMap::new();
    let password = match &name {
        Some(n) => match peers::chap_secret(&ppp_dir, n, opts.remotename.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                warnings.push(format!("password not imported: {e}"));
                None
            }
        },
        None => None,
    };
    match password {
        // Saved with the connection, as it was saved in chap-secrets.
        Some(p) => {
            secrets.insert(
                "password".to_string(),
                Zeroizing::new(p.expose().to_string()),
            );
            data.insert("password-flags".into(), flags::NONE.to_string());
        }
        None => drop(data.insert("password-flags".into(), flags::NOT_SAVED.to_string())),
    }

    // Whatever we write must be what the service accepts.
    NmSettings::parse(&data, &BTreeMap::new(), None)
        .map_err(|e| format!("{}: {e}", path.display()))?;

    let id = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "PPTP".into());
    Ok(Imported {
        id,
        setting: VpnSetting {
            service_type: SERVICE.into(),
            user_name: None,
            data,
            secrets,
        },
        warnings,
    })
}
