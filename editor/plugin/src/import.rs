//! pppd peers files into a PPTP connection's `vpn.data` and `vpn.secrets`: how
//! users of `/etc/ppp/peers/NAME` move to NetworkManager in one step.

use std::path::{Path, PathBuf};

use nm_pptp_libnm::connection::VpnSetting;
use nm_pptp_settings::nm::{flags, SERVICE};
use nm_pptp_settings::peers;

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

pub fn import(path: &Path) -> Result<Imported, String> {
    let path = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ppp_dir = ppp_dir_for(&path);
    let peer = peers::load(&path.to_string_lossy(), &ppp_dir).map_err(|e| e.to_string())?;
    let mut warnings: Vec<String> = peer
        .unsupported
        .iter()
        .map(|o| format!("option “{o}” is not supported and was left out"))
        .collect();
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
            data: vpn.data,
            secrets: vpn.secrets,
        },
        warnings,
    })
}
