//! pppd peers files into a PPTP connection's `vpn.data` and `vpn.secrets`: how
//! users of `/etc/ppp/peers/NAME` move to NetworkManager in one step.

use std::path::{Path, PathBuf};

use nm_pptp_libnm::connection::{Ip4Routing, VpnSetting};
use nm_pptp_settings::nm::{flags, SERVICE};
use nm_pptp_settings::peers;

/// An imported connection and what could not be carried over.
#[derive(Debug)]
pub struct Imported {
    pub id: String,
    pub setting: VpnSetting,
    /// `ipv4.never-default` and `ipv4.ignore-auto-dns` from the file's pppd words.
    pub routing: Ip4Routing,
    pub warnings: Vec<String>,
    /// How the file's routing and DNS were read (not problems: said so the user
    /// knows which way the import went).
    pub notes: Vec<String>,
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

pub fn import(path: &Path) -> Result<Imported, String> {
    let path = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ppp_dir = ppp_dir_for(&path);
    let peer = peers::load(&path.to_string_lossy(), &ppp_dir).map_err(|e| e.to_string())?;
    let mut warnings: Vec<String> = peer
        .unsupported
        .iter()
        .map(|o| format!("option “{o}” is not supported and was left out"))
        .collect();
    // NetworkManager's persistent VPN dials again on its own schedule (1 s
    // doubling to 30 s) until the user disconnects.
    for (word, n) in [("maxfail", peer.maxfail), ("holdoff", peer.holdoff)] {
        if let Some(n) = n {
            warnings.push(format!(
                "option “{word} {n}” has no NetworkManager equivalent and was left out"
            ));
        }
    }
    let (routing, notes) = peer.routing();
    if peer.nomppe {
        warnings.push(
            "option “nomppe” has no NetworkManager equivalent: MPPE will be allowed, not refused"
                .into(),
        );
    }
    if let Some(p) = &peer.ipparam {
        warnings.push(format!(
            "option “ipparam {p}” is only for pppd scripts and was left out"
        ));
    }
    let mut connection = peer.connection.clone();
    match peer.chap_secret(&ppp_dir) {
        // Saved with the connection, as it was saved in chap-secrets.
        Ok(Some(p)) => {
            connection.password = Some(p);
            connection.password_flags = flags::NONE;
        }
        Ok(None) => connection.password_flags = flags::NOT_SAVED,
        Err(e) => {
            warnings.push(format!("password not imported: {e}"));
            connection.password_flags = flags::NOT_SAVED;
        }
    }
    // Whatever we write must be what the service accepts.
    connection
        .validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let vpn = connection.to_vpn();
    let id = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "PPTP".into());
    Ok(Imported {
        id,
        setting: VpnSetting {
            service_type: SERVICE.into(),
            user_name: None,
            persistent: routing.persist,
            data: vpn.data,
            secrets: vpn.secrets,
        },
        routing: Ip4Routing {
            never_default: routing.never_default,
            ignore_auto_dns: routing.ignore_auto_dns,
        },
        warnings,
        notes,
    })
}
